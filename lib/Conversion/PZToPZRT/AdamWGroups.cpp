//===- AdamWGroups.cpp - consecutive AdamW updates as one kernel ----------===//
//
// A model's optimizer step is a run of pz.adamw_update ops, one per
// parameter, all with the same learning rate and step slots and the same
// hyper-parameters. On a target that groups them (TargetInfo::
// groupsAdamWUpdates) such a run becomes one kernel and one dispatch, which
// the backend updates in one multi-tensor call: the tensors are updated
// together, so the ops of a group must not touch each other's buffers
// (beyond the shared scalar slots).
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::lowering;

/// Whether b may be updated in the same call as a: same scalar slots and
/// hyper-parameters, fp32 tensors, no workspace.
static bool sameScalars(AdamWUpdateOp a, AdamWUpdateOp b) {
  auto f32 = [](AdamWUpdateOp u) {
    for (Value v : {u.getParam(), u.getGrad(), u.getExpAvg(), u.getExpAvgSq()})
      if (!llvm::cast<ShapedType>(v.getType()).getElementType().isF32())
        return false;
    return true;
  };
  return a.getLr() == b.getLr() && a.getStep() == b.getStep() && a.getBeta1() == b.getBeta1() &&
         a.getBeta2() == b.getBeta2() && a.getEps() == b.getEps() &&
         a.getWeightDecay() == b.getWeightDecay() && f32(a) && f32(b);
}

SmallVector<Operation *> FunctionLowering::adamwGroup(Operation *op) {
  SmallVector<Operation *> group{op};
  auto first = llvm::dyn_cast<AdamWUpdateOp>(op);
  if (!first || !target.groupsAdamWUpdates() || target.workspaceBytes(op) != 0)
    return group;
  // The buffers the group reads (but the scalar slots) and writes: a
  // member's tensors are nobody else's in the group.
  llvm::DenseSet<Value> touched, results;
  auto tensors = [&](AdamWUpdateOp u, llvm::DenseSet<Value> &reads,
                     llvm::DenseSet<Value> &writes) -> bool {
    for (Value v : {u.getParam(), u.getGrad(), u.getExpAvg(), u.getExpAvgSq()}) {
      if (results.count(v)) // computed by the group: not yet there
        return false;
      reads.insert(buffers.lookup(v));
    }
    for (Value r : u->getResults())
      if (Value buf = directOutput.lookup(r))
        writes.insert(buf);
    return true;
  };
  {
    llvm::DenseSet<Value> reads, writes;
    tensors(first, reads, writes);
    touched.insert(reads.begin(), reads.end());
    touched.insert(writes.begin(), writes.end());
    results.insert(first->result_begin(), first->result_end());
  }
  for (Operation *next = op->getNextNode(); next; next = next->getNextNode()) {
    auto u = llvm::dyn_cast<AdamWUpdateOp>(next);
    if (!u || !sameScalars(first, u) || target.workspaceBytes(next) != 0)
      break;
    llvm::DenseSet<Value> reads, writes;
    if (!tensors(u, reads, writes) ||
        llvm::any_of(reads, [&](Value b) { return !b || touched.count(b); }) ||
        llvm::any_of(writes, [&](Value b) { return touched.count(b); }))
      break;
    touched.insert(reads.begin(), reads.end());
    touched.insert(writes.begin(), writes.end());
    results.insert(next->result_begin(), next->result_end());
    group.push_back(next);
  }
  return group;
}

LogicalResult FunctionLowering::lowerGroup(ArrayRef<Operation *> ops) {
  SmallVector<Value> operands;
  FailureOr<func::FuncOp> kernel =
      kernels.outlineGroup(ops, src.getSymName(), dispatches++, operands);
  if (failed(kernel))
    return failure();
  SmallVector<Value> inputs, outputs;
  for (Value v : operands)
    inputs.push_back(buffers.lookup(v));
  for (Operation *op : ops)
    for (Value r : op->getResults()) {
      Value buf = directOutput.lookup(r);
      if (!buf)
        buf = memref::AllocOp::create(b, op->getLoc(), bufferType(r.getType()));
      buffers[r] = buf;
      outputs.push_back(buf);
    }
  auto root = SymbolRefAttr::get(b.getContext(), pzrt::PZRTDialect::kKernelModuleName,
                                 {FlatSymbolRefAttr::get(kernel->getSymNameAttr())});
  pzrt::DispatchOp::create(b, ops.front()->getLoc(), root, inputs, outputs, Value());
  return success();
}

FailureOr<func::FuncOp> KernelOutliner::outlineGroup(ArrayRef<Operation *> ops,
                                                     StringRef hostName, unsigned index,
                                                     SmallVectorImpl<Value> &operands) {
  llvm::DenseSet<Value> seen;
  SmallVector<Type> argTypes, resultTypes;
  for (Operation *op : ops) {
    for (Value v : op->getOperands())
      if (seen.insert(v).second) {
        operands.push_back(v);
        argTypes.push_back(v.getType());
      }
    llvm::append_range(resultTypes, op->getResultTypes());
  }
  OpBuilder b(kernels.getBodyRegion());
  b.setInsertionPointToEnd(kernels.getBody());
  std::string name = (hostName + "_" + std::to_string(index) + "_" +
                      ops.front()->getName().stripDialect() + "_x" + std::to_string(ops.size()))
                         .str();
  for (char &c : name)
    if (c == '.')
      c = '_';
  auto fn = func::FuncOp::create(b, ops.front()->getLoc(), name,
                                 b.getFunctionType(argTypes, resultTypes));
  table.insert(fn); // renames on a clash
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  IRMapping map;
  map.map(operands, entry->getArguments());
  SmallVector<Value> results;
  for (Operation *op : ops)
    llvm::append_range(results, b.clone(*op, map)->getResults());
  func::ReturnOp::create(b, ops.front()->getLoc(), results);
  return fn;
}
