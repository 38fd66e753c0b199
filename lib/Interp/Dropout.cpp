//===- Dropout.cpp - Philox-4x32-10 and the dropout kernel ----------------===//
//
// The same generator as the runtime (runtime/src/cpu/philox.cpp): element e
// of a dropout at step s with seed k uses word e % 4 of the Philox block with
// counter {e/4 low, e/4 high, s low, s high} and key {k low, k high}; its
// uniform is float(word >> 8) / 2^24 and the element is kept when that
// uniform is >= float(rate). Kept elements are scaled by 1 / (1 - rate) (in
// double here). The element index is the row-major index in the whole
// tensor (the runtime's offset 0).
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pzrt/kernels.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

// The generator is the runtime's own (pzrt_philox4x32_10), so masks agree
// by construction rather than by a second implementation.
void mlir::pz::interp::philox4x32_10(const uint32_t ctr[4],
                                     const uint32_t key[2], uint32_t out[4]) {
  pzrt_philox4x32_10(ctr, key, out);
}

float mlir::pz::interp::philoxUniform(uint64_t seed, uint64_t step,
                                      uint64_t index) {
  float u;
  pzrt_rand_uniform(seed, step, index, &u, 1);
  return u;
}

bool mlir::pz::interp::dropoutKeeps(double rate, uint64_t seed, uint64_t step,
                                    uint64_t index) {
  float p = static_cast<float>(rate);
  return p < 1.0f && philoxUniform(seed, step, index) >= p;
}

namespace {
/// Where a (block of a) dropout's elements lie in the whole value: local
/// element i is global element (i / run) x stride + start + i % run.
struct DropoutBlock {
  uint64_t run = 1, stride = 1, start = 0;
  uint64_t globalIndex(uint64_t i) const { return i / run * stride + start + i % run; }
};

DropoutBlock dropoutBlock(DropoutOp op, ArrayRef<int64_t> local, int64_t block) {
  DropoutBlock b;
  if (!op.getSplitDim())
    return b;
  ArrayRef<int64_t> global = *op.getGlobalShape();
  int64_t k = *op.getSplitDim();
  uint64_t inner = 1;
  for (size_t d = k + 1; d < local.size(); ++d)
    inner *= local[d];
  b.run = local[k] * inner;
  b.stride = global[k] * inner;
  b.start = static_cast<uint64_t>(block) * b.run;
  return b;
}
} // namespace

static LogicalResult evalDropout(Operation *op, Env &env) {
  auto dropout = llvm::cast<DropoutOp>(op);
  const HostTensor &x = env.get(dropout.getInput());
  double rate = dropout.getRate().convertToDouble();
  if (!(rate >= 0.0 && rate < 1.0))
    return op->emitError() << "interpreter: dropout rate " << rate
                           << " is outside [0, 1)";
  if (rate == 0.0)
    return env.define(dropout.getResult(), x.shape, x.data);
  uint64_t seed = static_cast<uint64_t>(dropout.getSeed());
  uint64_t step = env.options().step;
  double scale = 1.0 / (1.0 - rate);
  DropoutBlock blk = dropoutBlock(dropout, x.shape,
                                  dropout.getBlock() ? static_cast<int64_t>(
                                                           env.get(dropout.getBlock()).data[0])
                                                     : 0);
  std::vector<double> out(x.data.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = dropoutKeeps(rate, seed, step, blk.globalIndex(i)) ? x.data[i] * scale : 0.0;
  return env.define(dropout.getResult(), x.shape, std::move(out));
}

void mlir::pz::interp::detail::registerDropoutKernels(KernelTable &t) {
  add<DropoutOp>(t, evalDropout);
}
