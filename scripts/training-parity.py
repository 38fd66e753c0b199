#!/usr/bin/env python3
"""The compiled training step matches PyTorch (autograd + torch.optim.AdamW).

For each loss model of python-frontend (mlp_loss, gpt2_loss, llama_loss,
bert_loss), compiles build/models/<name>.onnx to IR with AdamW
(`parallelize compile --emit ir --optimizer adamw --lr 1e-3 --betas
0.9,0.999 --eps 1e-8 --weight-decay 0.1`), then with the reference
interpreter (pz-interpret, float64):

  * runs @forward_backward on deterministic data and the ONNX initializer
    values -> loss and one gradient per parameter;
  * runs @optimizer_step on those gradients, zero AdamW states, lr = 1e-3,
    step = 1 -> updated parameters, updated states and the global gradient
    norm;
  * then a second step (--steps, default 2, step = 2) from the parameters
    and states that fp64 PyTorch (below) has after step 1.  It checks what
    step 1 cannot: the bias corrections at t > 1, the use of the states,
    and the gradients at parameters other than the initial ones (norm
    weights != 1, biases != 0).  Starting it from the reference's state
    checks the step on its own: chained from our own step 1, AdamW
    amplifies the ~1e-8 relative differences of step 1 (the graph's fp32
    constants, the fp32 lr input) into ~1e-5 ones at step 2;

and compares each step with the PyTorch module the ONNX file was exported
from (rebuilt from its `parallelize.config` metadata, the same initializer
values loaded, the same data): loss.backward(), the total norm of
torch.nn.utils.clip_grad_norm_ (max_norm=inf: no clipping), one
torch.optim.AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
step over all parameters.  A second configuration compiles gpt2_loss with
`--grad-clip 1.0 --no-decay-1d` and compares with
clip_grad_norm_(max_norm=1.0) and AdamW parameter groups that exempt 1-D
parameters from weight decay.

Tensor groups per step: loss, grads, grad_norm, params (after the step),
update (params after - before), exp_avg, exp_avg_sq.

PyTorch runs twice: in fp32 (the model's precision) and in fp64 (the same
module and optimizer, .double()).  Per tensor,

    rel = max|ours - torch| / max(max|torch|, floor)

with floor = lr for params and update (one AdamW step moves an element by
about lr, so an all-zero tensor such as a zero bias with a zero gradient is
compared on that scale) and 1e-12 otherwise.  A tensor passes when

  * rel vs fp64 PyTorch <= --rtol (1e-5), and
  * rel vs fp32 PyTorch <= --rtol, or else ("fp32-noise") ours is off fp32
    PyTorch by no more than fp32 PyTorch is itself off fp64 PyTorch, plus
    rtol: max|ours - t32| <= max|t32 - t64| + rtol * max(max|t32|, floor).

The second case is real and not rare: AdamW's first step moves an element
by lr * g / (|g| + eps), which turns fp32 rounding of a gradient element
with |g| near eps (1e-8), or of a gradient that is exactly zero in exact
arithmetic (the key biases of attention: softmax is shift-invariant, so
their gradient is 0 and fp32 autograd returns rounding noise), into an O(lr)
change of the update.  fp32 PyTorch is then off exact arithmetic by more
than 1e-5 relative; ours (float64) agrees with fp64 PyTorch.  (At step 2
fp32 PyTorch also follows its own trajectory from its step 1, so more of
its tensors land in this case there.)  The worst such tensor of each group
is printed.  Also printed, not gated: the largest elementwise
|ours - t32| / |t32| over the elements with |t32| >= 1e-3 max|t32|.

Usage: /usr/bin/python3 scripts/training-parity.py [--bin DIR] [--models DIR]
       [--work DIR] [--json FILE] [--rtol X] [--steps N] [--only NAME,...]
Exit status 1 when a tensor differs or a step fails.
"""

import argparse
import collections
import json
import math
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pzparity as P  # noqa: E402

import torch  # noqa: E402
from parallelize import models as M  # noqa: E402

LR, BETAS, EPS, WD = 1e-3, (0.9, 0.999), 1e-8, 0.1
ADAMW_FLAGS = ["--optimizer", "adamw", "--lr", repr(LR), "--betas",
               f"{BETAS[0]},{BETAS[1]}", "--eps", repr(EPS),
               "--weight-decay", repr(WD)]

# (run name, model, extra compile flags, grad clip max-norm or None,
#  exempt 1-D parameters from weight decay)
CONFIGS = [
    ("mlp_loss", "mlp_loss", [], None, False),
    ("gpt2_loss", "gpt2_loss", [], None, False),
    ("llama_loss", "llama_loss", [], None, False),
    ("bert_loss", "bert_loss", [], None, False),
    ("gpt2_loss+clip+nodecay1d", "gpt2_loss",
     ["--grad-clip", "1.0", "--no-decay-1d"], 1.0, True),
]

# Tensor groups compared per step, in print order.
GROUPS = ("loss", "grads", "grad_norm", "params", "update", "exp_avg",
          "exp_avg_sq")
FLOORS = {"params": LR, "update": LR}


def make_data(models_dir, model, seed=0):
    """Deterministic data for the inputs of ``model`` (in inputs.json
    order, at its export shapes): token ids in range, labels with a few
    ignore_index entries."""
    with open(os.path.join(models_dir, model + ".inputs.json")) as f:
        spec = json.load(f)["inputs"]
    cfg = json.loads(P.onnx_metadata(os.path.join(models_dir,
                                                  model + ".onnx"))
                     ["parallelize.config"])
    rng = np.random.default_rng(seed)
    data = collections.OrderedDict()
    if model.startswith("mlp"):
        # A batch of 4 so that one ignored label leaves three.
        batch = 4
        data["x"] = rng.standard_normal((batch, cfg["in_features"])).astype(
            np.float32)
        labels = rng.integers(0, cfg["num_classes"], (batch,))
        labels[2] = M.IGNORE_INDEX
        data["labels"] = labels.astype(np.int64)
    else:
        b, s = spec[0]["shape"]
        vocab = cfg["vocab"]
        for inp in spec:
            name = inp["name"]
            if name in ("input_ids", "labels"):
                v = rng.integers(0, vocab, (b, s))
                if name == "labels":
                    v[0, 0] = v[1, 5] = v[1, s - 1] = M.IGNORE_INDEX
            elif name == "attention_mask":
                v = np.ones((b, s))
                v[-1, s - s // 4:] = 0  # padding at the end of the last row
            elif name == "token_type_ids":
                v = np.zeros((b, s))
                v[:, s // 2:] = 1
            else:
                raise ValueError(f"{model}: no data rule for input {name!r}")
            data[name] = v.astype(np.int64)
    names = [i["name"] for i in spec]
    if list(data) != names:
        raise ValueError(f"{model}: inputs {names}, data {list(data)}")
    return data


def _empty_step():
    return {g: {} for g in GROUPS}


def torch_steps(onnx_path, params, data, clip, no_decay_1d, dtype, steps):
    """Per step: loss, gradients (before clipping), total norm, and the
    parameters and AdamW states after the step, with the module in
    ``dtype``; keyed by group, then initializer name, as numpy arrays."""
    module, names = P.torch_module(onnx_path, params)
    module = module.to(dtype)
    module.train()
    tparams = dict(module.named_parameters())
    inputs = []
    for n in module.input_names:
        t = torch.from_numpy(data[n].copy())
        inputs.append(t.to(dtype) if t.is_floating_point() else t)
    ordered = [tparams[names[n]] for n in params]
    if no_decay_1d:
        groups = [
            {"params": [p for p in ordered if p.dim() != 1],
             "weight_decay": WD},
            {"params": [p for p in ordered if p.dim() == 1],
             "weight_decay": 0.0}]
    else:
        groups = [{"params": ordered, "weight_decay": WD}]
    opt = torch.optim.AdamW(groups, lr=LR, betas=BETAS, eps=EPS)
    out = []
    for _ in range(steps):
        before = {n: tparams[names[n]].detach().double().numpy().copy()
                  for n in params}
        opt.zero_grad(set_to_none=True)
        loss = module(*inputs)
        loss.backward()
        r = _empty_step()
        r["loss"]["loss"] = loss.detach().numpy().copy()
        for n, t in names.items():
            r["grads"][n] = tparams[t].grad.detach().numpy().copy()
        total = torch.nn.utils.clip_grad_norm_(
            ordered, max_norm=clip if clip is not None else math.inf)
        r["grad_norm"]["grad_norm"] = total.detach().numpy().copy()
        opt.step()
        for n in params:
            p = tparams[names[n]]
            r["params"][n] = p.detach().numpy().copy()
            r["update"][n] = r["params"][n].astype(np.float64) - before[n]
            for kind in ("exp_avg", "exp_avg_sq"):
                r[kind][n] = opt.state[p][kind].numpy().copy()
        out.append(r)
    return out


def our_steps(bin_dir, models_dir, work, model, flags, params, data, steps,
              reference):
    """Compiles ``model`` and interprets ``steps`` training steps; same
    layout as :func:`torch_steps`.  Step 1 starts from ``params`` and zero
    states; step k > 1 from the parameters and states of the reference
    (``reference[k - 2]``, fp64 PyTorch), so that each step is checked on
    its own and not through the AdamW-amplified rounding of earlier ones."""
    onnx_path = os.path.join(models_dir, model + ".onnx")
    shapes = []
    for k, v in data.items():
        shapes += ["--input-shape", k + "=" + "x".join(map(str, v.shape))]
    out_dir = os.path.join(work, "ir")
    r = P.run([os.path.join(bin_dir, "parallelize"), "compile", onnx_path,
               "--emit", "ir", "-o", out_dir] + shapes + ADAMW_FLAGS + flags)
    if r.returncode:
        raise RuntimeError(f"parallelize compile failed: {r.stderr.strip()}")
    mlir = os.path.join(out_dir, "model.mlir")

    cur = {n: v.astype(np.float64) for n, v in params.items()}
    state = {(k, n): np.zeros(v.shape) for n, v in params.items()
             for k in ("exp_avg", "exp_avg_sq")}
    out = []
    for step in range(1, steps + 1):
        if step > 1:
            prev = reference[step - 2]
            cur = {n: np.asarray(prev["params"][n], np.float64)
                   for n in params}
            state = {(k, n): np.asarray(prev[k][n], np.float64)
                     for n in params for k in ("exp_avg", "exp_avg_sq")}
        fb_in = collections.OrderedDict()
        for k, v in data.items():
            fb_in["input:" + k] = v
        for k, v in cur.items():
            fb_in["param:" + k] = v
        fb = P.interpret(bin_dir, mlir, "forward_backward", fb_in,
                         os.path.join(work, f"fb{step}"))
        missing = [n for n in ["loss"] + list(params) if n not in fb]
        if missing:
            raise RuntimeError(f"@forward_backward has no result {missing}")

        opt_in = collections.OrderedDict()
        for k in params:
            opt_in["param:" + k] = cur[k]
            opt_in["grad:" + k] = fb[k]
            for kind in ("exp_avg", "exp_avg_sq"):
                opt_in[f"state:{kind}:{k}"] = state[(kind, k)]
        opt_in["input:lr"] = np.array(LR, dtype=np.float32)
        opt_in["input:step"] = np.array(step, dtype=np.int64)
        st = P.interpret(bin_dir, mlir, "optimizer_step", opt_in,
                         os.path.join(work, f"opt{step}"))
        missing = [n for n in ["grad_norm"] + list(params) +
                   [f"{k}:{n}" for n in params
                    for k in ("exp_avg", "exp_avg_sq")] if n not in st]
        if missing:
            raise RuntimeError(f"@optimizer_step has no result {missing}")

        res = _empty_step()
        res["loss"]["loss"] = fb["loss"]
        res["grad_norm"]["grad_norm"] = st["grad_norm"]
        for n in params:
            res["grads"][n] = fb[n]
            res["params"][n] = st[n]
            res["update"][n] = st[n] - cur[n]
            for kind in ("exp_avg", "exp_avg_sq"):
                res[kind][n] = st[f"{kind}:{n}"]
        out.append(res)
    return out


def _max_abs(x):
    x = np.asarray(x, dtype=np.float64)
    return float(np.max(np.abs(x))) if x.size else 0.0


def compare_tensor(got, t32, t64, rtol, floor):
    """The numbers of one tensor and its status: "ok" (within rtol of both
    references), "fp32-noise" (within rtol of fp64 PyTorch; off fp32
    PyTorch by more than rtol, but by no more than fp32 PyTorch is itself
    off fp64 PyTorch, plus rtol) or "DIFFERS"."""
    if np.shape(got) != np.shape(t32):
        return {"status": "DIFFERS", "why": f"shape {np.shape(got)} vs "
                f"torch {np.shape(t32)}"}
    got = np.asarray(got, dtype=np.float64)
    a32 = np.asarray(t32, dtype=np.float64)
    a64 = np.asarray(t64, dtype=np.float64)
    r = {"rel_fp32": P.rel_err(got, a32, floor),
         "rel_fp64": P.rel_err(got, a64, floor),
         "rel_torch_fp32_vs_fp64": P.rel_err(a32, a64, floor),
         "elementwise_rel_fp32": P.elementwise_rel_err(got, a32),
         "max_abs_diff_fp32": _max_abs(got - a32),
         "max_abs_diff_fp64": _max_abs(got - a64),
         "max_abs_torch": _max_abs(a32)}
    if r["rel_fp32"] <= rtol and r["rel_fp64"] <= rtol:
        r["status"] = "ok"
    elif r["rel_fp64"] <= rtol and (
            r["max_abs_diff_fp32"] <= _max_abs(a32 - a64)
            + rtol * max(r["max_abs_torch"], floor)):
        r["status"] = "fp32-noise"
    else:
        r["status"] = "DIFFERS"
    return r


def compare(run_name, step, ours, want32, want64, rtol):
    """Per-group summary of one step, and the failures."""
    summary, errors = {}, []
    for group in GROUPS:
        label = group if step == 1 else f"{group}@{step}"
        tensors = {}
        for name in want32[group]:
            g = ours[group].get(name)
            if g is None:
                tensors[name] = {"status": "DIFFERS", "why": "no result"}
            else:
                tensors[name] = compare_tensor(g, want32[group][name],
                                               want64[group][name], rtol,
                                               FLOORS.get(group, P.TINY))
            t = tensors[name]
            if t["status"] == "DIFFERS":
                errors.append(
                    f"{run_name}: {label} {name}: " + (t.get("why") or
                    f"rel vs fp32 torch {t['rel_fp32']:.3e}, vs fp64 torch "
                    f"{t['rel_fp64']:.3e} (rtol {rtol:g}); max|diff| fp32 "
                    f"{t['max_abs_diff_fp32']:.3e}, fp64 "
                    f"{t['max_abs_diff_fp64']:.3e}; max|torch| "
                    f"{t['max_abs_torch']:.3e}"))
        numeric = {n: t for n, t in tensors.items() if "rel_fp32" in t}

        def worst(key):
            if not numeric:
                return float("nan"), None
            n = max(numeric, key=lambda n: numeric[n][key])
            return numeric[n][key], n

        w32, n32 = worst("rel_fp32")
        w64, n64 = worst("rel_fp64")
        welem, _ = worst("elementwise_rel_fp32")
        noisy = sorted(n for n, t in tensors.items()
                       if t["status"] == "fp32-noise")
        bad = sorted(n for n, t in tensors.items() if t["status"] == "DIFFERS")
        status = "DIFFERS" if bad else ("ok (fp32-noise)" if noisy else "ok")
        summary[label] = {
            "max_rel_fp32": w32, "worst_fp32": n32,
            "max_rel_fp64": w64, "worst_fp64": n64,
            "max_elementwise_rel_fp32": welem, "fp32_noise": noisy,
            "differs": bad, "ok": not bad, "tensors": tensors}
        shown = f"{label} ({len(tensors)})" if len(tensors) > 1 else label
        where = f"  worst {n32}" if len(tensors) > 1 else ""
        print(f"{run_name:<25} {shown:<17} rel fp32 {w32:.2e}  fp64 "
              f"{w64:.2e}  elementwise fp32 {welem:.2e}  {status}{where}")
        if noisy:
            n = max(noisy, key=lambda n: tensors[n]["rel_fp32"])
            t = tensors[n]
            print(f"{'':<25}   fp32-noise in {len(noisy)}: worst {n}: ours-"
                  f"fp32 {t['rel_fp32']:.2e}, torch fp32-fp64 "
                  f"{t['rel_torch_fp32_vs_fp64']:.2e}, ours-fp64 "
                  f"{t['rel_fp64']:.2e}")
    return summary, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(P.ROOT, "build", "bin"))
    ap.add_argument("--models", default=os.path.join(P.ROOT, "build",
                                                     "models"))
    ap.add_argument("--work", help="scratch directory")
    ap.add_argument("--json", help="write a JSON summary here")
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--steps", type=int, default=2,
                    help="training steps per run (default 2)")
    ap.add_argument("--only", help="comma-separated run or model names")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    work = args.work or tempfile.mkdtemp(prefix="pz-training-parity-")
    only = set(args.only.split(",")) if args.only else None
    report = {"rtol": args.rtol, "steps": args.steps, "lr": LR,
              "betas": list(BETAS), "eps": EPS, "weight_decay": WD,
              "runs": {}}
    errors = []
    start = time.time()
    for run_name, model, flags, clip, no_decay_1d in CONFIGS:
        if only and run_name not in only and model not in only:
            continue
        t0 = time.time()
        entry = {"model": model, "flags": ADAMW_FLAGS + flags,
                 "clip": clip, "no_decay_1d": no_decay_1d}
        report["runs"][run_name] = entry
        try:
            onnx_path = os.path.join(args.models, model + ".onnx")
            params = P.onnx_params(onnx_path)
            data = make_data(args.models, model)
            want32, want64 = (
                torch_steps(onnx_path, params, data, clip, no_decay_1d,
                            dtype, args.steps)
                for dtype in (torch.float32, torch.float64))
            ours = our_steps(args.bin, args.models,
                             os.path.join(work, run_name), model, flags,
                             params, data, args.steps, want64)
        except Exception as e:  # noqa: BLE001 - reported as a failure
            msg = f"{run_name}: {type(e).__name__}: {e}"
            print(f"{run_name:<25} FAILED: {e}")
            errors.append(msg)
            entry["error"] = msg
            continue
        if clip is not None:
            coefs = [min(1.0, clip / (float(w["grad_norm"]["grad_norm"])
                                      + 1e-6)) for w in want64]
            entry["clip_coef"] = coefs
            print(f"{run_name:<25} clip coefficient per step: "
                  + ", ".join(f"{c:.4f}" for c in coefs)
                  + ("" if min(coefs) < 1 else "  (clipping inactive!)"))
        entry["groups"] = {}
        run_errors = []
        for step in range(1, args.steps + 1):
            summary, errs = compare(run_name, step, ours[step - 1],
                                    want32[step - 1], want64[step - 1],
                                    args.rtol)
            entry["groups"].update(summary)
            run_errors += errs
        entry["ok"] = not run_errors
        entry["seconds"] = round(time.time() - t0, 2)
        errors += run_errors
    report["ok"] = not errors
    report["errors"] = errors
    report["seconds"] = round(time.time() - start, 2)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    for e in errors:
        print("FAIL " + e)
    print(f"{'ok' if not errors else 'FAILED'}: {len(report['runs'])} runs, "
          f"{args.steps} steps each, in {report['seconds']:.1f} s")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
