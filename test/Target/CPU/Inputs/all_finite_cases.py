"""Runs emit-all-finite.mlir's program on special values and compares its
two flags with numpy's isfinite.

Usage: all_finite_cases.py RUN_PROGRAM WORK_DIR"""
import os
import subprocess
import sys

import numpy as np

run, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
bits = lambda u: np.array([u], dtype=np.uint32).view(np.float32)[0]
specials = {
    "+inf": np.float32(np.inf), "-inf": np.float32(-np.inf), "qnan": np.float32(np.nan),
    "snan": bits(0x7F800001), "-nan": bits(0xFFC00000), "max": np.finfo(np.float32).max,
    "-max": -np.finfo(np.float32).max, "subnormal": bits(1), "-0": np.float32(-0.0),
}
cases = []
for name, v in specials.items():
    for pos in ((0, 36) if not np.isfinite(v) else (17,)):
        x = np.linspace(-3, 3, 37).astype(np.float32)
        x[pos] = v
        cases.append((f"{name}@{pos}", x))
cases.append(("ordinary", np.linspace(-3, 3, 37).astype(np.float32)))
h_cases = [np.array([1, 2, 3, 4, 5], np.float16), np.array([1, 2, np.inf, 4, 5], np.float16)]
bad = []
for i, (name, x) in enumerate(cases):
    h = h_cases[i % 2]
    d = os.path.join(work, str(i))
    os.makedirs(d, exist_ok=True)
    np.save(f"{d}/x.npy", x)
    np.save(f"{d}/h.npy", h)
    subprocess.run([run, "--input", f"x={d}/x.npy", "--input", f"h={d}/h.npy", "--output-dir", f"{d}/out"],
                   check=True, stdout=subprocess.DEVNULL)
    got = (bool(np.load(f"{d}/out/fin.npy")), bool(np.load(f"{d}/out/hfin.npy")))
    want = (bool(np.isfinite(x).all()), bool(np.isfinite(h).all()))
    if got != want:
        bad.append((name, got, want))
if bad:
    sys.exit(f"disagree with numpy: {bad}")
print(f"{len(cases)} cases agree with numpy")
