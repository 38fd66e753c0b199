#!/usr/bin/env python3
"""Compile time of a GPT-2 124M-sized export, from .onnx to OUTDIR/train.

Exports python-frontend's gpt2 at --size 124m (not timed), then times
`parallelize compile gpt2_loss.onnx -o OUT --input-shape ...` (import, the
pass pipeline, memory plan, C++ emission, writing the initial weights, and
building the program with the system C++ compiler) --repeat times, with
`--mlir-timing` on the last run for the per-pass split. Side by side, in the
same run, it times what a PyTorch user pays to get the same model ready to
train: loading the ONNX weights into the PyTorch module and building
torch.optim.AdamW (eager PyTorch compiles nothing). Goal: under 60 s on a
2-core machine.

Usage: /usr/bin/python3 bench/compile_time.py [--json FILE] [--repeat N]
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time

import common

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--json", default=os.path.join(common.ROOT, "build", "bench", "compile_time.json"))
ap.add_argument("--bin", default=os.path.join(common.ROOT, "build", "bin"))
ap.add_argument("--work", default=None)
ap.add_argument("--repeat", type=int, default=2)
ap.add_argument("--batch", type=int, default=1)
ap.add_argument("--seq", type=int, default=128)
a = ap.parse_args()

work = a.work or tempfile.mkdtemp(prefix="pz-bench-compile-")
model = common.export("gpt2", "124m", os.path.join(work, "models"), a.batch, a.seq)
shape = f"{a.batch}x{a.seq}"
args = [os.path.join(a.bin, "parallelize"), "compile", model, "-o", os.path.join(work, "out"),
        "--input-shape", "input_ids=" + shape, "--input-shape", "labels=" + shape]
times = []
for i in range(a.repeat):
    r, dt = common.run(args + (["--mlir-timing"] if i == a.repeat - 1 else []))
    if r.returncode:
        sys.exit(f"compile failed: {r.stderr}")
    times.append(dt)
timing = {}
for line in r.stderr.splitlines():
    m = re.match(r"\s*([0-9.]+) \(\s*[0-9.]+%\)\s+(.*\S)\s*$", line)
    if m and m.group(2) not in ("Total", "Rest"):
        timing[m.group(2)] = float(m.group(1))

import torch  # noqa: E402
import pzparity as P  # noqa: E402
t0 = time.perf_counter()
module, _ = P.torch_module(model)
opt = torch.optim.AdamW(module.parameters(), lr=1e-3)
torch_ready_s = time.perf_counter() - t0

common.write_json(a.json, {
    "benchmark": "compile_time",
    "model": "gpt2_loss 124m", "input_shape": shape,
    "parameters": sum(p.numel() for p in module.parameters()),
    "compile_s": {"median": statistics.median(times), "runs": times},
    "goal_s": 60.0,
    "within_goal": statistics.median(times) < 60.0,
    "mlir_timing_s": timing,
    "pytorch_eager_setup_s": torch_ready_s,
    "machine": common.machine(),
})
