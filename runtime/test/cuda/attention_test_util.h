// Helpers of test_cuda_attention.cpp: a random attention problem, device
// buffers, and the error bound of each output element.
//
// The CUDA kernels are compared with the CPU kernels (runtime/src/cpu) on
// the same inputs. Both compute in fp32 but sum in different orders (online
// softmax over key tiles and per-thread dot products on CUDA, BLAS and
// double row sums on the CPU), so an element may differ by a few float
// roundings of the sum of the absolute values of its terms. magnitudes()
// computes that sum in double for every output, independently of both
// kernels; a score s's own rounding (about eps * the sum |terms| of s)
// scales its probability by up to that relative amount, hence the
// (1 + |s terms|) factors.
#ifndef PZRT_TEST_CUDA_ATTENTION_TEST_UTIL_H
#define PZRT_TEST_CUDA_ATTENTION_TEST_UTIL_H

#include "pzrt/cuda.h"
#include "pzrt/error.h"
#include "pzrt/exec.h"
#include "pzrt/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace attn_test {

struct Problem {
  int64_t B = 1, H = 1, Hkv = 1, Sq = 1, Sk = 1, D = 1, Dv = 1;
  int causal = 0;
  double scale = 1.0;
  std::vector<float> q, k, v, dout;
  int maskKind = PZRT_MASK_NONE;
  std::vector<uint8_t> maskB;
  std::vector<float> maskF;
  int64_t ms[4] = {0, 0, 0, 0};
  std::vector<float> bias; // empty: none
  int64_t bs[4] = {0, 0, 0, 0};
  std::vector<int64_t> qPos, kPos; // block form; empty: no drop by position

  const void *mask() const {
    return maskKind == PZRT_MASK_BOOL  ? static_cast<const void *>(maskB.data())
           : maskKind == PZRT_MASK_ADD ? static_cast<const void *>(maskF.data())
                                       : nullptr;
  }
  int64_t maskAt(int64_t b, int64_t h, int64_t i, int64_t j) const {
    return b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3];
  }
};

// Fills q, k, v, dout with uniform [-1, 1) values; scale 1/sqrt(D) (1 if D = 0).
inline void randomize(Problem &p, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto fill = [&](std::vector<float> &x, int64_t n) {
    x.resize(static_cast<size_t>(n));
    for (float &e : x)
      e = u(gen);
  };
  fill(p.q, p.B * p.H * p.Sq * p.D);
  fill(p.k, p.B * p.Hkv * p.Sk * p.D);
  fill(p.v, p.B * p.Hkv * p.Sk * p.Dv);
  fill(p.dout, p.B * p.H * p.Sq * p.Dv);
  p.scale = p.D > 0 ? 1.0 / std::sqrt(static_cast<double>(p.D)) : 1.0;
}

// A mask or bias of `numel` elements with these strides over [B, H, Sq, Sk].
inline void setMask(Problem &p, int kind, const int64_t strides[4], int64_t numel, uint32_t seed) {
  std::mt19937 gen(seed);
  p.maskKind = kind;
  std::copy(strides, strides + 4, p.ms);
  if (kind == PZRT_MASK_BOOL) {
    p.maskB.resize(static_cast<size_t>(numel));
    for (uint8_t &m : p.maskB)
      m = gen() % 5 != 0; // keeps 80%
  } else {
    std::uniform_real_distribution<float> u(-2.0f, 0.0f);
    p.maskF.resize(static_cast<size_t>(numel));
    for (float &m : p.maskF)
      m = u(gen);
  }
}
inline void setBias(Problem &p, const int64_t strides[4], int64_t numel, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::copy(strides, strides + 4, p.bs);
  p.bias.resize(static_cast<size_t>(numel));
  for (float &b : p.bias)
    b = u(gen);
}

// The error scale (sum of |terms|) of every output, keys [ja, jb) for the
// gradients (one block of ring attention; [0, Sk) for the plain form); the
// probabilities are over all Sk keys. dk and dv are indexed by key - ja.
struct Mags {
  std::vector<double> out, lse, dq, dk, dv, dbias;
};

inline Mags magnitudes(const Problem &p, int64_t ja, int64_t jb) {
  const int64_t G = p.H / p.Hkv, nb = jb - ja;
  Mags m;
  m.out.assign(static_cast<size_t>(p.B * p.H * p.Sq * p.Dv), 0.0);
  m.lse.assign(static_cast<size_t>(p.B * p.H * p.Sq), 0.0);
  m.dq.assign(static_cast<size_t>(p.B * p.H * p.Sq * p.D), 0.0);
  m.dk.assign(static_cast<size_t>(p.B * p.Hkv * nb * p.D), 0.0);
  m.dv.assign(static_cast<size_t>(p.B * p.Hkv * nb * p.Dv), 0.0);
  m.dbias.assign(p.bias.size(), 0.0);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> s(p.Sk), ms(p.Sk), P(p.Sk), mdp(p.Sk);
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t i = 0; i < p.Sq; ++i) {
        const int64_t bh = b * p.H + h, bhk = b * p.Hkv + h / G;
        const float *qi = &p.q[(bh * p.Sq + i) * p.D], *gi = &p.dout[(bh * p.Sq + i) * p.Dv];
        double mx = -inf;
        for (int64_t j = 0; j < p.Sk; ++j) {
          const float *kj = &p.k[(bhk * p.Sk + j) * p.D];
          double dot = 0, adot = 0;
          for (int64_t d = 0; d < p.D; ++d) {
            dot += double(qi[d]) * kj[d];
            adot += std::fabs(double(qi[d]) * kj[d]);
          }
          s[j] = p.scale * dot;
          ms[j] = p.scale * adot;
          if (!p.bias.empty()) {
            double x = p.bias[b * p.bs[0] + h * p.bs[1] + i * p.bs[2] + j * p.bs[3]];
            s[j] += x;
            ms[j] += std::fabs(x);
          }
          if (p.maskKind == PZRT_MASK_BOOL && !p.maskB[p.maskAt(b, h, i, j)])
            s[j] = -inf;
          if (p.maskKind == PZRT_MASK_ADD) {
            double x = p.maskF[p.maskAt(b, h, i, j)];
            s[j] += x;
            ms[j] += std::fabs(x);
          }
          if ((p.causal && j > i) || (!p.qPos.empty() && p.kPos[j] > p.qPos[i]))
            s[j] = -inf;
          mx = std::max(mx, s[j]);
        }
        if (mx == -inf)
          continue; // no key: NaN (plain form) or exact zeros (block form)
        double sum = 0, big = 0;
        for (int64_t j = 0; j < p.Sk; ++j) {
          sum += std::exp(s[j] - mx);
          if (s[j] > -inf)
            big = std::max(big, std::fabs(s[j]) + ms[j]);
        }
        m.lse[bh * p.Sq + i] = 1 + big;
        double mDrow = 0;
        for (int64_t j = 0; j < p.Sk; ++j) {
          P[j] = std::exp(s[j] - mx) / sum * (1 + ms[j]); // with its rounding
          const float *vj = &p.v[(bhk * p.Sk + j) * p.Dv];
          mdp[j] = 0;
          for (int64_t c = 0; c < p.Dv; ++c) {
            mdp[j] += std::fabs(double(gi[c]) * vj[c]);
            m.out[(bh * p.Sq + i) * p.Dv + c] += P[j] * std::fabs(vj[c]);
          }
          mDrow += P[j] * mdp[j];
        }
        for (int64_t j = ja; j < jb; ++j) {
          const double mds = P[j] * (mdp[j] + mDrow);
          const float *kj = &p.k[(bhk * p.Sk + j) * p.D];
          const int64_t kv = bhk * nb + (j - ja);
          for (int64_t d = 0; d < p.D; ++d) {
            m.dq[(bh * p.Sq + i) * p.D + d] += p.scale * mds * std::fabs(kj[d]);
            m.dk[kv * p.D + d] += p.scale * mds * std::fabs(qi[d]);
          }
          for (int64_t c = 0; c < p.Dv; ++c)
            m.dv[kv * p.Dv + c] += P[j] * std::fabs(gi[c]);
          if (!p.bias.empty())
            m.dbias[b * p.bs[0] + h * p.bs[1] + i * p.bs[2] + j * p.bs[3]] += mds;
        }
      }
  return m;
}

// Every element: both NaN, or equal infinities, or within tol * mag.
inline void expectClose(const char *what, const std::vector<float> &got,
                        const std::vector<float> &want, const std::vector<double> &mag,
                        double tol) {
  ASSERT_EQ(got.size(), want.size()) << what;
  ASSERT_EQ(got.size(), mag.size()) << what;
  int bad = 0;
  for (size_t t = 0; t < got.size(); ++t) {
    const float g = got[t], w = want[t];
    bool ok;
    if (std::isnan(w) || std::isnan(g))
      ok = std::isnan(w) && std::isnan(g);
    else if (std::isinf(w) || std::isinf(g))
      ok = g == w;
    else
      ok = std::fabs(double(g) - w) <= tol * mag[t];
    if (!ok && ++bad <= 5)
      ADD_FAILURE() << what << "[" << t << "]: cuda " << g << ", cpu " << w << ", bound "
                    << tol * mag[t];
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " elements differ";
}

// The CUDA device and a step context whose compute stream is its stream.
struct Cuda {
  pzrt_device *dev = nullptr;
  pzrt_stream *stream = nullptr;
  pzrt_stream *streams[1] = {nullptr};
  pzrt_step_ctx ctx = {};
  std::vector<void *> buffers;

  bool open() {
    dev = pzrt_device_cuda(0);
    if (!dev)
      return false;
    stream = pzrt_stream_create(dev);
    streams[0] = stream;
    ctx.device = dev;
    ctx.num_streams = 1;
    ctx.streams = streams;
    return stream != nullptr;
  }
  ~Cuda() {
    for (void *b : buffers)
      pzrt_cuda_free(dev, b);
    if (stream)
      pzrt_stream_destroy(stream);
  }
  // A device buffer of n T's (at least one byte), holding `host` if given.
  template <typename T> T *alloc(size_t n, const T *host = nullptr) {
    void *ptr = nullptr;
    size_t bytes = std::max<size_t>(n * sizeof(T), 1);
    EXPECT_EQ(pzrt_cuda_arena_alloc(dev, bytes, &ptr), 0) << pzrt_last_error();
    buffers.push_back(ptr);
    if (host && n) {
      EXPECT_EQ(pzrt_device_write(dev, ptr, host, n * sizeof(T)), 0) << pzrt_last_error();
    }
    return static_cast<T *>(ptr);
  }
  template <typename T> T *upload(const std::vector<T> &host) {
    return host.empty() ? nullptr : alloc<T>(host.size(), host.data());
  }
  template <typename T> std::vector<T> download(const T *ptr, size_t n) {
    std::vector<T> host(n);
    if (n) {
      EXPECT_EQ(pzrt_device_read(dev, host.data(), ptr, n * sizeof(T)), 0) << pzrt_last_error();
    }
    return host;
  }
};

} // namespace attn_test

#endif // PZRT_TEST_CUDA_ATTENTION_TEST_UTIL_H
