//===- checkpoint.cpp - libFuzzer target: the runtime's checkpoint loader -===//
//
// Input: index.json, the separator line kSplit, then rank00000.safetensors
// (no separator: index.json alone). Both go into a fresh checkpoint
// directory, which pzrt_ckpt_open reads (train --load). Every tensor of an
// accepted index is then loaded whole and in two halves along its first
// dimension; a load may fail with a message (a bad rank file), but never
// read or write outside its buffers, and the halves must give the whole.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "pzrt/checkpoint.h"
#include "pzrt/error.h"

#include <cstring>
#include <vector>

#include <sys/stat.h>

static constexpr std::string_view kSplit = "\n--pz-fuzz-rank-file--\n";
// Tensors larger than this are not loaded (the harness would need the memory).
static constexpr int64_t kMaxElems = int64_t(1) << 20;

static bool numel(const int64_t *shape, int ndim, int64_t &n) {
  n = 1;
  for (int d = 0; d < ndim; ++d)
    if (shape[d] < 0 || __builtin_mul_overflow(n, shape[d], &n))
      return false;
  return true;
}

static void loadAll(pzrt_ckpt *ck) {
  int count = pzrt_ckpt_num_tensors(ck);
  for (int i = 0; i < count; ++i) {
    const char *name = pzrt_ckpt_tensor_name(ck, i);
    if (!name)
      pzfuzz::invariant("tensor index without a name");
    pzrt_dtype dtype;
    int ndim = -1;
    int64_t shape[PZRT_CKPT_MAX_DIMS];
    if (pzrt_ckpt_tensor_info(ck, name, &dtype, &ndim, shape))
      pzfuzz::invariant("listed tensor has no info", name);
    if (ndim < 0 || ndim > PZRT_CKPT_MAX_DIMS)
      pzfuzz::invariant("tensor rank out of range", name);
    int64_t n;
    if (!numel(shape, ndim, n))
      pzfuzz::invariant("accepted tensor whose element count overflows", name);
    if (n > kMaxElems)
      continue;
    size_t elem = pzrt_dtype_size(dtype);
    std::vector<unsigned char> whole(static_cast<size_t>(n) * elem + 1);
    pzrt_clear_error();
    if (pzrt_ckpt_load(ck, name, dtype, ndim, shape, nullptr, nullptr, whole.data())) {
      if (!*pzrt_last_error())
        pzfuzz::invariant("load failed without a message", name);
      continue;
    }
    if (ndim == 0 || shape[0] < 2)
      continue;
    // The two halves along dim 0, loaded separately, give the whole tensor.
    std::vector<int64_t> off(ndim, 0), ext(shape, shape + ndim);
    size_t rowBytes = static_cast<size_t>(n / shape[0]) * elem;
    std::vector<unsigned char> half(whole.size());
    int64_t first = shape[0] / 2;
    ext[0] = first;
    if (pzrt_ckpt_load(ck, name, dtype, ndim, shape, off.data(), ext.data(), half.data()))
      pzfuzz::invariant("loading the first half failed after the whole loaded", pzrt_last_error());
    off[0] = first;
    ext[0] = shape[0] - first;
    if (pzrt_ckpt_load(ck, name, dtype, ndim, shape, off.data(), ext.data(),
                       half.data() + static_cast<size_t>(first) * rowBytes))
      pzfuzz::invariant("loading the second half failed after the whole loaded", pzrt_last_error());
    if (std::memcmp(half.data(), whole.data(), static_cast<size_t>(n) * elem) != 0)
      pzfuzz::invariant("the halves differ from the whole", name);
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string dir = [] {
    std::string d = pzfuzz::tempDir() + "/ckpt";
    ::mkdir(d.c_str(), 0700);
    return d;
  }();
  std::string_view in(reinterpret_cast<const char *>(data), size);
  size_t split = in.find(kSplit);
  pzfuzz::writeFile(dir + "/index.json", in.substr(0, split));
  std::string rank = dir + "/rank00000.safetensors";
  if (split == std::string_view::npos)
    ::unlink(rank.c_str());
  else
    pzfuzz::writeFile(rank, in.substr(split + kSplit.size()));

  pzrt_clear_error();
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  if (!ck) {
    if (!*pzrt_last_error())
      pzfuzz::invariant("pzrt_ckpt_open failed without a message");
    return 0;
  }
  pzrt_ckpt_info info;
  pzrt_ckpt_get_info(ck, &info);
  if (!info.plan_json || !info.extra_json)
    pzfuzz::invariant("checkpoint info without plan or extra JSON");
  loadAll(ck);
  pzrt_ckpt_close(ck);
  return 0;
}
