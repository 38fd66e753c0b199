"""Checks pz-interpret-training.mlir: mean-squared-error loss, its gradient
and one torch.optim.AdamW step (lr 0.01, weight decay 0.1, defaults else)."""
import sys

import numpy as np

d = sys.argv[1]
x, y, w = (np.load(f"{d}/{n}.npy") for n in ("x", "y", "w"))
r = x @ w - y
loss, grad = (r**2).mean(), 2 * x.T @ r / r.size
assert np.allclose(np.load(f"{d}/fb/loss.npy"), loss, rtol=1e-12), "loss"
assert np.allclose(np.load(f"{d}/fb/w.npy"), grad, rtol=1e-12), "grad"

lr, wd, b1, b2, eps, t = 0.01, 0.1, 0.9, 0.999, 1e-8, 1
p = w * (1 - lr * wd)
m = (1 - b1) * grad
v = (1 - b2) * grad * grad
p = p - lr / (1 - b1**t) * m / (np.sqrt(v) / np.sqrt(1 - b2**t) + eps)
# lr arrives as an f32 input (0.01 rounded); the interpreter keeps it.
p32 = w * (1 - np.float64(np.float32(lr)) * wd) - np.float64(np.float32(lr)) / (1 - b1**t) * m / (
    np.sqrt(v) / np.sqrt(1 - b2**t) + eps)
assert np.allclose(np.load(f"{d}/opt/w.npy"), p32, rtol=1e-12, atol=1e-15), "param"
assert np.allclose(p32, p, rtol=1e-6), "f32 lr changes the step by more than its rounding"
assert np.allclose(np.load(f"{d}/opt/exp_avg:w.npy"), m, rtol=1e-12), "exp_avg"
assert np.allclose(np.load(f"{d}/opt/exp_avg_sq:w.npy"), v, rtol=1e-12), "exp_avg_sq"
norm = np.load(f"{d}/opt/grad_norm.npy")
assert np.allclose(norm, np.sqrt((grad**2).sum()), rtol=1e-6), "grad_norm (f32)"
print("ok")
