"""Checks pz-interpret's outputs of pz-interpret.mlir's @main with numpy."""
import math
import sys

import numpy as np

d = sys.argv[1]
x = np.load(f"{d}/x.npy")
w = np.load(f"{d}/w.npy").astype(np.float64)
b = np.load(f"{d}/b.npy")
table = np.load(f"{d}/table.npy")
ids = np.load(f"{d}/ids.npy")

hb = x @ w.T + b
a = 0.5 * hb * (1 + np.tanh(math.sqrt(2 / math.pi) * (hb + 0.044715 * hb**3)))
e = np.exp(a - a.max(axis=1, keepdims=True))
want = {
    "probs": e / e.sum(axis=1, keepdims=True),
    "total": np.array(hb.sum()),
    "positive": (hb > 0).astype(np.int64),
    "result3": table[ids],
}
for name, expected in want.items():
    got = np.load(f"{d}/out/{name}.npy")
    assert got.dtype == (np.int64 if expected.dtype == np.int64 else np.float64), (name, got.dtype)
    assert got.shape == expected.shape, (name, got.shape, expected.shape)
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12), (name, got, expected)
print("ok")
