#!/usr/bin/env python3
"""Runs the imported rotary_tables model (onnx_gen.py) with the reference
interpreter and checks its outputs bit for bit against numpy: every folded
node is evaluated in double and rounded once to float32, as ONNX defines
the op (Cos of the float32 angle, not of a double one).

Usage: check_rotary_fold.py PZ_INTERPRET MODEL.mlir WORKDIR
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_gen import ROTARY_INV_FREQ  # noqa: E402

interp, mlir, work = sys.argv[1:4]
x = np.random.default_rng(0).standard_normal((2, 16, 8)).astype(np.float32)
np.save(os.path.join(work, "x.npy"), x)
subprocess.run([interp, mlir, "--input", "x=" + os.path.join(work, "x.npy"),
                "--output-dir", work], check=True)

pos = np.arange(16, dtype=np.float32).reshape(16, 1)
freqs = (pos.astype(np.float64) * ROTARY_INV_FREQ.astype(np.float64)
         ).astype(np.float32)
emb = np.concatenate([freqs, freqs], axis=1).astype(np.float64)
cos = np.cos(emb).astype(np.float32).astype(np.float64)
sin = np.sin(emb).astype(np.float32).astype(np.float64)
mask = np.array([[1] * 16, [0] * 4 + [1] * 12], np.int64)
ids = (np.cumsum(mask, axis=1) - 1).astype(np.float64)[:, :, None]
x64 = x.astype(np.float64)
want = {"y": x64 * cos[None] + ids, "xs": x64 * sin}
bad = 0
for name, w in want.items():
    got = np.load(os.path.join(work, name + ".npy"))
    if got.shape != w.shape or not np.array_equal(got, w):
        print(f"{name}: differs, max abs error {np.max(np.abs(got - w)):g}")
        bad += 1
    else:
        print(f"{name}: bit-identical")
sys.exit(1 if bad else 0)
