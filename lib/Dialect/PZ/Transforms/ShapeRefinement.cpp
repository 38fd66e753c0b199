//===- ShapeRefinement.cpp - carry static shapes through a module ---------===//

#include "pz/Dialect/PZ/Transforms/ShapeRefinement.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

using namespace mlir;
using namespace mlir::pz;

/// The join of two compatible tensor types: each dim static where either
/// is. Null when nothing changes or the types are not compatible.
static Type moreStatic(Type current, Type inferred) {
  auto c = llvm::dyn_cast<RankedTensorType>(current);
  auto i = llvm::dyn_cast<RankedTensorType>(inferred);
  if (!c || !i || c == i || c.getRank() != i.getRank() ||
      c.getElementType() != i.getElementType())
    return nullptr;
  SmallVector<int64_t> shape(c.getShape());
  bool changed = false;
  for (auto [d, size] : llvm::enumerate(i.getShape())) {
    if (ShapedType::isDynamic(shape[d]) && !ShapedType::isDynamic(size)) {
      shape[d] = size;
      changed = true;
    } else if (!ShapedType::isDynamic(shape[d]) &&
               !ShapedType::isDynamic(size) && shape[d] != size) {
      return nullptr;
    }
  }
  return changed ? c.clone(shape) : nullptr;
}

void mlir::pz::keepTypeForForeignUsers(Value v, Type oldType) {
  for (OpOperand &use : llvm::make_early_inc_range(v.getUses())) {
    Operation *user = use.getOwner();
    if (llvm::isa<PZDialect>(user->getDialect()) ||
        llvm::isa<func::ReturnOp, func::CallOp>(user))
      continue;
    OpBuilder b(user);
    use.set(tensor::CastOp::create(b, user->getLoc(), oldType, v));
  }
}

/// Casts call operands to the callee's argument types where they differ
/// (compatible shapes, one more static than the other).
static void castCallOperands(ModuleOp module) {
  module.walk([&](func::CallOp call) {
    auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
    if (!callee)
      return;
    OpBuilder b(call);
    for (auto [operand, want] :
         llvm::zip(call->getOpOperands(), callee.getArgumentTypes()))
      if (operand.get().getType() != want &&
          succeeded(verifyCompatibleShape(operand.get().getType(), want)))
        operand.set(tensor::CastOp::create(b, call.getLoc(), want,
                                           operand.get()));
  });
}

/// One sweep over the module; sets `changed` when any type changed.
static LogicalResult sweep(ModuleOp module, bool &changed) {
  bool failedAny = false;
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (fn.isExternal())
      continue;
    fn.walk([&](Operation *op) {
      if (auto call = llvm::dyn_cast<func::CallOp>(op)) {
        auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
        if (!callee)
          return;
        for (auto [res, type] :
             llvm::zip(call.getResults(), callee.getResultTypes()))
          if (Type refined = moreStatic(res.getType(), type)) {
            Type old = res.getType();
            res.setType(refined);
            keepTypeForForeignUsers(res, old);
            changed = true;
          }
        return;
      }
      auto infer = llvm::dyn_cast<InferTypeOpInterface>(op);
      if (!infer || !llvm::isa<PZDialect>(op->getDialect()))
        return;
      SmallVector<Type> inferred;
      if (failed(infer.inferReturnTypes(
              op->getContext(), op->getLoc(), op->getOperands(),
              op->getAttrDictionary(), op->getPropertiesStorage(),
              op->getRegions(), inferred))) {
        failedAny = true;
        return;
      }
      for (auto [res, type] : llvm::zip(op->getResults(), inferred))
        if (Type refined = moreStatic(res.getType(), type)) {
          Type old = res.getType();
          res.setType(refined);
          keepTypeForForeignUsers(res, old);
          changed = true;
        }
    });
    Operation *ret = fn.getBody().back().getTerminator();
    auto type = FunctionType::get(fn.getContext(), fn.getArgumentTypes(),
                                  ret->getOperandTypes());
    if (type != fn.getFunctionType()) {
      fn.setFunctionType(type);
      changed = true;
    }
  }
  return failure(failedAny);
}

LogicalResult mlir::pz::refineShapes(ModuleOp module) {
  // Each sweep refines at least one value or stops; calls between functions
  // need a sweep per level of the call graph.
  for (int i = 0; i < 64; ++i) {
    bool changed = false;
    if (failed(sweep(module, changed)))
      return failure();
    if (!changed) {
      castCallOperands(module);
      return success();
    }
  }
  return module.emitError() << "shape refinement did not settle";
}
