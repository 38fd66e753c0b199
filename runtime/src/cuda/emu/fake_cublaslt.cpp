// A host cuBLASLt for the CUDA emulator: the functions of
// src/cuda/cublaslt_fns.def, read from cublasLt.h and NVIDIA's cuBLASLt
// documentation (not from pzrt's GEMM), so that it checks pzrt's use of
// the API rather than repeating it.
//
// What it models: column-major matrices (CUBLASLT_ORDER_COL), op(A) and
// op(B) by TRANSA/TRANSB, leading dimensions, strided batches (BATCH_COUNT,
// STRIDED_BATCH_OFFSET; equal counts), alpha and beta as host f32 scalars
// (POINTER_MODE_HOST, scale type f32), CUBLAS_COMPUTE_32F with f32, bf16 or
// f16 A and B (same type) and C/D of f32 or A's type, and the epilogues
// DEFAULT, BIAS and GELU_BIAS (GELU's tanh form; the bias has BIAS_DATA_TYPE,
// by default D's type, one value per row of D, BIAS_BATCH_STRIDE apart).
// D = epilogue(alpha op(A) op(B) + beta C [+ bias]): the products summed in
// double and rounded once to fp32 (the compute type, CUBLAS_COMPUTE_32F),
// the epilogue (bias, then GELU) in fp32, then D's type; C is not read when
// beta is 0. Attributes are
// checked for their documented size (CUBLAS_STATUS_INVALID_VALUE);
// anything else is CUBLAS_STATUS_NOT_SUPPORTED, so that code relying on
// more than this fails here rather than passing on a wrong model.
#include "cuda/emu/emu.h"

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

struct Layout {
  uint32_t type;
  int32_t order = CUBLASLT_ORDER_COL;
  uint64_t rows, cols;
  int64_t ld;
  int32_t batch = 1;
  int64_t stride = 0;
};

struct Desc {
  int32_t compute, scale, pointerMode = CUBLASLT_POINTER_MODE_HOST;
  int32_t transa = CUBLAS_OP_N, transb = CUBLAS_OP_N, transc = CUBLAS_OP_N;
  uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  const void *bias = nullptr;
  int64_t biasStride = 0;
  int32_t biasType = -1; // -1: D's type
};

struct Pref {
  uint32_t searchMode = 0;
  uint64_t maxWorkspace = 0;
  uint32_t align[4] = {256, 256, 256, 256}; // A, B, C, D: 256 unless told
};

constexpr uint64_t kAlgoMagic = 0x707a656d75616c67ull; // marks algos made here

// An attribute: its place in the descriptor and its documented size.
struct Field {
  void *at;
  size_t bytes;
};

cublasStatus_t setField(Field f, const void *buf, size_t size) {
  if (!f.at)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (!buf || size != f.bytes)
    return CUBLAS_STATUS_INVALID_VALUE;
  std::memcpy(f.at, buf, size);
  return CUBLAS_STATUS_SUCCESS;
}

Field field(Layout &l, cublasLtMatrixLayoutAttribute_t attr) {
  switch (attr) {
  case CUBLASLT_MATRIX_LAYOUT_TYPE:
    return {&l.type, 4};
  case CUBLASLT_MATRIX_LAYOUT_ORDER:
    return {&l.order, 4};
  case CUBLASLT_MATRIX_LAYOUT_ROWS:
    return {&l.rows, 8};
  case CUBLASLT_MATRIX_LAYOUT_COLS:
    return {&l.cols, 8};
  case CUBLASLT_MATRIX_LAYOUT_LD:
    return {&l.ld, 8};
  case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT:
    return {&l.batch, 4};
  case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET:
    return {&l.stride, 8};
  default:
    return {nullptr, 0};
  }
}

Field field(Desc &d, cublasLtMatmulDescAttributes_t attr) {
  switch (attr) {
  case CUBLASLT_MATMUL_DESC_COMPUTE_TYPE:
    return {&d.compute, 4};
  case CUBLASLT_MATMUL_DESC_SCALE_TYPE:
    return {&d.scale, 4};
  case CUBLASLT_MATMUL_DESC_POINTER_MODE:
    return {&d.pointerMode, 4};
  case CUBLASLT_MATMUL_DESC_TRANSA:
    return {&d.transa, 4};
  case CUBLASLT_MATMUL_DESC_TRANSB:
    return {&d.transb, 4};
  case CUBLASLT_MATMUL_DESC_TRANSC:
    return {&d.transc, 4};
  case CUBLASLT_MATMUL_DESC_EPILOGUE:
    return {&d.epilogue, 4};
  case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
    return {&d.bias, sizeof(void *)};
  case CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE:
    return {&d.biasStride, 8};
  case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE:
    return {&d.biasType, 4};
  default:
    return {nullptr, 0};
  }
}

Field field(Pref &p, cublasLtMatmulPreferenceAttributes_t attr) {
  switch (attr) {
  case CUBLASLT_MATMUL_PREF_SEARCH_MODE:
    return {&p.searchMode, 4};
  case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES:
    return {&p.maxWorkspace, 8};
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES:
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES:
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES:
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES:
    return {&p.align[attr - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES], 4};
  default:
    return {nullptr, 0};
  }
}

size_t typeBytes(uint32_t t) { return t == CUDA_R_32F ? 4 : 2; }
bool isInput(uint32_t t) { return t == CUDA_R_32F || t == CUDA_R_16BF || t == CUDA_R_16F; }

double load(uint32_t type, const void *base, int64_t index) {
  switch (type) {
  case CUDA_R_16BF:
    return __bfloat162float(static_cast<const __nv_bfloat16 *>(base)[index]);
  case CUDA_R_16F:
    return __half2float(static_cast<const __half *>(base)[index]);
  default:
    return static_cast<const float *>(base)[index];
  }
}

void store(uint32_t type, void *base, int64_t index, double v) {
  switch (type) {
  case CUDA_R_16BF:
    // Through float: exact for every value a 16-bit type can round to
    // except at double-rounding ties, which an f32 accumulator has too.
    static_cast<__nv_bfloat16 *>(base)[index] = __float2bfloat16(static_cast<float>(v));
    break;
  case CUDA_R_16F:
    static_cast<__half *>(base)[index] = __float2half(static_cast<float>(v));
    break;
  default:
    static_cast<float *>(base)[index] = static_cast<float>(v);
  }
}

// The shape checks of cublasLtMatmul: op(A) is m x k, op(B) k x n, C and D
// m x n; every layout column-major with ld >= rows.
cublasStatus_t check(const Desc &d, const Layout &a, const Layout &b, const Layout &c,
                     const Layout &dl) {
  if (d.compute != CUBLAS_COMPUTE_32F || d.scale != CUDA_R_32F ||
      d.pointerMode != CUBLASLT_POINTER_MODE_HOST || d.transc != CUBLAS_OP_N)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (d.epilogue != CUBLASLT_EPILOGUE_DEFAULT && d.epilogue != CUBLASLT_EPILOGUE_BIAS &&
      d.epilogue != CUBLASLT_EPILOGUE_GELU_BIAS)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  for (const Layout *l : {&a, &b, &c, &dl})
    if (l->order != CUBLASLT_ORDER_COL)
      return CUBLAS_STATUS_NOT_SUPPORTED;
  if (!isInput(a.type) || b.type != a.type || c.type != dl.type ||
      (dl.type != CUDA_R_32F && dl.type != a.type))
    return CUBLAS_STATUS_NOT_SUPPORTED;
  const int32_t biasType = d.biasType == -1 ? static_cast<int32_t>(dl.type) : d.biasType;
  if (d.epilogue != CUBLASLT_EPILOGUE_DEFAULT && !isInput(static_cast<uint32_t>(biasType)))
    return CUBLAS_STATUS_NOT_SUPPORTED;
  const bool ta = d.transa != CUBLAS_OP_N, tb = d.transb != CUBLAS_OP_N;
  const uint64_t m = dl.rows, n = dl.cols, k = ta ? a.rows : a.cols;
  if ((ta ? a.cols : a.rows) != m || (tb ? b.rows : b.cols) != n || (tb ? b.cols : b.rows) != k ||
      c.rows != m || c.cols != n)
    return CUBLAS_STATUS_INVALID_VALUE;
  for (const Layout *l : {&a, &b, &c, &dl})
    if (l->ld < 0 || static_cast<uint64_t>(l->ld) < l->rows || l->batch < 1 || l->stride < 0)
      return CUBLAS_STATUS_INVALID_VALUE;
  if (a.batch != dl.batch || b.batch != dl.batch || c.batch != dl.batch)
    return CUBLAS_STATUS_INVALID_VALUE;
  return CUBLAS_STATUS_SUCCESS;
}

// The largest power of two (up to 256) that divides the address and, in a
// batch, the stride in bytes: what an algorithm may assume.
uint32_t alignmentOf(const void *p, const Layout &l) {
  uint64_t bits = reinterpret_cast<uintptr_t>(p) | 256;
  if (l.batch > 1)
    bits |= static_cast<uint64_t>(l.stride) * typeBytes(l.type);
  return static_cast<uint32_t>(bits & (~bits + 1));
}

void matmul(const Desc d, const Layout a, const Layout b, const Layout c, const Layout dl,
            float alpha, float beta, const void *pa, const void *pb, const void *pc, void *pd) {
  const bool ta = d.transa != CUBLAS_OP_N, tb = d.transb != CUBLAS_OP_N;
  const int64_t m = dl.rows, n = dl.cols, k = ta ? a.rows : a.cols;
  const uint32_t biasType = d.biasType == -1 ? dl.type : static_cast<uint32_t>(d.biasType);
  const bool bias = d.epilogue != CUBLASLT_EPILOGUE_DEFAULT;
  for (int64_t bi = 0; bi < dl.batch; ++bi) {
    const int64_t oa = bi * a.stride, ob = bi * b.stride, oc = bi * c.stride, od = bi * dl.stride;
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < m; ++i) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += load(a.type, pa, oa + (ta ? p + i * a.ld : i + p * a.ld)) *
                 load(b.type, pb, ob + (tb ? j + p * b.ld : p + j * b.ld));
        double ab = static_cast<double>(alpha) * acc;
        if (beta != 0.0f)
          ab += static_cast<double>(beta) * load(c.type, pc, oc + i + j * c.ld);
        // The epilogue works on the fp32 result of alpha op(A) op(B) + beta C
        // in the compute type (fp32): the bias added after alpha and beta,
        // then GELU's tanh form of that sum.
        float v = static_cast<float>(ab);
        if (bias)
          v += static_cast<float>(load(biasType, d.bias, bi * d.biasStride + i));
        if (d.epilogue == CUBLASLT_EPILOGUE_GELU_BIAS)
          v = 0.5f * v * (1.0f + std::tanh(0.7978845608f * (v + 0.044715f * v * v * v)));
        store(dl.type, pd, od + i + j * dl.ld, v);
      }
  }
}

template <class T> T *as(void *p) { return static_cast<T *>(p); }

} // namespace

extern "C" {

// A handle carries no state here: one static object serves them all (pzrt
// keeps its devices' handles for the life of the process).
cublasStatus_t cublasLtCreate(cublasLtHandle_t *handle) {
  static int context;
  if (!handle)
    return CUBLAS_STATUS_INVALID_VALUE;
  *handle = reinterpret_cast<cublasLtHandle_t>(&context);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  return handle ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}

#define PZ_EMU_STATUSES(X)                                                                         \
  X(CUBLAS_STATUS_SUCCESS, "success")                                                              \
  X(CUBLAS_STATUS_NOT_INITIALIZED, "the library was not initialized")                              \
  X(CUBLAS_STATUS_ALLOC_FAILED, "the resource allocation failed")                                  \
  X(CUBLAS_STATUS_INVALID_VALUE, "an invalid numeric value was used as an argument")               \
  X(CUBLAS_STATUS_EXECUTION_FAILED, "the GPU program failed to execute")                           \
  X(CUBLAS_STATUS_NOT_SUPPORTED, "the functionality requested is not supported")

const char *cublasLtGetStatusName(cublasStatus_t status) {
#define PZ_EMU_NAME(code, text)                                                                    \
  if (status == code)                                                                              \
    return #code;
  PZ_EMU_STATUSES(PZ_EMU_NAME)
#undef PZ_EMU_NAME
  return "CUBLAS_STATUS_UNKNOWN";
}

const char *cublasLtGetStatusString(cublasStatus_t status) {
#define PZ_EMU_STRING(code, text)                                                                  \
  if (status == code)                                                                              \
    return text;
  PZ_EMU_STATUSES(PZ_EMU_STRING)
#undef PZ_EMU_STRING
  return "unknown error";
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *desc, cublasComputeType_t compute,
                                        cudaDataType_t scale) {
  if (!desc)
    return CUBLAS_STATUS_INVALID_VALUE;
  Desc *d = new Desc;
  d->compute = compute;
  d->scale = scale;
  *desc = reinterpret_cast<cublasLtMatmulDesc_t>(d);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  delete reinterpret_cast<Desc *>(desc);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                                              cublasLtMatmulDescAttributes_t attr,
                                              const void *buf, size_t size) {
  if (!desc)
    return CUBLAS_STATUS_INVALID_VALUE;
  return setField(field(*reinterpret_cast<Desc *>(desc), attr), buf, size);
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *layout, cudaDataType type,
                                          uint64_t rows, uint64_t cols, int64_t ld) {
  if (!layout)
    return CUBLAS_STATUS_INVALID_VALUE;
  Layout *l = new Layout;
  l->type = type;
  l->rows = rows;
  l->cols = cols;
  l->ld = ld;
  *layout = reinterpret_cast<cublasLtMatrixLayout_t>(l);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  delete reinterpret_cast<Layout *>(layout);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t layout,
                                                cublasLtMatrixLayoutAttribute_t attr,
                                                const void *buf, size_t size) {
  if (!layout)
    return CUBLAS_STATUS_INVALID_VALUE;
  return setField(field(*reinterpret_cast<Layout *>(layout), attr), buf, size);
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref) {
  if (!pref)
    return CUBLAS_STATUS_INVALID_VALUE;
  *pref = reinterpret_cast<cublasLtMatmulPreference_t>(new Pref);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  delete reinterpret_cast<Pref *>(pref);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr,
                                                    const void *buf, size_t size) {
  if (!pref)
    return CUBLAS_STATUS_INVALID_VALUE;
  return setField(field(*reinterpret_cast<Pref *>(pref), attr), buf, size);
}

// One algorithm for every supported problem, needing no workspace. It
// remembers the alignments it was chosen for: cublasLtMatmul refuses
// matrices less aligned than that, as a real algorithm may not work then.
cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t pref, int requested,
                                              cublasLtMatmulHeuristicResult_t results[],
                                              int *returned) {
  if (!handle || !desc || !a || !b || !c || !d || !pref || requested < 1 || !results ||
      !returned)
    return CUBLAS_STATUS_INVALID_VALUE;
  *returned = 0;
  cublasStatus_t st = check(*as<Desc>(desc), *as<Layout>(a), *as<Layout>(b), *as<Layout>(c),
                            *as<Layout>(d));
  if (st != CUBLAS_STATUS_SUCCESS)
    return st;
  const Pref &p = *as<Pref>(pref);
  std::memset(&results[0], 0, sizeof results[0]);
  results[0].algo.data[0] = kAlgoMagic;
  for (int i = 0; i < 4; ++i)
    results[0].algo.data[1 + i] = p.align[i];
  results[0].workspaceSize = 0;
  results[0].state = CUBLAS_STATUS_SUCCESS;
  results[0].wavesCount = 1.0f;
  *returned = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                              const void *alpha, const void *A, cublasLtMatrixLayout_t adesc,
                              const void *B, cublasLtMatrixLayout_t bdesc, const void *beta,
                              const void *C, cublasLtMatrixLayout_t cdesc, void *D,
                              cublasLtMatrixLayout_t ddesc, const cublasLtMatmulAlgo_t *algo,
                              void *workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (!handle || !desc || !alpha || !beta || !adesc || !bdesc || !cdesc || !ddesc)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (workspaceBytes && !workspace)
    return CUBLAS_STATUS_INVALID_VALUE;
  const Desc d = *as<Desc>(desc);
  const Layout a = *as<Layout>(adesc), b = *as<Layout>(bdesc), c = *as<Layout>(cdesc),
               dl = *as<Layout>(ddesc);
  cublasStatus_t st = check(d, a, b, c, dl);
  if (st != CUBLAS_STATUS_SUCCESS)
    return st;
  const float al = *static_cast<const float *>(alpha), be = *static_cast<const float *>(beta);
  const int64_t m = dl.rows, n = dl.cols;
  if (m == 0 || n == 0)
    return CUBLAS_STATUS_SUCCESS;
  if (!A || !B || !D || (be != 0.0f && !C) ||
      (d.epilogue != CUBLASLT_EPILOGUE_DEFAULT && !d.bias))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (algo) {
    if (algo->data[0] != kAlgoMagic)
      return CUBLAS_STATUS_INVALID_VALUE;
    const void *ptrs[4] = {A, B, C ? C : D, D};
    const Layout *ls[4] = {&a, &b, &c, &dl};
    for (int i = 0; i < 4; ++i)
      if (alignmentOf(ptrs[i], *ls[i]) < algo->data[1 + i])
        return CUBLAS_STATUS_INVALID_VALUE;
  }
  // The work runs in stream order (or is captured into a graph).
  pz_emu::enqueue(stream, [=] { matmul(d, a, b, c, dl, al, be, A, B, C, D); });
  return CUBLAS_STATUS_SUCCESS;
}

} // extern "C"
