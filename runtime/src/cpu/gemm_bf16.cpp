// pzrt_gemm_bf16: bf16 GEMMs through oneDNN when it loads, else through
// fp32 copies and OpenBLAS (docs/design/0022).
//
// oneDNN is opened at run time (dlopen), not linked: a compiled program runs
// where it is not installed, and only bf16 programs ever open it. Its gemm
// runs on OpenMP threads, whose count pzrt_blas_set_threads sets with
// OpenBLAS's (--threads), on the thread that calls the GEMM.
#include "pzrt/kernels.h"
#include "pzrt/types.h"

#include "core/internal.h"
#include "cpu/blas_threads.h"

#include <cstdlib>
#include <string>
#include <dlfcn.h>
#include <mutex>

using pzrt::fail;

namespace {

// dnnl_gemm_bf16bf16f32, which libdnnl.so.2 exports beside dnnl_sgemm but
// whose declaration is not in oneDNN 2.x's public dnnl.h: row-major (as
// dnnl_sgemm: it swaps A and B onto its column-major core), 'N'/'T',
// dnnl_dim_t = int64_t, bf16 as uint16_t; returns dnnl_status_t (0:
// success). The 1 x 1 x 1 probe below guards against another signature.
using DnnlGemmBf16 = int (*)(char, char, int64_t, int64_t, int64_t, float, const uint16_t *,
                             int64_t, const uint16_t *, int64_t, float, float *, int64_t);
using OmpSetThreads = void (*)(int);

constexpr const char *kLibrary = "libdnnl.so.2";

struct Path {
  std::once_flag once;
  bool valid = false;
  DnnlGemmBf16 gemm = nullptr; // null: the fp32 path
  OmpSetThreads setThreads = nullptr;
  std::string error;
};

Path &path() {
  static Path *p = new Path(); // never destroyed: GEMMs may run during exit
  return *p;
}

void choose(Path &p) {
  using pzrt::cpu::Bf16GemmMode;
  Bf16GemmMode mode = pzrt::cpu::bf16GemmMode(p.error);
  if (mode == Bf16GemmMode::Invalid)
    return;
  p.valid = true;
  if (mode == Bf16GemmMode::Fp32)
    return;
  const char *env = std::getenv("PZRT_DNNL_LIBRARY");
  const std::string file = env && *env ? env : kLibrary;
  void *lib = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  auto gemm = lib ? reinterpret_cast<DnnlGemmBf16>(dlsym(lib, "dnnl_gemm_bf16bf16f32")) : nullptr;
  // oneDNN returns dnnl_unimplemented where the CPU lacks what its bf16 gemm
  // needs: ask once, on a 1 x 1 x 1 product.
  uint16_t one = 0x3f80; // 1.0
  float out = 0;
  bool works = gemm && gemm('N', 'N', 1, 1, 1, 1.0f, &one, 1, &one, 1, 0.0f, &out, 1) == 0 &&
               out == 1.0f;
  if (!works) {
    if (mode == Bf16GemmMode::OneDnn) {
      p.valid = false;
      p.error = std::string("PZRT_CPU_BF16_GEMM=onednn, but ") +
                (!lib ? "dlopen(" + file + ") failed: " + dlerror()
                      : !gemm ? file + " has no dnnl_gemm_bf16bf16f32"
                              : std::string("oneDNN's bf16 gemm does not run on this CPU"));
    }
    return;
  }
  p.gemm = gemm;
  // libgomp is among oneDNN's dependencies, so the handle finds it.
  p.setThreads = reinterpret_cast<OmpSetThreads>(dlsym(lib, "omp_set_num_threads"));
}

Path *ready() {
  Path &p = path();
  std::call_once(p.once, [&] { choose(p); });
  if (!p.valid) {
    fail("gemm_bf16: %s", p.error.c_str());
    return nullptr;
  }
  return &p;
}

} // namespace

extern "C" {

const char *pzrt_gemm_bf16_path(void) {
  Path *p = ready();
  return !p ? nullptr : p->gemm ? "oneDNN" : "fp32";
}

int pzrt_gemm_bf16(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb, float beta,
                   float *c, int64_t ldc, float *a_scratch, int64_t a_count, float *b_scratch,
                   int64_t b_count) {
  // The argument checks of pzrt_sgemm (null pointers, strides), on A and B
  // as they are stored.
  if (pzrt::checkGemmArgs("gemm_bf16", trans_a, trans_b, m, n, k,
                          reinterpret_cast<const float *>(a), lda,
                          reinterpret_cast<const float *>(b), ldb, c, ldc))
    return -1;
  Path *p = ready();
  if (!p)
    return -1;
  if (m == 0 || n == 0)
    return 0;
  if (p->gemm) {
    thread_local int threadsSet = 0;
    int want = pzrt::cpu::bf16GemmThreads();
    if (want > 0 && want != threadsSet && p->setThreads) {
      p->setThreads(want);
      threadsSet = want;
    }
    int status = p->gemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                         beta, c, ldc);
    if (status != 0)
      return fail("gemm_bf16: oneDNN's dnnl_gemm_bf16bf16f32 failed (status %d) on %lld x %lld "
                  "x %lld",
                  status, (long long)m, (long long)n, (long long)k);
    return 0;
  }
  if (!a_scratch || !b_scratch || a_count < 0 || b_count < 0)
    return fail("gemm_bf16: the fp32 path needs scratch for A and B");
  if (pzrt_widen_to_f32(PZRT_BF16, a, a_scratch, a_count) != 0 ||
      (b != a && pzrt_widen_to_f32(PZRT_BF16, b, b_scratch, b_count) != 0))
    return -1;
  return pzrt_sgemm(trans_a, trans_b, m, n, k, alpha, a_scratch, lda,
                    b == a ? a_scratch : b_scratch, ldb, beta, c, ldc);
}

} // extern "C"
