//===- checkpoint_seeds.cpp - seeds of the checkpoint fuzz target ---------===//
//
// Usage: pz-fuzz-checkpoint-seeds WORKDIR OUTDIR
// Writes checkpoints with the runtime's own writer into WORKDIR and packs
// each (index.json, kSplit of checkpoint.cpp, rank00000.safetensors) into a
// seed file in OUTDIR.
//
//===----------------------------------------------------------------------===//

#include "pzrt/checkpoint.h"
#include "pzrt/error.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Entry {
  std::string name;
  pzrt_dtype dtype;
  std::vector<int64_t> shape, offsets, extents;
};

bool write(const std::string &work, const std::string &out, const std::string &seed,
           const std::vector<Entry> &entries, const char *plan, const char *extra) {
  std::string dir = work + "/" + seed;
  pzrt_ckpt_writer *w = pzrt_ckpt_writer_create(dir.c_str(), nullptr);
  std::vector<std::vector<unsigned char>> buffers;
  for (const Entry &e : entries) {
    const std::vector<int64_t> &ext = e.extents.empty() ? e.shape : e.extents;
    size_t n = pzrt_dtype_size(e.dtype);
    for (int64_t d : ext)
      n *= static_cast<size_t>(d);
    buffers.emplace_back(n);
    for (size_t i = 0; i < n; ++i)
      buffers.back()[i] = static_cast<unsigned char>(i * 37 + 11);
    if (pzrt_ckpt_writer_add(w, e.name.c_str(), e.dtype, static_cast<int>(e.shape.size()),
                             e.shape.data(), e.offsets.empty() ? nullptr : e.offsets.data(),
                             e.extents.empty() ? nullptr : e.extents.data(),
                             buffers.back().data())) {
      std::fprintf(stderr, "%s: %s\n", seed.c_str(), pzrt_last_error());
      return false;
    }
  }
  pzrt_ckpt_info info = {42, plan, 1234, 42, 6400, extra};
  if (pzrt_ckpt_writer_commit(w, &info)) {
    std::fprintf(stderr, "%s: %s\n", seed.c_str(), pzrt_last_error());
    return false;
  }
  pzrt_ckpt_writer_destroy(w);
  std::ofstream(out + "/" + seed, std::ios::binary)
      << slurp(dir + "/index.json") << "\n--pz-fuzz-rank-file--\n"
      << slurp(dir + "/rank00000.safetensors");
  return true;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s WORKDIR OUTDIR\n", argv[0]);
    return 2;
  }
  std::string work = argv[1], out = argv[2];
  bool ok = true;
  ok &= write(work, out, "one-f32", {{"w", PZRT_F32, {4, 3}, {}, {}}}, nullptr, nullptr);
  ok &= write(work, out, "mixed",
              {{"embed.weight", PZRT_F32, {8, 4}, {}, {}},
               {"ids", PZRT_I64, {5}, {}, {}},
               {"scale", PZRT_F32, {}, {}, {}},
               {"half", PZRT_F16, {2, 2, 2}, {}, {}},
               {"bytes", PZRT_U8, {3}, {}, {}},
               {"empty", PZRT_F32, {0, 4}, {}, {}}},
              "{\"dp_replicate\": 1, \"tp\": 1}", "{\"optimizer\": \"adamw\", \"t\": 42}");
  ok &= write(work, out, "bf16-i32",
              {{"a", PZRT_BF16, {6}, {}, {}}, {"b", PZRT_I32, {2, 3}, {}, {}}}, "{}", "{}");
  return ok ? 0 : 1;
}
