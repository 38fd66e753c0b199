//===- GemmEpilogues.cpp - a matmul and its bias add as one kernel --------===//
//
// A linear layer is a matmul and the add of its bias, often followed by a
// GELU. On a target that groups them (TargetInfo::groupsGemmEpilogues) the
// ops of TargetInfo::gemmEpilogue become one kernel and one dispatch,
// writing only the last op's result: the backend computes them as one GEMM
// whose epilogue adds the bias (and applies the GELU), so the matmul's own
// result never gets a buffer and the add is no separate pass.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Support/Limits.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::lowering;

SmallVector<Operation *> FunctionLowering::gemmEpilogueGroup(Operation *op) {
  SmallVector<Operation *> group{op};
  if (!target.groupsGemmEpilogues())
    return group;
  std::optional<TargetInfo::GemmEpilogue> epi = TargetInfo::gemmEpilogue(op);
  if (!epi)
    return group;
  // The GEMM reads A, B and the bias while it writes D: D must be none of
  // them (it is a new buffer unless the result is returned in place).
  Value out = directOutput.lookup(epi->last()->getResult(0));
  for (Value in : {op->getOperand(0), op->getOperand(1), epi->bias})
    if (!buffers.lookup(in) || (out && buffers.lookup(in) == out))
      return group;
  group.push_back(epi->add);
  if (epi->gelu)
    group.push_back(epi->gelu);
  return group;
}

LogicalResult FunctionLowering::lowerGemmEpilogue(ArrayRef<Operation *> ops) {
  // The kernel's arguments: the group's operands computed outside it.
  llvm::DenseSet<Value> inside, seen;
  SmallVector<Value> operands;
  for (Operation *op : ops) {
    for (Value v : op->getOperands())
      if (!inside.count(v) && seen.insert(v).second)
        operands.push_back(v);
    inside.insert(op->result_begin(), op->result_end());
  }
  Operation *last = ops.back();
  Value result = last->getResult(0);
  FailureOr<func::FuncOp> kernel =
      kernels.outlineChain(ops, operands, src.getSymName(), dispatches++);
  if (failed(kernel))
    return failure();
  Location loc = ops.front()->getLoc();
  SmallVector<Value> inputs;
  for (Value v : operands)
    inputs.push_back(buffers.lookup(v));
  Value buf = directOutput.lookup(result);
  if (!buf)
    buf = memref::AllocOp::create(b, loc, bufferType(result.getType()));
  buffers[result] = buf;
  Value workspace;
  if (int64_t ws = KernelOutliner::workspaceOf(*kernel)) {
    int64_t align = target.arenaAlignment();
    workspace =
        memref::AllocOp::create(b, loc, MemRefType::get({(ws + align - 1) / align * align},
                                                        b.getI8Type()));
  }
  auto root = SymbolRefAttr::get(b.getContext(), pzrt::PZRTDialect::kKernelModuleName,
                                 {FlatSymbolRefAttr::get(kernel->getSymNameAttr())});
  pzrt::DispatchOp::create(b, loc, root, inputs, ValueRange{buf}, workspace);
  return success();
}

FailureOr<func::FuncOp> KernelOutliner::outlineChain(ArrayRef<Operation *> ops,
                                                     ArrayRef<Value> operands,
                                                     StringRef hostName, unsigned index) {
  OpBuilder b(kernels.getBodyRegion());
  b.setInsertionPointToEnd(kernels.getBody());
  std::string name = (hostName + "_" + std::to_string(index)).str();
  for (Operation *op : ops)
    name += "_" + op->getName().stripDialect().str();
  for (char &c : name)
    if (c == '.')
      c = '_';
  SmallVector<Type> argTypes;
  for (Value v : operands)
    argTypes.push_back(v.getType());
  Location loc = ops.front()->getLoc();
  auto fn = func::FuncOp::create(b, loc, name,
                                 b.getFunctionType(argTypes, ops.back()->getResultTypes()));
  table.insert(fn); // renames on a clash
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  IRMapping map;
  map.map(operands, entry->getArguments());
  Operation *last = nullptr;
  for (Operation *op : ops)
    last = b.clone(*op, map);
  func::ReturnOp::create(b, loc, last->getResults());
  // The scratch of the chain is its GEMM's (the epilogue needs none).
  int64_t ws = 0;
  for (Operation *op : ops)
    ws = std::max(ws, target.workspaceBytes(op));
  if (ws < 0 || ws > kMaxTotalBytes)
    return ops.front()->emitError()
           << "convert-pz-to-pzrt: the op's workspace exceeds " << kMaxTotalBytes << " bytes";
  if (ws > 0)
    fn->setAttr(pzrt::PZRTDialect::kWorkspaceAttrName, b.getI64IntegerAttr(ws));
  return fn;
}
