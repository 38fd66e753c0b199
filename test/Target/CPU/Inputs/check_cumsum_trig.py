#!/usr/bin/env python3
"""Inputs and numpy references of emit-cumsum-trig.mlir.

--make-inputs DIR writes x.npy (float32, with a zero) and n.npy (int64).
Otherwise: IN_DIR
OUT_DIR compares the results (float32 from the compiled program, float64
from pz-interpret) with numpy and prints the names that match.
"""
import os
import sys

import numpy as np


def make_inputs(d):
    os.makedirs(d, exist_ok=True)
    x = np.random.default_rng(3).standard_normal((2, 3, 4)).astype(np.float32)
    x[0, 0, 0] = 0.0
    np.save(os.path.join(d, "x.npy"), x)
    n = np.array([3, -7, -9, 0, 12], np.int64)
    np.save(os.path.join(d, "n.npy"), n)


def f32(a):
    return a.astype(np.float32)


def main():
    if sys.argv[1] == "--make-inputs":
        make_inputs(sys.argv[2])
        return
    ind, outd = sys.argv[1:3]
    x = np.load(os.path.join(ind, "x.npy"))
    n = np.load(os.path.join(ind, "n.npy"))
    x64 = x.astype(np.float64)
    # Exclusive sums from the end, accumulated in double in that order.
    rev_excl = np.zeros_like(x64)
    acc = np.zeros(x64.shape[:2])
    for k in reversed(range(x64.shape[2])):
        rev_excl[:, :, k] = acc
        acc = acc + x64[:, :, k]
    want = {
        "sin": f32(np.sin(x64)), "cos": f32(np.cos(x64)),
        "abs": np.abs(x), "sign": np.sign(x), "abs_i": np.abs(n),
        "cumsum": f32(np.cumsum(x64, axis=1)),
        "cumsum_rev_excl": f32(rev_excl),
        "cumsum_i": np.cumsum(n),
    }
    ok = []
    for name, w in sorted(want.items()):
        got = np.load(os.path.join(outd, name + ".npy"))
        if got.dtype == np.float64:  # the interpreter: round as the IR does
            got = got.astype(np.float32)
        if name in ("sin", "cos"):
            good = np.allclose(got, w, rtol=2 ** -23, atol=0)
        else:
            good = got.shape == w.shape and np.array_equal(
                got.astype(w.dtype), w)
        if good:
            ok.append(name)
        else:
            print(name, "differs:", got.ravel()[:8], w.ravel()[:8])
    print("equal", ok)


main()
