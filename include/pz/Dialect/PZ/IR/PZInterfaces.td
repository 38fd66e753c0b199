//===- PZInterfaces.td - pz op interfaces ---------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZINTERFACES_TD
#define PZ_DIALECT_PZ_IR_PZINTERFACES_TD

include "mlir/IR/OpBase.td"

def PZ_VJPOpInterface : OpInterface<"VJPOpInterface"> {
  let cppNamespace = "::mlir::pz";
  let description = [{
    An op that reverse-mode autodiff can differentiate. Given the cotangents
    of the op's results, the op builds the cotangents of its operands (the
    vector-Jacobian product) with `builder`, whose insertion point is where
    the backward code goes. The builder's ops take the forward op's location
    wrapped as `loc("grad"(FORWARD_LOC))` by the caller.
  }];
  let methods = [
    InterfaceMethod<[{
        Builds the operand cotangents. `resultGrads[i]` is the cotangent of
        result i, or null when nothing depends on that result.
        `operandGrads` receives one entry per operand: a value of the
        operand's type, or null when the operand gets no gradient (integer
        ids, masks, or operands the op is not differentiable in).
      }],
      "::llvm::LogicalResult", "buildVJP",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

#endif // PZ_DIALECT_PZ_IR_PZINTERFACES_TD
