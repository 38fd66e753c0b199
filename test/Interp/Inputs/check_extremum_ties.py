"""Checks extremum-ties.mlir: the gradients pz-interpret computed for
y = min(max(max(a, b), c), d) against PyTorch's torch.maximum/torch.minimum
backward in float64 (exact: every gradient is a sum of halvings of the
weights), on inputs with ties (where torch splits the cotangent in half).

Usage: check_extremum_ties.py DIR"""
import sys

import numpy as np
import torch

d = sys.argv[1]
t = {n: torch.tensor(np.load(f"{d}/{n}.npy"), requires_grad=True)
     for n in "abcd"}
w = torch.tensor(np.load(f"{d}/w.npy"))
y = torch.minimum(torch.maximum(torch.maximum(t["a"], t["b"]), t["c"]), t["d"])
(y * w).sum().backward()
ties = 0
for n in "abcd":
    got = np.load(f"{d}/fb/{n}.npy")
    np.testing.assert_array_equal(got, t[n].grad.numpy(), err_msg=n)
    ties += int(np.sum((got != 0) & (got != w.numpy()) & (w.numpy() != 0)))
assert ties >= 4, f"the inputs must exercise split gradients ({ties})"
print("ties split as torch splits them")
