//===- Views.cpp - reshapes and casts become views of the same bytes ------===//
//
// Every buffer is contiguous and row-major, so pz.reshape and tensor.cast
// change only the type through which the bytes are read:
// memref.reinterpret_cast to the new static shape with row-major strides.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::lowering;

LogicalResult FunctionLowering::lowerView(Operation *op) {
  Value result = op->getResult(0);
  auto t = llvm::dyn_cast<RankedTensorType>(result.getType());
  if (!t || !t.hasStaticShape())
    return op->emitError() << "convert-pz-to-pzrt: view of type " << result.getType()
                           << " is not static";
  MemRefType type = bufferType(t);
  SmallVector<int64_t> strides(t.getRank(), 1);
  for (int64_t d = t.getRank() - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * t.getDimSize(d + 1);
  buffers[result] = memref::ReinterpretCastOp::create(
      b, op->getLoc(), type, buffers.lookup(op->getOperand(0)), /*offset=*/0, t.getShape(),
      strides);
  return success();
}
