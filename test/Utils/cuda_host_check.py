"""Runs the CUDA backend's element kernels on the host and compares them,
exactly, with the CPU backend's compiled program.

usage: cuda_host_check.py [--emulate "LINK FLAGS"] [--tol NAME=ATOL ...] IR.mlir KERNELS.cu
                          CPU_RUN_DIR WORK_DIR NAME=x.npy ...

IR.mlir is the pzrt-level module (parallelize compile --dump-ir, after
pzrt-plan-memory) whose @forward dispatches kernels on its own arguments
only; KERNELS.cu is parallelize-translate --pzrt-kernels-to-cuda of it. A
harness (compiled by nvcc, run on the host: no GPU) calls every kernel's
`_at` function for every i, in dispatch order, on host buffers; the CPU
program (CPU_RUN_DIR/run) runs on the same .npy inputs. Each output must
be equal bit for bit (NaN equal to any NaN). Prints "exact NAME N" per output.

The launchers' PZ_LAUNCH lines give the order and arguments; a launcher
that calls the runtime (GEMM, norms, ...) cannot run here and is refused.
Every gather-form kernel (element maps, shape ops, reductions, cumsum,
scatter-adds) sums in the CPU backend's order and type (scatter-adds run
in index order on the host), so no output needs a tolerance; a kernel
that sets its error flag fails the harness (exit 3).

--emulate runs the launchers themselves instead, compiled by g++ with
-DPZ_CUDA_EMULATE and linked with LINK FLAGS (the emulator's libraries):
device buffers on the emulated CUDA device, PZ_LAUNCH, the compute stream,
the flags' reads, the GEMMs (the emulator's cuBLASLt). An error of a
launcher fails it (exit 4). --tol NAME=ATOL compares output NAME within
ATOL instead ("close NAME N"), for what sums in another order than the
CPU (a GEMM): the caller writes the bound and its reason. --random SEED
draws every input and parameter not given (integers in [0, 8), floats
N(0, 0.01)).
"""
import os
import re
import subprocess
import sys

import numpy as np

argv = sys.argv[1:]
emulate = None
tolerance = {}  # output name -> absolute tolerance (instead of equality)
random_seed = None  # inputs and parameters without a NAME=x.npy: drawn
while argv and argv[0] in ("--emulate", "--tol", "--random"):
    if argv[0] == "--emulate":
        emulate = argv[1].split()
    elif argv[0] == "--random":
        random_seed = int(argv[1])
    else:
        name, atol = argv[1].split("=")
        tolerance[name] = float(atol)
    argv = argv[2:]
ir_path, cu_path, cpu_dir, work = argv[:4]
inputs = dict(a.split("=", 1) for a in argv[4:])
os.makedirs(work, exist_ok=True)
ir = open(ir_path).read()
cu = open(cu_path).read()

DT = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "i64": np.int64,
      "i32": np.int32, "i1": np.uint8, "i8": np.int8, "bf16": None}

# @forward's arguments: %argN -> (name, shape, dtype, is_output)
sig = re.search(r"func\.func @forward\((.*?)\)\s*(attributes|\{)", ir).group(1)
args = {}
# (parameters are inputs of the `run` program too)
for m in re.finditer(r"(%arg\d+): memref<([0-9x]*)x?([a-z]+\d+)>\s*\{pz\.(input|output|param) = \"([^\"]+)\"", sig):
    shape = [int(s) for s in m.group(2).split("x") if s]
    args[m.group(1)] = (m.group(5), shape, m.group(3), m.group(4) == "output")
fwd = ir[ir.index("func.func @forward"):ir.index("module @kernels")]
# Intermediate buffers (views of the arena): one host buffer each.
n_args = len(args)
for m in re.finditer(r"(%\w+) = memref\.view .* to memref<([0-9x]*)x?([a-z]+\d+)>", fwd):
    shape = [int(s) for s in m.group(2).split("x") if s]
    args[m.group(1)] = ("", shape, m.group(3), False)
# On the emulated device the buffers are the memory plan's: views at their
# byte offsets in one arena, reshapes (reinterpret_cast) aliasing their
# source, constants the .cu's __device__ arrays.
index = {m.group(1): int(m.group(2))
         for m in re.finditer(r"(%\w+) = arith\.constant (\d+) : index", fwd)}
arena = re.search(r"(%\w+) = pzrt\.arena : memref<(\d+)xi8>", fwd)
device_ptr = {a: f"buf{k}" for k, a in enumerate(sorted(
    [a for a in args if a.startswith("%arg")], key=lambda a: int(a[4:])))}
for m in re.finditer(r"(%\w+) = (memref\.view (%\w+)\[(%\w+)\]|memref\.reinterpret_cast (%\w+) "
                     r"to offset: \[(\d+)\]|memref\.get_global @(\w+))", fwd):
    if m.group(3):
        device_ptr[m.group(1)] = f"((char *)arena + {index[m.group(4)]})"
    elif m.group(5):
        assert m.group(6) == "0" and m.group(5) in device_ptr, m.group(0)
        device_ptr[m.group(1)] = device_ptr[m.group(5)]
    else:
        device_ptr[m.group(1)] = f"pz_device_symbol(pzg_{m.group(7)}, \"pzg_{m.group(7)}\")"
dispatches = []
for m in re.finditer(r"pzrt\.dispatch @kernels::@(\w+)\(([^:]*):[^)]*\)(?:\s*outs\(([^:]*):[^)]*\))?"
                     r"(?:\s*workspace\(([^:]*):)?", fwd):
    vals = [v.strip() for v in m.group(2).split(",") if v.strip()]
    vals += [v.strip() for v in (m.group(3) or "").split(",") if v.strip()]
    vals += [v.strip() for v in (m.group(4) or "").split(",") if v.strip()]
    for v in vals:
        assert v in (device_ptr if emulate is not None else args), \
            f"dispatch of {m.group(1)} on {v}, not an argument of @forward"
    dispatches.append((m.group(1), vals))
assert dispatches, "no dispatch"

order = sorted(args, key=lambda a: (not a.startswith("%arg"), int(a[4:]) if a.startswith("%arg") else a))
slot = {a: k for k, a in enumerate(order)}


def sizes(a):
    name, shape, dt, out = args[a]
    n = int(np.prod(shape)) if shape else 1
    return name, out, np.dtype(DT[dt] or np.uint16).itemsize * n


def gather_harness():
    """Every kernel's _at for every i, in order, on host buffers (nvcc)."""
    lines = ['#include "%s"' % os.path.abspath(cu_path), "#include <cstdio>", "#include <vector>",
             "// The launchers are compiled, never called here: stubs of the runtime.",
             'extern "C" void *pzrt_cuda_compute_stream(pzrt_step_ctx *) { return nullptr; }',
             'extern "C" int pzrt_set_error(const char *, ...) { return -1; }',
             'extern "C" const char *pzrt_last_error(void) { return ""; }',
             'extern "C" int pzrt_device_read(pzrt_device *, void *, const void *, size_t) { return -1; }',
             'extern "C" int *pzrt_cuda_check_word(pzrt_step_ctx *, const char *, int *) { return nullptr; }',
             'extern "C" int pzrt_cuda_uncapturable(pzrt_step_ctx *, const char *) { return -1; }',
             'extern "C" int pzrt_cuda_launched(const char *) { return -1; }',
             "int main(int argc, char **argv) {",
             "  // The check word (an index out of range, a zero divisor): pz_flag.",
             "  int pz_bad_value = PZ_CHECK_NONE, *pz_bad = &pz_bad_value, pz_check_id = 1;"]
    for k, a in enumerate(order):
        name, out, size = sizes(a)
        lines.append(f"  std::vector<char> buf{k}({max(size, 1)});")
        if not out and name:
            lines.append(f'  {{ FILE *f = fopen("{work}/{name}.bin", "rb"); if (!f || fread(buf{k}.data(), 1, {size}, f) != {size}) return 2; fclose(f); }}')
    for kname, vals in dispatches:
        launcher = re.search(r"static int pzk_%s\(.*?\n\}\n" % kname, cu, re.S)
        assert launcher, f"no launcher pzk_{kname}"
        lines.append("  { void *const b[] = {%s};" % ", ".join(f"buf{slot[v]}.data()" for v in vals))
        launches = list(re.finditer(r"PZ_LAUNCH\(\d+, 256, 0, stream, (pzk_\w+)_kernel\)"
                                    r"\(INT64_C\((\d+)\)(.*)\);\n", launcher.group(0)))
        assert launches, f"no launch in pzk_{kname}"
        # Everything else a launcher does (runtime calls) has no host form here.
        body = launcher.group(0)
        for l in launches:
            body = body.replace(l.group(0), "")
        assert not re.search(r"pzrt_cuda_(?!compute_stream|check_word|launched)|cudaMemcpy", body), \
            f"pzk_{kname} calls the runtime: not checkable on the host"
        for l in launches:
            lines.append(f"    for (int64_t i = 0; i < {l.group(2)}; ++i) {l.group(1)}_at(i{l.group(3)});")
        lines.append("  }")
    for k, a in enumerate(order):
        name, out, size = sizes(a)
        if out:
            lines.append(f'  {{ FILE *f = fopen("{work}/{name}.out.bin", "wb"); fwrite(buf{k}.data(), 1, buf{k}.size(), f); fclose(f); }}')
    lines += ['  if (pz_bad_value != PZ_CHECK_NONE) { fprintf(stderr, "a kernel set its error flag\\n"); return 3; }',
              "  return 0;", "}"]
    path = os.path.join(work, "harness.cu")
    open(path, "w").write("\n".join(lines) + "\n")
    exe = os.path.join(work, "harness")
    subprocess.run(["nvcc", "-arch=sm_90", "-std=c++17", "-I", os.path.join(src, "runtime", "include"),
                    path, "-o", exe], check=True)
    return exe


def emulated_harness():
    """The launchers themselves, on the host emulator's CUDA device: device
    buffers, PZ_LAUNCH, the compute stream, the flags' reads, the runtime's
    CUDA kernels (g++ -DPZ_CUDA_EMULATE, linked with `emulate`)."""
    lines = ['#include "%s"' % os.path.abspath(cu_path), "#include <cstdio>", "#include <vector>",
             "static int fail(const char *what) {",
             '  fprintf(stderr, "%s: %s\\n", what, pzrt_last_error());',
             "  return 4;", "}", "int main() {",
             "  pzrt_device *dev = pzrt_device_cuda(0);",
             '  if (!dev) return fail("pzrt_device_cuda");',
             "  pzrt_stream *streams[1] = {pzrt_stream_create(dev)};",
             '  if (!streams[0]) return fail("pzrt_stream_create");',
             "  pzrt_step_ctx ctx;", "  memset(&ctx, 0, sizeof ctx);",
             "  ctx.device = dev;", "  ctx.num_streams = 1;", "  ctx.streams = streams;",
             "  ctx.step = 1;"]
    lines.append("  void *arena = nullptr;")
    if arena:
        lines.append(f'  if (pzrt_cuda_arena_alloc(dev, {arena.group(2)}, &arena) != 0) return fail("arena");')
    for a in [a for a in order if a.startswith("%arg")]:
        k = int(device_ptr[a][3:])
        name, out, size = sizes(a)
        lines.append(f"  void *buf{k} = nullptr;")
        lines.append(f'  if (pzrt_cuda_arena_alloc(dev, {max(size, 1)}, &buf{k}) != 0) return fail("alloc");')
        lines.append(f"  {{ std::vector<char> h({max(size, 1)});")
        if not out and name:
            lines.append(f'    FILE *f = fopen("{work}/{name}.bin", "rb"); if (!f || fread(h.data(), 1, {size}, f) != {size}) return 2; fclose(f);')
        lines.append(f'    if (pzrt_device_write(dev, buf{k}, h.data(), h.size()) != 0) return fail("write"); }}')
    for kname, vals in dispatches:
        lines.append("  { void *const b[] = {%s};" % ", ".join(device_ptr[v] for v in vals))
        lines.append(f'    if (pzk_{kname}(&ctx, b) != 0) return fail("pzk_{kname}");')
        # A device-side check (index, divisor) fails here, after the call.
        lines.append(f'    if (pzrt_device_check(dev) != 0) return fail("pzk_{kname}"); }}')
    for a in [a for a in order if a.startswith("%arg")]:
        k = int(device_ptr[a][3:])
        name, out, size = sizes(a)
        if out:
            lines.append(f"  {{ std::vector<char> h({max(size, 1)});")
            lines.append(f'    if (pzrt_device_read(dev, h.data(), buf{k}, h.size()) != 0) return fail("read");')
            lines.append(f'    FILE *f = fopen("{work}/{name}.out.bin", "wb"); fwrite(h.data(), 1, h.size(), f); fclose(f); }}')
    lines += ["  return 0;", "}"]
    path = os.path.join(work, "emulated.cpp")
    open(path, "w").write("\n".join(lines) + "\n")
    exe = os.path.join(work, "emulated")
    subprocess.run(["g++", "-std=c++17", "-O1", "-x", "c++", "-DPZ_CUDA_EMULATE", "-I",
                    os.path.join(src, "runtime", "include"), "-I", "/usr/local/cuda/include",
                    path, "-x", "none", "-o", exe] + emulate, check=True)
    return exe


if random_seed is not None:
    # Integers in [0, 8) (valid token ids and labels of any vocabulary of 8
    # or more), floats N(0, 0.1^2), for every input or parameter not given.
    rng = np.random.default_rng(random_seed)
    for a in order:
        name, shape, dt, out = args[a]
        if out or not name or name in inputs:
            continue
        if dt in ("i64", "i32"):
            v = rng.integers(0, 8, shape).astype(DT[dt])
        elif dt == "f32":
            v = (0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            sys.exit(f"--random: no values for {dt} ({name})")
        inputs[name] = os.path.join(work, name + ".npy")
        np.save(inputs[name], v)
for name, path in inputs.items():
    np.load(path).tofile(os.path.join(work, name + ".bin"))
src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
subprocess.run([emulated_harness() if emulate is not None else gather_harness()], check=True)
cpu_out = os.path.join(work, "cpu")
cmd = [os.path.join(cpu_dir, "run")]
for name, path in inputs.items():
    cmd += ["--input", f"{name}={path}"]
subprocess.run(cmd + ["--output-dir", cpu_out], check=True, stdout=subprocess.DEVNULL)
for a in order:
    name, shape, dt, out = args[a]
    if not out:
        continue
    want = np.load(os.path.join(cpu_out, name + ".npy"))
    got = np.fromfile(os.path.join(work, name + ".out.bin"), dtype=want.dtype).reshape(want.shape)
    wb = want.reshape(-1).view(np.uint8).reshape(-1, want.dtype.itemsize)
    gb = got.reshape(-1).view(np.uint8).reshape(-1, want.dtype.itemsize)
    same = (wb == gb).all(axis=1)
    if want.dtype.kind == "f":
        same |= np.isnan(want.reshape(-1)) & np.isnan(got.reshape(-1))
    if name in tolerance:
        w = want.reshape(-1).astype(np.float64)
        g = got.reshape(-1).astype(np.float64)
        err = np.where(np.isnan(w) & np.isnan(g), 0.0, np.abs(w - g))
        if not (err <= tolerance[name]).all():
            sys.exit(f"{name}: max |cuda - cpu| {err.max()} > {tolerance[name]}")
        print("close", name, same.size)
        continue
    if not same.all():
        bad = np.flatnonzero(~same)[:5]
        sys.exit(f"{name}: {len(np.flatnonzero(~same))} of {same.size} differ, e.g. at {bad}: "
                 f"cpu {want.reshape(-1)[bad]} cuda-host {got.reshape(-1)[bad]}")
    print("exact", name, same.size)
