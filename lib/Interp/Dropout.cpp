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
/// The index in the whole value of each local element of a (block of a)
/// dropout's input: along a split dim, the entries of its indices.
FailureOr<std::vector<uint64_t>> globalIndices(DropoutOp op, ArrayRef<int64_t> local,
                                                Env &env) {
  int64_t n = 1;
  for (int64_t d : local)
    n *= d;
  std::vector<uint64_t> out(n);
  ArrayRef<int64_t> global = op.getGlobalShape() ? *op.getGlobalShape() : local;
  SmallVector<const HostTensor *> idx(local.size(), nullptr);
  if (op.getSplitDims())
    for (auto [k, d] : llvm::enumerate(*op.getSplitDims())) {
      idx[d] = &env.get(op.getIndices()[k]);
      for (double i : idx[d]->data)
        if (!(i >= 0 && i < static_cast<double>(global[d])))
          return op->emitError() << "interpreter: dropout index " << static_cast<int64_t>(i)
                                 << " of dim " << d
                                 << " is out of range [0, " << global[d] << ")";
    }
  for (int64_t i = 0; i < n; ++i) {
    uint64_t g = 0, stride = 1;
    int64_t rem = i;
    for (int64_t d = static_cast<int64_t>(local.size()) - 1; d >= 0; --d) {
      int64_t j = rem % local[d];
      rem /= local[d];
      g += static_cast<uint64_t>(idx[d] ? static_cast<int64_t>(idx[d]->data[j]) : j) * stride;
      stride *= static_cast<uint64_t>(global[d]);
    }
    out[i] = g;
  }
  return out;
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
  FailureOr<std::vector<uint64_t>> global = globalIndices(dropout, x.shape, env);
  if (failed(global))
    return failure();
  std::vector<double> out(x.data.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = dropoutKeeps(rate, seed, step, (*global)[i]) ? x.data[i] * scale : 0.0;
  return env.define(dropout.getResult(), x.shape, std::move(out));
}

void mlir::pz::interp::detail::registerDropoutKernels(KernelTable &t) {
  add<DropoutOp>(t, evalDropout);
}
