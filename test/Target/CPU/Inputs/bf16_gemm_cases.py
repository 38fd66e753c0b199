"""Runs emit-bf16-gemm.mlir's program on both bf16 GEMM paths and compares
each product, exactly, with the exact sums (float64; exact for these
inputs) rounded once to bf16 by PyTorch. (PyTorch 1.13's own bf16 bmm on the
CPU rounds partial sums to bf16, so it is not the reference for the batched
cases.)

Usage: bf16_gemm_cases.py RUN_PROGRAM WORK_DIR"""
import os
import subprocess
import sys

import numpy as np
import torch

run, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
r = np.random.default_rng(3)
shapes = {"a": (2, 3, 4), "b": (1, 4, 5), "c": (1, 4, 3), "g": (3, 4), "d": (2, 4, 5)}
x = {k: (r.integers(-32, 32, s) / 4).astype(np.float32) for k, s in shapes.items()}
for k, v in x.items():
    np.save(f"{work}/{k}.npy", v)
t = {k: v.astype(np.float64) for k, v in x.items()}
exact = {
    "folded": t["a"] @ t["b"],
    "lhs_t": (np.swapaxes(t["c"], -1, -2) @ t["b"].reshape(4, 5)).reshape(3, 5),
    "rhs_t": t["a"] @ t["g"].T,
    "gram": t["g"] @ t["g"].T,
    "batched": t["a"] @ t["d"],
}
want = {k: torch.from_numpy(v).bfloat16() for k, v in exact.items()}
for path in ("auto", "fp32"):
    out = f"{work}/out-{path}"
    cmd = [run, "--output-dir", out] + sum((["--input", f"{k}={work}/{k}.npy"] for k in x), [])
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, PZRT_CPU_BF16_GEMM=path))
    bad = [name for name, w in want.items()
           if not np.array_equal(np.load(f"{out}/{name}.npy"), w.float().numpy())]
    if bad:
        sys.exit(f"{path}: {bad} differ from the exact products rounded to bf16")
    print(f"{path}: {len(want)} products equal the exact ones rounded to bf16")
