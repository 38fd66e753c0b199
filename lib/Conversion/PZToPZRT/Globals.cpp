//===- Globals.cpp - constants become module globals ----------------------===//
//
// pz.constant becomes memref.get_global of a read-only memref.global holding
// the same elements; equal constants (same type and value) share one global.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::lowering;

FailureOr<memref::GlobalOp> GlobalBuilder::global(Operation *op, StringRef hostName) {
  auto value = llvm::dyn_cast<ElementsAttr>(llvm::cast<ConstantOp>(op).getValue());
  if (!value)
    return op->emitError() << "convert-pz-to-pzrt: constant is not an elements attribute";
  if (auto it = byValue.find(value); it != byValue.end())
    return it->second;
  OpBuilder b(module.getBodyRegion());
  // After the globals already made, so that they keep their order.
  if (last)
    b.setInsertionPointAfter(last);
  else
    b.setInsertionPointToStart(module.getBody());
  std::string name = (hostName + "_cst_" + std::to_string(next++)).str();
  auto g = memref::GlobalOp::create(b, op->getLoc(), name, b.getStringAttr("private"),
                                    bufferType(value.getType()), value, /*constant=*/true,
                                    /*alignment=*/b.getI64IntegerAttr(64));
  table.insert(g);
  byValue[value] = g;
  last = g;
  return g;
}

LogicalResult FunctionLowering::lowerConstant(Operation *op) {
  FailureOr<memref::GlobalOp> g = globals.global(op, src.getSymName());
  if (failed(g))
    return failure();
  buffers[op->getResult(0)] =
      memref::GetGlobalOp::create(b, op->getLoc(), g->getType(), g->getSymName());
  return success();
}
