#!/usr/bin/env python3
"""The compiled CPU `train` program matches PyTorch over 20 AdamW steps.

For mlp_loss, gpt2_loss and llama_loss (python-frontend exports in
build/models), compiles `parallelize compile M.onnx --optimizer adamw --lr 1e-3
--betas 0.9,0.999 --eps 1e-8 --weight-decay 0.1` to OUTDIR/train, feeds it a
different deterministic batch each step through --data-npy, and trains
--steps (20) steps from the ONNX initializers. PyTorch trains the module the
ONNX file was exported from (same initializers, same batches) with
torch.optim.AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
over every parameter, in fp32 and again in fp64.

Gates (fp32, both sides), first on step 1 alone (issue 4's acceptance):
  * the gradients of @forward_backward, built as a .npy program with
    `--run-function forward_backward` and run on the ONNX initializers and
    the first batch, per tensor: max|ours - t32| <= 1e-5 * max|t32|;
  * the weights after one step of `train --steps 1`, per tensor:
    max|ours - t32| <= 1e-5 * max(max|t32|, 1);
(the updated weights are the sharper test: AdamW's first step moves an
element by lr * g / (|g| + eps), so an element whose gradient is near eps
turns fp32 rounding of g on either side into an O(lr) difference; observed
worst 8.6e-6 on llama_loss) then over the whole run:
  * loss of every step: |ours - t32| <= 1e-5 * |t32|;
  * final weights, per tensor: max|ours - t32| <= 1e-4 * max(max|t32|, 1),
    i.e. within 1e-4 relative to the tensor's scale (absolute below 1).

Every element is gated. The script also reports the elements whose exact
gradient is zero at every step but whose computed one is not (fp64 PyTorch
gives 0 < |g| <= 1e-9 * max|g| of the tensor: the key bias of attention,
since softmax is shift-invariant): fp32 autograd returns rounding noise for
them on both sides and AdamW turns noise of any size into steps of up to lr,
so they are where the two programs can drift apart first.

Usage: /usr/bin/python3 scripts/cpu-parity.py [--bin DIR] [--models DIR]
       [--work DIR] [--steps N] [--only NAME,...] [--json FILE]
Exit status 1 when a gate fails.
"""

import collections
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pzparity as P  # noqa: E402

import torch  # noqa: E402
from parallelize import models as M  # noqa: E402

LR, BETAS, EPS, WD = 1e-3, (0.9, 0.999), 1e-8, 0.1
ADAMW_FLAGS = ["--optimizer", "adamw", "--lr", repr(LR), "--betas",
               f"{BETAS[0]},{BETAS[1]}", "--eps", repr(EPS),
               "--weight-decay", repr(WD)]
LOSS_RTOL, WEIGHT_RTOL, STEP1_RTOL = 1e-5, 1e-4, 1e-5
MODELS = ["mlp_loss", "gpt2_loss", "llama_loss"]


def batch(models_dir, model, step):
    """The batch of one step: the data rule of training-parity.py (token
    ids in range, some ignored labels), a different seed per step."""
    spec = json.load(open(os.path.join(models_dir, model + ".inputs.json")))
    cfg = json.loads(P.onnx_metadata(os.path.join(models_dir, model + ".onnx"))
                     ["parallelize.config"])
    rng = np.random.default_rng(1000 + step)
    data = collections.OrderedDict()
    if model.startswith("mlp"):
        data["x"] = rng.standard_normal((4, cfg["in_features"])).astype(np.float32)
        labels = rng.integers(0, cfg["num_classes"], (4,))
        labels[2] = M.IGNORE_INDEX
        data["labels"] = labels.astype(np.int64)
        return data
    b, s = spec["inputs"][0]["shape"]
    for inp in spec["inputs"]:
        v = rng.integers(0, cfg["vocab"], (b, s))
        if inp["name"] == "labels":
            v[0, 0] = v[1, s - 1] = M.IGNORE_INDEX
        data[inp["name"]] = v.astype(np.int64)
    return data


def input_shapes(batch):
    shapes = []
    for k, v in batch.items():
        shapes += ["--input-shape", k + "=" + "x".join(map(str, v.shape))]
    return shapes


def our_grads(bin_dir, onnx_path, work, params, batch):
    """Step-1 gradients: @forward_backward as a .npy program."""
    out = os.path.join(work, "fb")
    r = P.run([os.path.join(bin_dir, "parallelize"), "compile", onnx_path, "-o", out,
               "--run-function", "forward_backward"] + input_shapes(batch) + ADAMW_FLAGS)
    if r.returncode:
        raise RuntimeError(f"compile --run-function failed: {r.stderr.strip()}")
    args = [os.path.join(out, "run"), "--output-dir", os.path.join(work, "fb-out")]
    os.makedirs(os.path.join(work, "fb-out"), exist_ok=True)
    for i, (k, v) in enumerate(list(batch.items()) + list(params.items())):
        path = os.path.join(work, f"fb-in{i}.npy")
        np.save(path, np.ascontiguousarray(v))
        args += ["--input", f"{k}={path}"]
    r = P.run(args)
    if r.returncode:
        raise RuntimeError(f"run failed: {r.stderr.strip()}")
    return {n: np.load(os.path.join(work, "fb-out", n.replace("/", "_") + ".npy"))
            for n in params}


def ours(bin_dir, onnx_path, work, batches, steps):
    shapes = input_shapes(batches[0])
    out = os.path.join(work, "out")
    r = P.run([os.path.join(bin_dir, "parallelize"), "compile", onnx_path, "-o", out]
              + shapes + ADAMW_FLAGS)
    if r.returncode:
        raise RuntimeError(f"compile failed: {r.stderr.strip()}")
    feeds = P.npy_feeds(work, batches)
    metrics = os.path.join(work, "metrics.jsonl")
    ckpt = os.path.join(work, "ckpt")
    r = P.run([os.path.join(out, "train"), "--steps", steps, "--data-npy", feeds,
               "--metrics", metrics, "--save", ckpt, "--log-every", "0"])
    if r.returncode:
        raise RuntimeError(f"train failed (exit {r.returncode}): {r.stderr.strip()}")
    losses = [json.loads(l)["loss"] for l in open(metrics)]
    r = P.run([os.path.join(out, "train"), "--steps", 1, "--data-npy", feeds,
               "--save", ckpt + "1", "--log-every", "0"])
    if r.returncode:
        raise RuntimeError(f"train --steps 1 failed (exit {r.returncode}): {r.stderr.strip()}")
    return losses, read_checkpoint(ckpt), read_checkpoint(ckpt + "1")


def read_checkpoint(ckpt):
    weights = {}
    for fn in sorted(os.listdir(ckpt)):
        if fn.endswith(".safetensors"):
            weights.update(P.read_safetensors(os.path.join(ckpt, fn)))
    return weights


def torch_run(onnx_path, params, batches, dtype):
    module, names = P.torch_module(onnx_path, params)
    module = module.to(dtype)
    module.train()
    tparams = dict(module.named_parameters())
    ordered = [tparams[names[n]] for n in params]
    opt = torch.optim.AdamW([{"params": ordered, "weight_decay": WD}], lr=LR,
                            betas=BETAS, eps=EPS)
    losses, first_grads, first_weights = [], {}, {}
    zero = {n: None for n in params}
    nonzero = {n: None for n in params}
    for data in batches:
        inputs = []
        for n in module.input_names:
            t = torch.from_numpy(data[n].copy())
            inputs.append(t.to(dtype) if t.is_floating_point() else t)
        opt.zero_grad(set_to_none=True)
        loss = module(*inputs)
        loss.backward()
        losses.append(float(loss))
        if not first_grads:
            first_grads = {n: tparams[names[n]].grad.detach().double().numpy().copy()
                           for n in params}
        for n in params:
            g = tparams[names[n]].grad.detach().double().abs().numpy()
            tiny = g <= 1e-9 * max(g.max(), 1e-30)
            zero[n] = tiny if zero[n] is None else (zero[n] & tiny)
            nonzero[n] = (g != 0) if nonzero[n] is None else (nonzero[n] | (g != 0))
        opt.step()
        if not first_weights:
            first_weights = {n: tparams[names[n]].detach().double().numpy().copy()
                             for n in params}
    weights = {n: tparams[names[n]].detach().double().numpy() for n in params}
    # Exactly-zero gradients (unseen embedding rows) are deterministic on
    # both sides and stay gated; only rounding noise around zero is not.
    return (losses, weights, {n: zero[n] & nonzero[n] for n in params}, first_grads,
            first_weights)


def main():
    ap = P.parity_argparser(__doc__, steps=20)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.manual_seed(0)
    work = a.work or tempfile.mkdtemp(prefix="pz-cpu-parity-")
    failures, report = 0, {}
    for model in [m for m in MODELS if not a.only or m in a.only.split(",")]:
        onnx_path = os.path.join(a.models, model + ".onnx")
        params = P.onnx_params(onnx_path)
        batches = [batch(a.models, model, t) for t in range(a.steps)]
        mwork = os.path.join(work, model)
        os.makedirs(mwork, exist_ok=True)
        try:
            got_loss, got_w, got_w1 = ours(a.bin, onnx_path, mwork, batches, a.steps)
            got_g = our_grads(a.bin, onnx_path, mwork, params, batches[0])
        except RuntimeError as e:
            print(f"FAIL {model}: {e}")
            failures += 1
            continue
        t32_loss, t32_w, _, t32_g, t32_w1 = torch_run(onnx_path, params, batches, torch.float32)
        _, _, zero, _, _ = torch_run(onnx_path, params, batches, torch.float64)
        worst_g = max(float(np.abs(got_g[n] - t32_g[n]).max() / max(np.abs(t32_g[n]).max(), 1e-30))
                      for n in params)
        worst_w1 = max(float(np.abs(got_w1[n] - t32_w1[n]).max() / max(np.abs(t32_w1[n]).max(), 1.0))
                       for n in params)
        ok1 = worst_g <= STEP1_RTOL and worst_w1 <= STEP1_RTOL
        failures += not ok1
        print(f"{'ok  ' if ok1 else 'FAIL'} {model} step 1: worst gradient rel err {worst_g:.2e}, "
              f"worst updated-weight err {worst_w1:.2e} (gate {STEP1_RTOL:g})")
        worst_loss = max(abs(g - w) / abs(w) for g, w in zip(got_loss, t32_loss))
        ok_loss = len(got_loss) == a.steps and worst_loss <= LOSS_RTOL
        worst_w, worst_name, ungated, worst_ungated = 0.0, "", 0, 0.0
        for n in params:
            if n not in got_w:
                print(f"FAIL {model}: checkpoint has no tensor {n!r}")
                failures += 1
                continue
            ungated += int(zero[n].sum())
            if zero[n].any():
                worst_ungated = max(worst_ungated, float(np.abs(
                    got_w[n].astype(np.float64) - t32_w[n])[zero[n]].max()))
            diff = np.abs(got_w[n].astype(np.float64) - t32_w[n])
            scale = max(np.abs(t32_w[n]).max(), 1.0)
            rel = float(diff.max() / scale) if diff.size else 0.0
            if rel > worst_w:
                worst_w, worst_name = rel, n
        ok_w = worst_w <= WEIGHT_RTOL
        status = "ok  " if ok_loss and ok_w else "FAIL"
        failures += not (ok_loss and ok_w)
        print(f"{status} {model}: {a.steps} steps, loss {t32_loss[0]:.5f} -> {t32_loss[-1]:.5f}; "
              f"worst loss rel err {worst_loss:.2e} (gate {LOSS_RTOL:g}); worst weight err "
              f"{worst_w:.2e} ({worst_name}; gate {WEIGHT_RTOL:g}); {ungated} elements with a "
              f"zero exact gradient (largest difference there {worst_ungated:.2e})")
        report[model] = {"steps": a.steps, "step1_grad_rel_err": worst_g,
                         "step1_weight_rel_err": worst_w1, "loss_rel_err": worst_loss,
                         "weight_rel_err": worst_w, "worst_weight": worst_name,
                         "zero_exact_gradient_elements": ungated,
                         "losses": got_loss, "torch_losses": t32_loss}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
