"""Inputs for emit-attention-bias.mlir, and the comparison of the CPU
program's outputs with the reference interpreter's (float64): every output
within 1e-6 of the largest |reference| (fp32 kernels, a few roundings)."""
import sys

import numpy as np

if sys.argv[1] == "--make-inputs":
    out = sys.argv[2]
    import os
    os.makedirs(out, exist_ok=True)
    r = np.random.default_rng(0)
    np.save(f"{out}/q.npy", r.standard_normal((2, 2, 4, 8)).astype(np.float32))
    np.save(f"{out}/alibi.npy", r.standard_normal((1, 2, 1, 4)).astype(np.float32))
    np.save(f"{out}/m.npy", np.array([[1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 1, 1], [1, 1, 1, 0]], bool))
    sys.exit(0)

cpu, ref = sys.argv[1], sys.argv[2]
close = []
for name in ("o", "p", "db"):
    a, b = np.load(f"{cpu}/{name}.npy"), np.load(f"{ref}/{name}.npy")
    scale = max(float(np.abs(b).max()), 1e-30)
    if a.shape == b.shape and float(np.abs(a - b).max()) <= 1e-6 * scale and scale > 1e-3:
        close.append(name)
print("close", close)
