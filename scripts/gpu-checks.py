#!/usr/bin/env python3
"""Every GPU check of the CUDA backend, in two halves.

  prepare  here (the build, no GPU needed): compiles the checks' programs
           into --carry (default .gpu/, which .git/info/exclude should
           ignore), with the CPU backend's reference losses, the GPU test
           binaries and the shared libraries the programs need besides the
           NVIDIA driver and glibc; then `bench/gpu_train.py prepare`
           unless --no-bench. Keep the folder under the device tool's 64 MiB.
  run      on the GPU machine, from the repository root, within a few
           minutes: every check below; a JSON summary goes to --json.
           Exit status 1 when a check fails.

Checks (issue 15's GPU acceptance):
  * tests: the GPU halves of the runtime's CUDA tests (device, GEMM,
    kernels, attention), each binary run with its GPU filter;
  * parity: tiny gpt2_loss, llama_loss and mlp_loss compiled with
    --backend cuda train 20 steps on the synthetic data; every step's loss
    against the CPU backend's from the same weights and data: fp32 within
    1e-4 relative, bf16 within 2e-2 (issue 15's tolerances);
  * ranks: gpt2_loss on a global batch of 4 with dp 2 and dp 4 on the one
    GPU through the host-staged communicator against the single-rank CUDA
    run of the same batch (1e-4): under mpirun when it exists there, else
    (the device image has no MPI) launched torchrun's way by
    scripts/launch-local.py, staged over the TCP host communicator
    (docs/design/0021);
  * bench: `bench/gpu_train.py run` (GPT-2 124M and the ~1B Llama).

--emulate runs the same two halves on this machine with --cuda-emulate
programs (the kernels run on the host emulator, docs/design/0019): it
checks this script and the programs' wiring, not the GPU.

  /usr/bin/python3 scripts/gpu-checks.py prepare
  python3 scripts/gpu-checks.py run --json $OUT/gpu-checks.json
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("gpt2_loss", "llama_loss", "mlp_loss")
PRECISIONS = {"fp32": 1e-4, "bf16": 2e-2}
TEST_BINARIES = {  # binary under build/runtime: its GPU tests
    "pzrt-cuda-tests": "CudaGpu*",
    "pzrt-cuda-selftest-tests": "*",
    "pzrt-cuda-kernels-gpu-tests": "*",
    "pzrt-cuda-attention-gpu-tests": "*",
    "pzrt-nccl-gpu-tests": "*",
}


def sh(args, **kw):
    return subprocess.run([str(a) for a in args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)


def model_shapes(onnx_path):
    """--input-shape flags of a python-frontend export (its .inputs.json)."""
    spec = json.load(open(onnx_path[:-len(".onnx")] + ".inputs.json"))
    flags = []
    for e in spec["inputs"]:
        flags += ["--input-shape", f"{e['name']}={'x'.join(str(d) for d in e['shape'])}"]
    return flags


def compile_model(a, model, out, flags, shapes=None):
    onnx_path = os.path.join(a.models, model + ".onnx")
    r = sh([os.path.join(a.bin, "parallelize"), "compile", onnx_path, "-o", out]
           + (shapes or model_shapes(onnx_path)) + flags)
    if r.returncode:
        sys.exit(f"compile {model} {' '.join(flags)} failed:\n{r.stderr}")


def train(out, steps, metrics, launcher=(), data=("--data", "synthetic")):
    if os.path.exists(metrics):
        os.remove(metrics)
    r = sh(list(launcher) + [os.path.join(out, "train"), "--steps", steps, *data,
                             "--metrics", metrics, "--log-every", "0"])
    if r.returncode:
        return None, r.stderr[-3000:]
    return [json.loads(l)["loss"] for l in open(metrics)], ""


def cuda_flags(a):
    return ["--backend", "cuda"] + (["--cuda-emulate"] if a.emulate else [])


def bundle_libs(binary, dest):
    """Copies the shared libraries `binary` needs besides glibc, libstdc++
    and the driver into dest (the device machine has none of them)."""
    keep = ("libmpi", "libopen-", "libhwloc", "libevent", "libudev", "libz.", "libgfortran",
            "libquadmath", "libopenblas", "libcublas")
    r = sh(["ldd", binary])
    for line in r.stdout.splitlines():
        parts = line.split("=>")
        if len(parts) == 2 and any(parts[0].strip().startswith(k) for k in keep):
            path = parts[1].split("(")[0].strip()
            if os.path.exists(path):
                shutil.copy2(os.path.realpath(path), os.path.join(dest, parts[0].strip()))


def prepare(a):
    os.makedirs(a.carry, exist_ok=True)
    lib = os.path.join(a.carry, "lib")
    os.makedirs(lib, exist_ok=True)
    ref = {}
    for model in MODELS:
        for prec in PRECISIONS:
            base = os.path.join(a.carry, "parity", f"{model}-{prec}")
            cpu = os.path.join(a.work, f"{model}-{prec}-cpu")
            compile_model(a, model, cpu, ["--precision", prec])
            losses, err = train(cpu, a.steps, os.path.join(cpu, "metrics.jsonl"))
            if losses is None:
                sys.exit(f"CPU reference {model} {prec} failed:\n{err}")
            ref[f"{model}-{prec}"] = losses
            compile_model(a, model, base, ["--precision", prec] + cuda_flags(a))
            bundle_libs(os.path.join(base, "train"), lib)
    # A global batch of 4 sequences: one rank, and dp 2 and 4 splitting it
    # (--input-shape is a rank's micro-batch), fed the same tokens through
    # --data-npy (each rank reads its contiguous share; synthetic data
    # depends on the ranks' layout).
    import numpy as np
    feed = os.path.join(a.carry, "ranks", "feed")
    os.makedirs(feed, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in ("input_ids", "labels"):
        np.save(os.path.join(feed, name + ".npy"),
                rng.integers(0, 256, (a.steps * 4, 16), dtype=np.int64))
    for dp in (1, 2, 4):
        rows = f"{4 // dp}x16"
        compile_model(a, "gpt2_loss", os.path.join(a.carry, "ranks", f"dp{dp}"),
                      ["--dp-replicate", str(dp)] + cuda_flags(a),
                      ["--input-shape", "input_ids=" + rows, "--input-shape", "labels=" + rows])
    with open(os.path.join(a.carry, "reference.json"), "w") as f:
        json.dump({"steps": a.steps, "cpu_losses": ref, "emulated": a.emulate}, f, indent=1)
    tests = os.path.join(a.carry, "tests")
    os.makedirs(tests, exist_ok=True)
    for name in TEST_BINARIES:
        path = os.path.join(a.build, "runtime", name)
        if os.path.exists(path):
            shutil.copy2(path, tests)
            bundle_libs(path, lib)
    if not a.no_bench and not a.emulate:
        r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gpu_train.py"), "prepare",
                            "--bin", a.bin, "--carry", os.path.join(a.carry, "bench")])
        if r.returncode:
            sys.exit("bench/gpu_train.py prepare failed")
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(a.carry) for f in fs)
    # The device tool carries at most 64 MiB with the repository: one
    # xz-compressed tarball (binaries compress about 4x).
    carry = os.path.abspath(a.carry)
    tarball = carry + ".tar.xz"
    subprocess.run(["tar", "-cJf", tarball, "-C", os.path.dirname(carry),
                    os.path.basename(carry)], check=True)
    print(f"prepared {a.carry}: {size / 2**20:.1f} MiB, {tarball}: "
          f"{os.path.getsize(tarball) / 2**20:.1f} MiB\n"
          f"on the GPU machine (carry {os.path.relpath(tarball, ROOT)}): tar -xJf "
          f"{os.path.relpath(tarball, ROOT)} && python3 scripts/gpu-checks.py run "
          f"--json $OUT/gpu-checks.json --bench-json $OUT/gpu_train.json")


def rel(got, want):
    return abs(got - want) / max(abs(want), 1e-12)


def nvidia_lib_dirs():
    """The CUDA libraries PyTorch's wheels bring (cuBLAS, NCCL, the CUDA
    runtime): the device machine has them there, not under a toolkit path."""
    dirs = []
    for base in sys.path:
        root = os.path.join(base, "nvidia")
        if os.path.isdir(root):
            for d, _, files in os.walk(root):
                if any(f.startswith(("libcublas", "libnccl", "libcudart")) for f in files):
                    dirs.append(d)
    return dirs


def run(a):
    env_lib = os.path.join(os.path.abspath(a.carry), "lib")
    os.environ["LD_LIBRARY_PATH"] = ":".join(
        [env_lib] + nvidia_lib_dirs() + [os.environ.get("LD_LIBRARY_PATH", "")])
    ref = json.load(open(os.path.join(a.carry, "reference.json")))
    steps = ref["steps"]
    report = {"emulated": ref["emulated"], "checks": {}}
    failed = []

    def record(name, ok, **info):
        report["checks"][name] = {"ok": ok, **info}
        print(f"{'PASS' if ok else ('FAIL' if ok is False else 'NOT RUN')} {name} "
              f"{json.dumps(info)[:400]}", flush=True)
        if ok is False:
            failed.append(name)

    for name, flt in TEST_BINARIES.items():
        path = os.path.join(a.carry, "tests", name)
        if not os.path.exists(path):
            record(f"tests/{name}", None, why="not built")
            continue
        r = sh([path, f"--gtest_filter={flt}"])
        skipped = re.search(r"\[  SKIPPED \] (\d+) test", r.stdout)
        tail = r.stdout[-1500:] + r.stderr[-500:]
        if r.returncode == 0 and skipped:
            # gtest passes a skipped test: here that means no device, not a pass.
            record(f"tests/{name}", None, why=f"{skipped.group(1)} tests skipped", tail=tail)
        else:
            record(f"tests/{name}", r.returncode == 0, tail=tail)

    for key, want in ref["cpu_losses"].items():
        prec = key.rsplit("-", 1)[1]
        out = os.path.join(a.carry, "parity", key)
        got, err = train(out, steps, os.path.join(out, "metrics.jsonl"))
        if got is None:
            record(f"parity/{key}", False, error=err)
            continue
        worst = max(rel(g, w) for g, w in zip(got, want))
        record(f"parity/{key}", len(got) == len(want) and worst <= PRECISIONS[prec],
               worst_rel=worst, tol=PRECISIONS[prec], first=[got[0], want[0]],
               last=[got[-1], want[-1]])

    mpirun = None if a.no_mpirun else shutil.which("mpirun")
    feed = os.path.join(os.path.abspath(a.carry), "ranks", "feed")
    data = ("--data-npy", ",".join(f"{n}={feed}/{n}.npy" for n in ("input_ids", "labels")))
    out1 = os.path.join(a.carry, "ranks", "dp1")
    want, err1 = train(out1, steps, os.path.join(out1, "metrics.jsonl"), data=data)
    for dp in (2, 4):
        out = os.path.join(a.carry, "ranks", f"dp{dp}")
        launcher = ([mpirun, "--allow-run-as-root", "--oversubscribe", "-np", str(dp)] if mpirun
                    else [sys.executable, os.path.join(ROOT, "scripts", "launch-local.py"), "-n",
                          str(dp), "--timeout", "300", "--"])
        got, err = train(out, steps, os.path.join(out, "metrics.jsonl"), launcher, data)
        if got is None or want is None:
            err = err or "the single-rank run failed: " + err1
            record(f"ranks/dp{dp}", False, error=err)
            continue
        worst = max(rel(g, w) for g, w in zip(got, want))
        record(f"ranks/dp{dp}", worst <= 1e-4, worst_rel=worst, tol=1e-4,
               launcher="mpirun" if mpirun else "launch-local.py (TCP)")

    if not a.no_bench and not ref["emulated"]:
        r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gpu_train.py"), "run",
                            "--carry", os.path.join(a.carry, "bench"), "--json", a.bench_json])
        record("bench", r.returncode == 0, json=a.bench_json)

    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    not_run = [k for k, v in report["checks"].items() if v["ok"] is None]
    print(f"{len(report['checks']) - len(failed) - len(not_run)} passed, {len(failed)} failed "
          f"{failed}, {len(not_run)} did not run {not_run}")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=("prepare", "run"))
    ap.add_argument("--carry", default=os.path.join(ROOT, ".gpu"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "models"))
    ap.add_argument("--work", default="/tmp/pz-gpu-checks")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--emulate", action="store_true")
    ap.add_argument("--no-bench", action="store_true")
    ap.add_argument("--no-mpirun", action="store_true",
                    help="launch the ranks check with launch-local.py even where mpirun exists")
    ap.add_argument("--json", default=None)
    ap.add_argument("--bench-json", default=os.path.join(ROOT, "bench", "results", "gpu_train.json"))
    a = ap.parse_args()
    if a.cmd == "prepare":
        prepare(a)
        return 0
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
