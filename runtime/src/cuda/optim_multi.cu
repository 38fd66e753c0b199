// AdamW over many tensors per launch (a multi-tensor apply, as PyTorch's
// multi_tensor_apply): a GPT-2's ~150 parameters would otherwise cost ~150
// small launches per optimizer step. The host cuts the tensors into chunks
// of `chunk` elements and fills a by-value table (under the 4 KiB of
// kernel parameters) with up to kAdamWMultiTensors tensors and
// kAdamWMultiBlocks (tensor, chunk) pairs, one per block; a full table is
// launched and the next one starts, a tensor's remaining chunks with it.
// Each element gets optim_util.cuh's adamwElement with the scalars of
// adamwDevScalars, as in pzrt_cuda_adamw_step_dev: the same bits.
#include "pzrt/cuda_prelude.h"

#include "cuda/kernel_util.cuh"
#include "cuda/optim_multi.h"
#include "cuda/optim_util.cuh"

namespace {

using namespace pzrt::cudak;

struct AdamWTable {
  float *p[kAdamWMultiTensors];
  const float *g[kAdamWMultiTensors];
  float *m[kAdamWMultiTensors];
  float *v[kAdamWMultiTensors];
  int64_t n[kAdamWMultiTensors];
  int32_t chunk[kAdamWMultiBlocks]; // block b updates chunk[b] of tensor[b]
  uint8_t tensor[kAdamWMultiBlocks];
};
// The table, the scalar arguments and alignment stay under the 4 KiB limit
// of kernel parameters of every CUDA version.
static_assert(sizeof(AdamWTable) + 128 <= 4096, "AdamW multi-tensor table too large");
static_assert(kAdamWMultiTensors <= 256, "tensor index is a uint8_t");

__global__ void adamwMultiKernel(AdamWTable t, int64_t chunk, const float *lr,
                                 const int64_t *step, double beta1, double beta2, double eps,
                                 double weight_decay, int *bad, int badId) {
  __shared__ AdamWScalars s;
  __shared__ int ok;
  if (!adamwDevScalars(s, ok, lr, step, beta1, beta2, eps, weight_decay, bad, badId))
    return;
  const int k = t.tensor[blockIdx.x];
  const int64_t begin = int64_t(t.chunk[blockIdx.x]) * chunk;
  const int64_t end = begin + chunk < t.n[k] ? begin + chunk : t.n[k];
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x)
    adamwElement(t.p[k], t.g[k], t.m[k], t.v[k], i, s);
}

} // namespace

int pzrt::cudak::adamwMultiChunked(pzrt_step_ctx *ctx, int count, float *const *p,
                                   const float *const *g, float *const *m, float *const *v,
                                   const int64_t *n, const float *lr, const int64_t *step,
                                   double beta1, double beta2, double eps, double weight_decay,
                                   int *bad, int bad_id, int64_t chunk) {
  const char *fn = "cuda_adamw_multi_dev";
  if (count < 0)
    return pzrt::fail("%s: negative tensor count %d", fn, count);
  if (count > 0 && (!p || !g || !m || !v || !n))
    return pzrt::fail("%s: NULL tensor array for %d tensors", fn, count);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0))
    return pzrt::fail("%s: invalid hyper-parameters betas=(%g, %g) eps=%g", fn, beta1, beta2,
                      eps);
  if (!lr || !step)
    return pzrt::fail("%s: NULL learning rate or step slot", fn);
  if (chunk <= 0)
    return pzrt::fail("%s: chunk size %lld must be positive", fn, (long long)chunk);
  for (int i = 0; i < count; ++i) {
    if (n[i] < 0)
      return pzrt::fail("%s: tensor %d: negative element count %lld", fn, i, (long long)n[i]);
    if (n[i] > 0 && (!p[i] || !g[i] || !m[i] || !v[i]))
      return pzrt::fail("%s: tensor %d: NULL parameter, gradient or moment for %lld elements",
                        fn, i, (long long)n[i]);
    if ((n[i] - 1) / chunk >= INT32_MAX)
      return pzrt::fail("%s: tensor %d: %lld elements are too many chunks of %lld", fn, i,
                        (long long)n[i], (long long)chunk);
  }
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  AdamWTable t;
  int tensors = 0, blocks = 0;
  auto launch = [&]() -> int {
    PZ_LAUNCH(blocks, kEltThreads, 0, stream, adamwMultiKernel)(
        t, chunk, lr, step, beta1, beta2, eps, weight_decay, bad, bad_id);
    tensors = blocks = 0;
    return checkLaunch(fn, "adamwMultiKernel");
  };
  for (int i = 0; i < count; ++i) {
    if (n[i] == 0)
      continue;
    const int64_t chunks = (n[i] + chunk - 1) / chunk;
    for (int64_t c = 0; c < chunks; ++c) {
      if (c == 0 || tensors == 0) { // a new tensor, or its rest after a full table
        t.p[tensors] = p[i];
        t.g[tensors] = g[i];
        t.m[tensors] = m[i];
        t.v[tensors] = v[i];
        t.n[tensors] = n[i];
        ++tensors;
      }
      t.tensor[blocks] = static_cast<uint8_t>(tensors - 1);
      t.chunk[blocks] = static_cast<int32_t>(c);
      ++blocks;
      if (blocks == kAdamWMultiBlocks && launch() != 0)
        return -1;
    }
    if (tensors == kAdamWMultiTensors && launch() != 0)
      return -1;
  }
  if (blocks > 0 && launch() != 0)
    return -1;
  return 0;
}

extern "C" int pzrt_cuda_adamw_multi_dev(pzrt_step_ctx *ctx, int count, float *const *p,
                                         const float *const *g, float *const *m,
                                         float *const *v, const int64_t *n, const float *lr,
                                         const int64_t *step, double beta1, double beta2,
                                         double eps, double weight_decay, int *bad,
                                         int bad_id) {
  return pzrt::cudak::adamwMultiChunked(ctx, count, p, g, m, v, n, lr, step, beta1, beta2, eps,
                                        weight_decay, bad, bad_id, kAdamWChunk);
}
