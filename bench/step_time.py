#!/usr/bin/env python3
"""Training step time of the compiled CPU program against PyTorch CPU eager.

Same model (python-frontend gpt2_loss, --size tiny or 124m), same batch and
sequence, same initial weights (the ONNX initializers), same optimizer
(AdamW), same cores: --threads OpenBLAS threads on both sides (ours through
--threads; PyTorch through openblas_set_num_threads on the OpenBLAS that
numpy and torch share here: it otherwise runs one thread per core whatever
torch.set_num_threads says). PyTorch's own intra-op pool gets one thread,
its fastest setting on this 2-core host (with 2 OpenBLAS threads: 0.92 s a
step against 1.0-2.0 s with 2 intra-op threads, whose OpenMP workers spin
against the BLAS threads). Measured one after the other in one run.
Each side runs --warmup steps that are not timed, then --steps timed steps;
the median step time is reported (ours: `step_time_s` of the metrics, which
covers data feeding, forward, backward and the optimizer). Goal: within 2x of
PyTorch.

With --baseline-bin DIR (a previous build's bin/, with the runtime it links:
--baseline-include and --baseline-lib), the same model is also compiled by
that compiler, and the two programs run alternately, --rounds times each, in
the same run, so that a regression shows against the same machine noise.

--precision bf16 compiles ours with --precision bf16 (fp32 master weights,
bf16 compute) and runs PyTorch's forward under CPU autocast to bf16 (its
GEMMs in bf16 through oneDNN). --precision fp16 compiles ours in fp16 (with
its loss scaling); PyTorch 1.13 has no CPU autocast to fp16, so its side
stays fp32 and the JSON says so.

Usage: /usr/bin/python3 bench/step_time.py [--size 124m] [--batch B] [--seq S]
       [--precision fp32|bf16|fp16]
       [--threads T] [--steps N] [--json FILE]
       [--baseline-bin DIR --baseline-include DIR --baseline-lib FILE [--rounds R]]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

import common

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--json", default=os.path.join(common.ROOT, "build", "bench", "step_time.json"))
ap.add_argument("--bin", default=os.path.join(common.ROOT, "build", "bin"))
ap.add_argument("--work", default=None)
ap.add_argument("--size", default="124m", choices=("tiny", "124m"))
ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
ap.add_argument("--batch", type=int, default=1)
ap.add_argument("--seq", type=int, default=128)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--steps", type=int, default=5)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--baseline-bin", default=None)
ap.add_argument("--baseline-include", default=None)
ap.add_argument("--baseline-lib", default=None)
ap.add_argument("--rounds", type=int, default=3)
a = ap.parse_args()

work = a.work or tempfile.mkdtemp(prefix="pz-bench-step-")
model = common.export("gpt2", a.size, os.path.join(work, "models-" + a.size), a.batch, a.seq)
shape = f"{a.batch}x{a.seq}"


def compile_and_train(bin_dir, out, env=None):
    """Compiles the model with the compiler in bin_dir; returns a function
    that trains --warmup + --steps steps and gives the timed step times and
    the peak bytes."""
    r, _ = common.run([os.path.join(bin_dir, "parallelize"), "compile", model, "-o", out,
                       "--input-shape", "input_ids=" + shape, "--input-shape", "labels=" + shape,
                       "--precision", a.precision],
                      env=env)
    if r.returncode:
        sys.exit(f"compile ({bin_dir}) failed: {r.stderr}")

    def train():
        metrics = os.path.join(out, "bench-metrics.jsonl")
        if os.path.exists(metrics):
            os.remove(metrics)
        r, _ = common.run([os.path.join(out, "train"), "--steps", a.warmup + a.steps, "--data",
                           "synthetic", "--threads", a.threads, "--metrics", metrics,
                           "--log-every", "0"])
        if r.returncode:
            sys.exit(f"train ({out}) failed: {r.stderr}")
        rows = [json.loads(l) for l in open(metrics)][a.warmup:]
        return [row["step_time_s"] for row in rows], rows[-1]["peak_bytes"]
    return train


train_ours = compile_and_train(a.bin, os.path.join(work, "out-" + a.size))
train_base = None
if a.baseline_bin:
    env = dict(os.environ)
    if a.baseline_include:
        env["PZ_RUNTIME_INCLUDE"] = a.baseline_include
    if a.baseline_lib:
        env["PZ_RUNTIME_LIB"] = a.baseline_lib
    train_base = compile_and_train(a.baseline_bin, os.path.join(work, "out-baseline-" + a.size), env)
ours, base = [], []
for _ in range(a.rounds if train_base else 1):
    times, peak = train_ours()
    ours += times
    if train_base:
        times, base_peak = train_base()
        base += times

import ctypes  # noqa: E402
import torch  # noqa: E402
import pzparity as P  # noqa: E402
torch.set_num_threads(1)
# numpy loaded OpenBLAS (torch's BLAS too) before this line could set its
# environment, so set the thread count through its API, and read it back.
openblas = ctypes.CDLL("libopenblas.so.0")
openblas.openblas_set_num_threads(a.threads)
if openblas.openblas_get_num_threads() != a.threads:
    sys.exit(f"could not give PyTorch's OpenBLAS {a.threads} threads")
module, _ = P.torch_module(model)
module.train()
opt = torch.optim.AdamW(module.parameters(), lr=1e-3, weight_decay=0.1)
vocab = json.loads(P.onnx_metadata(model)["parallelize.config"])["vocab"]
rng = np.random.default_rng(0)
theirs = []
for step in range(a.warmup + a.steps):
    ids = torch.from_numpy(rng.integers(0, vocab, (a.batch, a.seq)))
    labels = torch.from_numpy(rng.integers(0, vocab, (a.batch, a.seq)))
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
        loss = module(ids, labels)
    loss.backward()
    opt.step()
    dt = time.perf_counter() - t0
    if step >= a.warmup:
        theirs.append(dt)

o, t = statistics.median(ours), statistics.median(theirs)
common.write_json(a.json, {
    "benchmark": "step_time",
    "model": f"gpt2_loss {a.size}", "batch": a.batch, "seq": a.seq, "threads": a.threads,
    "precision": a.precision,
    "pytorch_precision": "bf16 autocast" if a.precision == "bf16" else "fp32",
    "ours_step_s": {"median": o, "runs": ours},
    "pytorch_eager_step_s": {"median": t, "runs": theirs},
    "ratio_ours_over_pytorch": o / t,
    "pytorch_threads": {"openblas": a.threads, "intra_op": 1},
    "goal_ratio": 2.0,
    "within_goal": o / t <= 2.0,
    "ours_peak_bytes": peak,
    **({"baseline": {"bin": a.baseline_bin, "step_s": {"median": statistics.median(base), "runs": base},
                     "peak_bytes": base_peak},
        "ratio_ours_over_baseline": o / statistics.median(base)} if train_base else {}),
    "machine": common.machine(),
})
