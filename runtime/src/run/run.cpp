// pzrt_run_main: one compiled function on .npy inputs and outputs.
#include "pzrt/run.h"

#include "core/checked.h"
#include "core/device.h"
#include "io/fsutil.h"
#include "pzrt/arena.h"
#include "pzrt/data.h"
#include "pzrt/error.h"
#include "pzrt/exec.h"
#include "pzrt/kernels.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

int usage(const char *prog) {
  std::fprintf(stderr, "usage: %s --input NAME=FILE.npy ... --output-dir DIR\n", prog);
  return 2;
}

// The byte size of a tensor of the function's description; false when its
// shape is invalid or the size overflows.
bool specBytes(const pzrt_tensor_spec &s, size_t &out) {
  int64_t b = 0;
  if (s.ndim < 0 || s.ndim > PZRT_MAX_DIMS ||
      !pzrt::checkedBytes(s.shape, static_cast<size_t>(s.ndim), pzrt_dtype_size(s.dtype), b))
    return false;
  out = static_cast<size_t>(b);
  return true;
}

std::string shapeStr(int ndim, const int64_t *shape) {
  std::string s = "[";
  for (int i = 0; i < ndim; ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// What one run holds: its buffers (counted allocations, from the hooks'
// allocator when there is one), the arena, and a device's streams. The
// device finishes its work before any of them is freed.
struct RunState {
  pzrt_device *device = nullptr;
  const pzrt_mem_allocator *prevAllocator = nullptr;
  bool allocatorSet = false;
  std::vector<void *> owned;
  pzrt_arena *arena = nullptr;
  std::vector<pzrt_stream *> streams;
  RunState() = default;
  RunState(const RunState &) = delete;
  RunState &operator=(const RunState &) = delete;
  ~RunState() {
    if (device && pzrt_device_synchronize(device) != 0)
      std::fprintf(stderr, "error: %s\n", pzrt_last_error());
    for (pzrt_stream *st : streams)
      pzrt_stream_destroy(st);
    pzrt_arena_destroy(arena);
    for (void *p : owned)
      pzrt_mem_free(p);
    if (allocatorSet)
      pzrt_mem_set_allocator(prevAllocator);
  }
  void *alloc(size_t bytes) {
    void *p = pzrt_mem_alloc(bytes, PZRT_MEM_DATA);
    if (p)
      owned.push_back(p);
    return p;
  }
  // Opens the hooks' device (after the arguments were checked: --help and
  // usage errors need none), its allocator and its two streams.
  int open(const pzrt_device_hooks *hooks) {
    if (!hooks)
      return 0;
    if (hooks->open_device) {
      pzrt_clear_error();
      device = hooks->open_device(hooks->user);
      if (!device)
        return -1;
    }
    if (hooks->allocator) {
      prevAllocator = pzrt_mem_set_allocator(hooks->allocator);
      allocatorSet = true;
    }
    for (int i = 0; device && i < 2; ++i) {
      pzrt_stream *st = pzrt_stream_create(device);
      if (!st)
        return -1;
      streams.push_back(st);
    }
    return 0;
  }
};

} // namespace

extern "C" int pzrt_npy_write(const char *path, pzrt_dtype dtype, int ndim, const int64_t *shape,
                              const void *data, int as_bool) {
  const char *descr = nullptr;
  switch (dtype) {
  case PZRT_F32: descr = "<f4"; break;
  case PZRT_F64: descr = "<f8"; break;
  case PZRT_F16: descr = "<f2"; break;
  case PZRT_BF16: // numpy has no bfloat16: the raw bits, as onnx stores them
  case PZRT_U16: descr = "<u2"; break;
  case PZRT_I32: descr = "<i4"; break;
  case PZRT_I64: descr = "<i8"; break;
  case PZRT_U8: descr = as_bool ? "|b1" : "|u1"; break;
  case PZRT_U32: descr = "<u4"; break;
  case PZRT_U64: descr = "<u8"; break;
  case PZRT_I8: descr = "|i1"; break;
  case PZRT_I16: descr = "<i2"; break;
  default: return pzrt_set_error("npy_write '%s': unsupported dtype", path);
  }
  std::string shp = "(";
  int64_t dataBytes = 0;
  if (ndim < 0 || (ndim > 0 && !shape) ||
      !pzrt::checkedBytes(shape, static_cast<size_t>(ndim), pzrt_dtype_size(dtype), dataBytes))
    return pzrt_set_error("npy_write '%s': invalid shape or a size that overflows", path);
  for (int i = 0; i < ndim; ++i)
    shp += std::to_string(shape[i]) + (ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
  shp += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " +
                       shp + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  FILE *f = std::fopen(path, "wb");
  if (!f)
    return pzrt_set_error("npy_write: cannot create '%s'", path);
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                           static_cast<unsigned char>(header.size() & 0xff),
                           static_cast<unsigned char>(header.size() >> 8)};
  size_t bytes = static_cast<size_t>(dataBytes);
  bool ok = std::fwrite(pre, 1, 10, f) == 10 &&
            std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
            (bytes == 0 || std::fwrite(data, 1, bytes, f) == bytes);
  ok = std::fclose(f) == 0 && ok;
  return ok ? 0 : pzrt_set_error("npy_write: writing '%s' failed", path);
}

extern "C" int pzrt_run_main(const pzrt_function *fn, int argc, char **argv) {
  return pzrt_run_main_on(fn, argc, argv, nullptr);
}

extern "C" int pzrt_run_main_on(const pzrt_function *fn, int argc, char **argv,
                                const pzrt_device_hooks *hooks) {
  std::map<std::string, std::string> inputs;
  std::string outDir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--input" || a == "--output-dir") && i + 1 >= argc) {
      std::fprintf(stderr, "error: %s needs a value\n", a.c_str());
      return 2;
    }
    if (a == "--input") { // repeatable, once per argument name
      std::string v = argv[++i];
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::fprintf(stderr, "error: --input '%s': expected NAME=FILE.npy\n", v.c_str());
        return 2;
      }
      if (!inputs.emplace(v.substr(0, eq), v.substr(eq + 1)).second) {
        std::fprintf(stderr, "error: --input: argument '%s' is given twice\n",
                     v.substr(0, eq).c_str());
        return 2;
      }
    } else if (a == "--output-dir") {
      if (!outDir.empty()) {
        std::fprintf(stderr, "error: --output-dir is given twice\n");
        return 2;
      }
      outDir = argv[++i];
      if (outDir.empty()) {
        std::fprintf(stderr, "error: --output-dir needs a directory name\n");
        return 2;
      }
    } else if (a == "--help" || a == "-h") {
      usage(argv[0]);
      return 0;
    } else {
      std::fprintf(stderr, "error: unknown option '%s'\n", a.c_str());
      return usage(argv[0]);
    }
  }
  if (outDir.empty())
    return usage(argv[0]);
  if (pzrt_cpu_prepare_env() != 0) {
    std::fprintf(stderr, "error: %s\n", pzrt_last_error());
    return 2;
  }
  if (pzrt::makeDirs(outDir) != 0) {
    std::fprintf(stderr, "error: --output-dir: %s\n", pzrt_last_error());
    return 2;
  }
  RunState state;
  if (state.open(hooks) != 0) {
    std::fprintf(stderr, "error: %s\n", pzrt_last_error());
    return 1;
  }
  std::vector<void *> args(fn->num_args), results(fn->num_results);
  for (int i = 0; i < fn->num_args; ++i) {
    const pzrt_tensor_spec &s = fn->args[i];
    auto it = inputs.find(s.name);
    if (it == inputs.end()) {
      std::fprintf(stderr, "error: no --input for argument '%s' %s\n", s.name,
                   shapeStr(s.ndim, s.shape).c_str());
      return 2;
    }
    pzrt_npy *a = pzrt_npy_open(it->second.c_str());
    if (!a) {
      std::fprintf(stderr, "error: %s\n", pzrt_last_error());
      return 2;
    }
    bool shapeOk = pzrt_npy_ndim(a) == s.ndim;
    for (int d = 0; shapeOk && d < s.ndim; ++d)
      shapeOk = pzrt_npy_shape(a)[d] == s.shape[d];
    pzrt_dtype fileType = pzrt_npy_dtype(a);
    bool typeOk = fileType == s.dtype || (s.dtype == PZRT_BF16 && fileType == PZRT_U16);
    if (!typeOk || !shapeOk) {
      std::fprintf(stderr, "error: '%s': argument '%s' needs %s %s, the file has %s %s\n",
                   it->second.c_str(), s.name, pzrt_dtype_name(s.dtype),
                   shapeStr(s.ndim, s.shape).c_str(), pzrt_dtype_name(pzrt_npy_dtype(a)),
                   shapeStr(pzrt_npy_ndim(a), pzrt_npy_shape(a)).c_str());
      pzrt_npy_close(a);
      return 2;
    }
    size_t bytes = 0;
    if (!specBytes(s, bytes)) {
      std::fprintf(stderr, "error: argument '%s' %s: its size overflows\n", s.name,
                   shapeStr(s.ndim, s.shape).c_str());
      pzrt_npy_close(a);
      return 1;
    }
    args[i] = state.alloc(bytes);
    if (!args[i]) {
      std::fprintf(stderr, "error: argument '%s': %s\n", s.name, pzrt_last_error());
      pzrt_npy_close(a);
      return 1;
    }
    // Through the device (plain device memory on CUDA; memcpy on the CPU).
    if (pzrt_device_write(state.device, args[i], pzrt_npy_data(a), bytes) != 0) {
      std::fprintf(stderr, "error: argument '%s': %s\n", s.name, pzrt_last_error());
      pzrt_npy_close(a);
      return 1;
    }
    pzrt_npy_close(a);
  }
  for (int i = 0; i < fn->num_results; ++i) {
    const pzrt_tensor_spec &s = fn->results[i];
    size_t bytes = 0;
    if (!specBytes(s, bytes)) {
      std::fprintf(stderr, "error: result '%s' %s: its size overflows\n", s.name,
                   shapeStr(s.ndim, s.shape).c_str());
      return 1;
    }
    results[i] = state.alloc(bytes);
    if (!results[i]) {
      std::fprintf(stderr, "error: result '%s': %s\n", s.name, pzrt_last_error());
      return 1;
    }
  }
  pzrt_arena *arena = state.arena = pzrt_arena_create(fn->arena_bytes, fn->arena_planned_peak);
  if (!arena) {
    std::fprintf(stderr, "error: %s\n", pzrt_last_error());
    return 1;
  }
  pzrt_step_ctx ctx{};
  ctx.arena = arena;
  ctx.arena_base = static_cast<char *>(pzrt_arena_base(arena));
  ctx.step = 1;
  ctx.device = state.device; // NULL on the CPU, as before
  ctx.num_streams = static_cast<int32_t>(state.streams.size());
  ctx.streams = state.streams.empty() ? nullptr : state.streams.data();
  // pzrt_device_check: a device-side check of the function failed.
  if (fn->fn(&ctx, args.data(), results.data()) != 0 ||
      (state.device && pzrt_device_check(state.device) != 0)) {
    std::fprintf(stderr, "error: %s: %s\n", fn->name, pzrt_last_error());
    return 1;
  }
  // The results are read by the host below.
  if (state.device && pzrt_device_synchronize(state.device) != 0) {
    std::fprintf(stderr, "error: %s: %s\n", fn->name, pzrt_last_error());
    return 1;
  }
  int rc = 0;
  if (pzrt_arena_peak(arena) != fn->arena_planned_peak) {
    std::fprintf(stderr, "error: measured arena peak %zu bytes != planned %llu bytes\n",
                 pzrt_arena_peak(arena), static_cast<unsigned long long>(fn->arena_planned_peak));
    rc = 1;
  }
  for (int i = 0; i < fn->num_results && rc == 0; ++i) {
    const pzrt_tensor_spec &s = fn->results[i];
    std::string file = s.name;
    for (char &c : file)
      if (c == '/')
        c = '_';
    std::string path = outDir + "/" + file + ".npy";
    int asBool = !fn->bool_results || fn->bool_results[i];
    // A host copy of a device's result (the result itself on the CPU).
    const void *host = results[i];
    std::vector<unsigned char> copy;
    if (state.device && state.device->ops) {
      size_t bytes = 0;
      specBytes(s, bytes); // checked when it was allocated
      copy.resize(bytes);
      if (pzrt_device_read(state.device, copy.data(), results[i], bytes) != 0) {
        std::fprintf(stderr, "error: result '%s': %s\n", s.name, pzrt_last_error());
        rc = 1;
        break;
      }
      host = copy.data();
    }
    if (pzrt_npy_write(path.c_str(), s.dtype, s.ndim, s.shape, host, asBool) != 0) {
      std::fprintf(stderr, "error: %s\n", pzrt_last_error());
      rc = 1;
    }
  }
  return rc;
}
