// Philox-4x32-10 counter-based RNG (Salmon et al., SC'11) and dropout.
#include "pzrt/kernels.h"

#include "core/internal.h"

using pzrt::fail;

namespace {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

inline void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}

inline void philox(const uint32_t in[4], const uint32_t k[2], uint32_t out[4]) {
  uint32_t c0 = in[0], c1 = in[1], c2 = in[2], c3 = in[3];
  uint32_t k0 = k[0], k1 = k[1];
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kM0, c0, &hi0, &lo0);
    mulhilo(kM1, c2, &hi1, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += kW0;
    k1 += kW1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

inline float toUniform(uint32_t u) { return static_cast<float>(u >> 8) * (1.0f / 16777216.0f); }

// Calls f(i, u) for i in [0, n) with the uniform of element offset+i.
template <typename F>
void forEachUniform(uint64_t seed, uint64_t step, uint64_t offset, int64_t n, F f) {
  const uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  int64_t i = 0;
  while (i < n) {
    uint64_t e = offset + static_cast<uint64_t>(i);
    uint64_t block = e >> 2;
    uint32_t ctr[4] = {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                       static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32)};
    uint32_t out[4];
    philox(ctr, key, out);
    for (unsigned lane = static_cast<unsigned>(e & 3u); lane < 4 && i < n; ++lane, ++i)
      f(i, toUniform(out[lane]));
  }
}

} // namespace

extern "C" {

void pzrt_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  philox(ctr, key, out);
}

void pzrt_rand_uniform(uint64_t seed, uint64_t step, uint64_t offset, float *out, int64_t n) {
  forEachUniform(seed, step, offset, n, [&](int64_t i, float u) { out[i] = u; });
}

int pzrt_dropout_fwd(const float *x, float *y, uint8_t *mask, int64_t n, float p, uint64_t seed,
                     uint64_t step, uint64_t offset) {
  if (!(p >= 0.0f && p <= 1.0f))
    return fail("dropout_fwd: probability %g is outside [0, 1]", static_cast<double>(p));
  float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  forEachUniform(seed, step, offset, n, [&](int64_t i, float u) {
    bool keep = u >= p && p < 1.0f;
    y[i] = keep ? x[i] * scale : 0.0f;
    if (mask)
      mask[i] = keep ? 1 : 0;
  });
  return 0;
}

int pzrt_dropout_bwd(const float *dy, float *dx, int64_t n, float p, uint64_t seed, uint64_t step,
                     uint64_t offset) {
  if (!(p >= 0.0f && p <= 1.0f))
    return fail("dropout_bwd: probability %g is outside [0, 1]", static_cast<double>(p));
  float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  forEachUniform(seed, step, offset, n, [&](int64_t i, float u) {
    bool keep = u >= p && p < 1.0f;
    dx[i] = keep ? dy[i] * scale : 0.0f;
  });
  return 0;
}

} // extern "C"
