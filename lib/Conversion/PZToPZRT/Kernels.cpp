//===- Kernels.cpp - compute ops become kernels and dispatches ------------===//
//
// Every computing op is outlined into its own kernel (a function on tensors
// in @kernels whose body is the op) and dispatched on buffers: its operands'
// buffers are the inputs; each result is written into its out-parameter when
// the function returns it, else into a new buffer (memref.alloc, placed in
// the arena by pzrt-plan-memory). A kernel that needs scratch memory gets a
// workspace buffer of the target's size.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Support/Limits.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::lowering;

bool lowering::isViewOp(Operation *op) { return llvm::isa<ReshapeOp, tensor::CastOp>(op); }

bool lowering::updatesInPlace(Operation *op) {
  return llvm::isa<AdamWUpdateOp, SGDUpdateOp, FusedOp>(op) ||
         op->hasTrait<traits::ElementMap>() || llvm::isa<shard::AllReduceOp>(op);
}

FailureOr<func::FuncOp> KernelOutliner::outline(Operation *op, StringRef hostName,
                                               unsigned index) {
  OpBuilder b(kernels.getBodyRegion());
  b.setInsertionPointToEnd(kernels.getBody());
  std::string name = (hostName + "_" + std::to_string(index) + "_" +
                      op->getName().stripDialect())
                         .str();
  for (char &c : name)
    if (c == '.')
      c = '_';
  auto fn = func::FuncOp::create(b, op->getLoc(), name,
                                 b.getFunctionType(op->getOperandTypes(), op->getResultTypes()));
  table.insert(fn); // renames on a clash
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  IRMapping map;
  map.map(op->getOperands(), entry->getArguments());
  Operation *clone = b.clone(*op, map);
  func::ReturnOp::create(b, op->getLoc(), clone->getResults());
  int64_t ws = target.workspaceBytes(op);
  if (ws < 0 || ws > kMaxTotalBytes)
    return op->emitError() << "convert-pz-to-pzrt: the op's workspace exceeds " << kMaxTotalBytes
                           << " bytes";
  if (ws > 0)
    fn->setAttr(pzrt::PZRTDialect::kWorkspaceAttrName, b.getI64IntegerAttr(ws));
  return fn;
}

int64_t KernelOutliner::workspaceOf(func::FuncOp kernel) {
  auto ws = kernel->getAttrOfType<IntegerAttr>(pzrt::PZRTDialect::kWorkspaceAttrName);
  return ws ? ws.getInt() : 0;
}

LogicalResult FunctionLowering::lowerOp(Operation *op) {
  if (llvm::isa<ConstantOp>(op))
    return lowerConstant(op);
  if (isViewOp(op))
    return lowerView(op);
  if (isCollectiveOp(op))
    return lowerCollective(op);
  if (!llvm::isa<PZDialect>(op->getDialect()))
    return op->emitError() << "convert-pz-to-pzrt: cannot lower '" << op->getName()
                           << "' (only pz ops run on the backends)";
  return lowerCompute(op);
}

LogicalResult FunctionLowering::lowerCompute(Operation *op) {
  for (Type t : op->getResultTypes()) {
    auto rt = llvm::dyn_cast<RankedTensorType>(t);
    if (!rt || !rt.hasStaticShape())
      return op->emitError() << "convert-pz-to-pzrt: result type " << t
                             << " is not static; fix the data inputs' dims with --input-shape";
    if (!target.storageBytes(rt.getElementType()))
      return op->emitError() << "convert-pz-to-pzrt: the " << target.name()
                             << " backend cannot store element type " << rt.getElementType();
  }
  FailureOr<func::FuncOp> kernel = kernels.outline(op, src.getSymName(), dispatches++);
  if (failed(kernel))
    return failure();
  Location loc = op->getLoc();
  SmallVector<Value> inputs, outputs;
  for (Value v : op->getOperands())
    inputs.push_back(buffers.lookup(v));
  for (Value r : op->getResults()) {
    Value buf = directOutput.lookup(r);
    if (!buf)
      buf = memref::AllocOp::create(b, loc, bufferType(r.getType()));
    buffers[r] = buf;
    outputs.push_back(buf);
  }
  Value workspace;
  if (int64_t ws = KernelOutliner::workspaceOf(*kernel)) {
    int64_t align = target.arenaAlignment();
    int64_t bytes = (ws + align - 1) / align * align;
    workspace = memref::AllocOp::create(b, loc, MemRefType::get({bytes}, b.getI8Type()));
  }
  auto root = SymbolRefAttr::get(b.getContext(), pzrt::PZRTDialect::kKernelModuleName,
                                 {FlatSymbolRefAttr::get(kernel->getSymNameAttr())});
  pzrt::DispatchOp::create(b, loc, root, inputs, outputs, workspace);
  return success();
}
