// pzrt_cuda_attention_fwd / _bwd / _bias_bwd (pzrt/cuda_kernels.h): the
// CPU kernels' checks (runtime/src/cpu/attention.cpp), then the launches of
// attention_fwd.cu, attention_bwd.cu and attention_bias_bwd.cu on the
// context's compute stream. The checks come first so that they hold without
// a GPU. Workspace (pzrt_cuda_attention_workspace_bytes): none for the
// forward; the backwards keep the forward's row lse [B*H*Sq] and then Drow
// [B*H*Sq] there, recomputed by a stats pass of the forward kernel.
#include "pzrt/cuda_prelude.h"

#include "core/internal.h"
#include "cuda/attention_tile.cuh"
#include "pzrt/cuda.h"
#include "pzrt/cuda_kernels.h"
#include "pzrt/error.h"
#include "pzrt/workspace.h"

#include <climits>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

using pzrt::fail;

namespace pzrt::cuda::attn {

// The context's compute stream, or NULL with an error naming fn.
void *computeStream(const char *fn, pzrt_step_ctx *ctx) {
  void *stream = pzrt_cuda_compute_stream(ctx);
  if (!stream) {
    std::string why = pzrt_last_error();
    fail("%s: %s", fn, why.c_str());
  }
  return stream;
}

// The size checks both attention forms share (the CPU's, plus the CUDA
// grid's limits: B and H index grid dimensions of at most 65535).
int checkSizes(const char *fn, int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk,
               int64_t D, int64_t Dv, int maskKind, const int64_t *maskStrides) {
  if (B < 0 || H < 0 || Hkv < 1 || Sq < 0 || Sk < 0 || D < 0 || Dv < 0)
    return fail("%s: bad sizes B=%lld H=%lld Hkv=%lld Sq=%lld Sk=%lld D=%lld Dv=%lld", fn,
                (long long)B, (long long)H, (long long)Hkv, (long long)Sq, (long long)Sk,
                (long long)D, (long long)Dv);
  if (H % Hkv != 0)
    return fail("%s: %lld query heads are not a multiple of %lld kv heads", fn, (long long)H,
                (long long)Hkv);
  if (B > 65535 || H > 65535 || Sq > INT_MAX || Sk > INT_MAX || D > INT_MAX || Dv > INT_MAX)
    return fail("%s: B=%lld or H=%lld beyond 65535 (a grid dimension), or a size beyond "
                "INT_MAX",
                fn, (long long)B, (long long)H);
  if (maskKind != PZRT_MASK_NONE && maskKind != PZRT_MASK_BOOL && maskKind != PZRT_MASK_ADD)
    return fail("%s: unknown mask kind %d", fn, maskKind);
  if (maskKind != PZRT_MASK_NONE && !maskStrides)
    return fail("%s: NULL mask_strides with mask kind %d", fn, maskKind);
  return 0;
}

// Fills what every kernel reads from the arguments.
Params makeParams(const float *q, const float *k, const float *v, const void *mask, int maskKind,
                  const int64_t *maskStrides, double scale, int64_t B, int64_t H, int64_t Hkv,
                  int64_t Sq, int64_t Sk, int64_t D, int64_t Dv) {
  Params p = {};
  p.q = q;
  p.k = k;
  p.v = v;
  p.maskKind = maskKind;
  p.mask = maskKind == PZRT_MASK_NONE ? nullptr : mask;
  for (int i = 0; i < 4; ++i)
    p.ms[i] = maskKind == PZRT_MASK_NONE ? 0 : maskStrides[i];
  p.scale = static_cast<float>(scale);
  p.nan = std::numeric_limits<float>::quiet_NaN();
  p.B = B;
  p.H = H;
  p.Hkv = Hkv;
  p.G = H / Hkv;
  p.Sq = Sq;
  p.Sk = Sk;
  p.D = static_cast<int>(D);
  p.Dv = static_cast<int>(Dv);
  return p;
}

namespace {

// The plain form's setup and checks (attention.cpp's fillAttn and check).
int setUpPlain(const char *fn, Params &p, const float *q, const float *k, const float *v,
               const void *mask, int maskKind, const int64_t *maskStrides, const float *bias,
               const int64_t *biasStrides, int causal, double scale, int64_t B, int64_t H,
               int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv, const void *workspace,
               int backward) {
  if (bias && !biasStrides)
    return fail("%s: NULL bias_strides with a bias", fn);
  if (checkSizes(fn, B, H, Hkv, Sq, Sk, D, Dv, maskKind, maskStrides))
    return -1;
  const bool work = B * H * Sq > 0 && Sk > 0;
  if (work && maskKind != PZRT_MASK_NONE && !mask)
    return fail("%s: NULL mask with mask kind %d", fn, maskKind);
  if (work && (!q || !k || !v))
    return fail("%s: NULL query, key or value", fn);
  size_t bytes = pzrt_cuda_attention_workspace_bytes(B, H, Hkv, Sq, Sk, D, Dv, backward);
  if (work && bytes > 0 && !workspace)
    return fail("%s: NULL workspace (needs %zu bytes)", fn, bytes);
  if (reinterpret_cast<uintptr_t>(workspace) % alignof(float) != 0)
    return fail("%s: misaligned workspace", fn);
  p = makeParams(q, k, v, mask, maskKind, maskStrides, scale, B, H, Hkv, Sq, Sk, D, Dv);
  p.bias = bias;
  for (int i = 0; i < 4; ++i)
    p.bs[i] = bias ? biasStrides[i] : 0;
  p.causal = causal != 0;
  return 0;
}

// The backwards' stats pass: lse then Drow of every row into the workspace.
int runStats(const char *fn, Params &p, const float *dout, void *workspace, void *stream) {
  p.dout = dout;
  p.lse = static_cast<float *>(workspace);
  p.drow = p.lse + p.B * p.H * p.Sq;
  Params s = p;
  s.mode = kFwdStats;
  return launchForward(fn, s, stream);
}

// The bias's strides must map [B, H, Sq, Sk] into bias_numel elements with
// its non-zero-stride axes addressing distinct elements (a broadcast view),
// so that each element has one owner in the kernel.
int checkBiasLayout(const char *fn, const int64_t *bs, int64_t numel, const int64_t ext[4]) {
  int64_t stride[4], extent[4], n = 0, last = 0;
  for (int a = 0; a < 4; ++a) {
    if (bs[a] < 0)
      return fail("%s: negative bias stride %lld", fn, (long long)bs[a]);
    if (bs[a] != 0 && ext[a] > 1) {
      stride[n] = bs[a];
      extent[n++] = ext[a];
      last += (ext[a] - 1) * bs[a];
    }
  }
  for (int64_t x = 1; x < n; ++x) // insertion sort by stride
    for (int64_t y = x; y > 0 && stride[y - 1] > stride[y]; --y) {
      std::swap(stride[y - 1], stride[y]);
      std::swap(extent[y - 1], extent[y]);
    }
  for (int64_t x = 1; x < n; ++x)
    if (stride[x] < stride[x - 1] * extent[x - 1])
      return fail("%s: bias strides that map two positions to one element are not supported",
                  fn);
  if (n > 0 && last >= numel)
    return fail("%s: bias strides reach element %lld of %lld", fn, (long long)last,
                (long long)numel);
  return 0;
}

} // namespace
} // namespace pzrt::cuda::attn

using namespace pzrt::cuda::attn;

extern "C" {

int pzrt_cuda_attention_fwd(pzrt_step_ctx *ctx, const float *q, const float *k, const float *v,
                            const void *mask, int mask_kind, const int64_t mask_strides[4],
                            const float *bias, const int64_t bias_strides[4], int causal,
                            double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                            int64_t Sk, int64_t D, int64_t Dv, float *out, void *workspace) {
  const char *fn = "pzrt_cuda_attention_fwd";
  Params p;
  if (setUpPlain(fn, p, q, k, v, mask, mask_kind, mask_strides, bias, bias_strides, causal,
                 scale, B, H, Hkv, Sq, Sk, D, Dv, workspace, 0))
    return -1;
  if (B * H * Sq * Dv > 0 && !out)
    return fail("%s: NULL output", fn);
  if (B * H * Sq == 0 || Dv == 0)
    return 0;
  void *stream = computeStream(fn, ctx);
  if (!stream)
    return -1;
  if (Sk == 0) // softmax over no keys: the weighted sum is empty
    return launchFill(fn, out, B * H * Sq * Dv, 0.0f, stream);
  p.out = out;
  p.mode = kFwdOut;
  return launchForward(fn, p, stream);
}

int pzrt_cuda_attention_bwd(pzrt_step_ctx *ctx, const float *dout, const float *q,
                            const float *k, const float *v, const void *mask, int mask_kind,
                            const int64_t mask_strides[4], const float *bias,
                            const int64_t bias_strides[4], int causal, double scale, int64_t B,
                            int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D,
                            int64_t Dv, float *dq, float *dk, float *dv, void *workspace) {
  const char *fn = "pzrt_cuda_attention_bwd";
  Params p;
  if (setUpPlain(fn, p, q, k, v, mask, mask_kind, mask_strides, bias, bias_strides, causal,
                 scale, B, H, Hkv, Sq, Sk, D, Dv, workspace, 1))
    return -1;
  if ((B * H * Sq * D > 0 && !dq) || (B * Hkv * Sk * D > 0 && !dk) ||
      (B * Hkv * Sk * Dv > 0 && !dv) || (B * H * Sq * Dv > 0 && Sk > 0 && !dout))
    return fail("%s: NULL gradient pointer", fn);
  const int64_t nq = B * H * Sq * D, nk = B * Hkv * Sk * D, nv = B * Hkv * Sk * Dv;
  if (nq + nk + nv == 0)
    return 0;
  void *stream = computeStream(fn, ctx);
  if (!stream)
    return -1;
  if (B * H * Sq == 0 || Sk == 0) // no scores: zero gradients
    return launchFill(fn, dq, nq, 0.0f, stream) || launchFill(fn, dk, nk, 0.0f, stream) ||
                   launchFill(fn, dv, nv, 0.0f, stream)
               ? -1
               : 0;
  if (runStats(fn, p, dout, workspace, stream))
    return -1;
  p.dq = dq;
  p.dk = dk;
  p.dv = dv;
  return launchBackward(fn, p, stream);
}

int pzrt_cuda_attention_bias_bwd(pzrt_step_ctx *ctx, const float *dout, const float *q,
                                 const float *k, const float *v, const void *mask, int mask_kind,
                                 const int64_t mask_strides[4], const float *bias,
                                 const int64_t bias_strides[4], int64_t bias_numel, int causal,
                                 double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                                 int64_t Sk, int64_t D, int64_t Dv, float *dbias,
                                 void *workspace) {
  const char *fn = "pzrt_cuda_attention_bias_bwd";
  if (!bias)
    return fail("%s: NULL bias", fn);
  Params p;
  if (setUpPlain(fn, p, q, k, v, mask, mask_kind, mask_strides, bias, bias_strides, causal,
                 scale, B, H, Hkv, Sq, Sk, D, Dv, workspace, 1))
    return -1;
  if (bias_numel < 0 || (bias_numel > 0 && !dbias) || (B * H * Sq * Dv > 0 && Sk > 0 && !dout))
    return fail("%s: NULL gradient pointer or bad bias size %lld", fn, (long long)bias_numel);
  const int64_t ext[4] = {B, H, Sq, Sk};
  if (B * H * Sq * Sk > 0 && checkBiasLayout(fn, bias_strides, bias_numel, ext))
    return -1;
  if (bias_numel == 0)
    return 0;
  void *stream = computeStream(fn, ctx);
  if (!stream)
    return -1;
  if (B * H * Sq == 0 || Sk == 0)
    return launchFill(fn, dbias, bias_numel, 0.0f, stream);
  if (runStats(fn, p, dout, workspace, stream))
    return -1;
  p.dbias = dbias;
  return launchBiasBackward(fn, p, bias_numel, stream);
}

} // extern "C"
