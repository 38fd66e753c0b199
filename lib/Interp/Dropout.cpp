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

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

static constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
static constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

void mlir::pz::interp::philox4x32_10(const uint32_t ctr[4],
                                     const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(kM0) * c0;
    uint64_t p1 = static_cast<uint64_t>(kM1) * c2;
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32),
             lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32),
             lo1 = static_cast<uint32_t>(p1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

float mlir::pz::interp::philoxUniform(uint64_t seed, uint64_t step,
                                      uint64_t index) {
  uint64_t block = index >> 2;
  const uint32_t ctr[4] = {
      static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
      static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32)};
  const uint32_t key[2] = {static_cast<uint32_t>(seed),
                           static_cast<uint32_t>(seed >> 32)};
  uint32_t out[4];
  philox4x32_10(ctr, key, out);
  return static_cast<float>(out[index & 3u] >> 8) * (1.0f / 16777216.0f);
}

bool mlir::pz::interp::dropoutKeeps(double rate, uint64_t seed, uint64_t step,
                                    uint64_t index) {
  float p = static_cast<float>(rate);
  return p < 1.0f && philoxUniform(seed, step, index) >= p;
}

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
  std::vector<double> out(x.data.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = dropoutKeeps(rate, seed, step, i) ? x.data[i] * scale : 0.0;
  return env.define(dropout.getResult(), x.shape, std::move(out));
}

void mlir::pz::interp::detail::registerDropoutKernels(KernelTable &t) {
  add<DropoutOp>(t, evalDropout);
}
