"""Shared helpers of the scripts that check Parallelize against PyTorch.

* :func:`parity_argparser` gives the options every parity script takes;
* :func:`run` runs a tool and captures its output;
* :func:`onnx_params` reads the initializers of an exported model;
* :func:`torch_module` rebuilds the PyTorch module an ONNX file was exported
  from (``parallelize.family`` / ``parallelize.config`` metadata) and loads
  the ONNX initializers into it through the ``<name>.params.json`` sidecar;
* :func:`interpret` runs one function of a .mlir file with ``pz-interpret``
  on numpy arrays and returns its results by name;
* :func:`rel_err` is the per-tensor relative error the checks gate on.

Import it with ``scripts/`` on ``sys.path`` (the scripts next to it do).
"""

import argparse
import collections
import json
import os
import struct
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if os.path.join(ROOT, "python-frontend") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "python-frontend"))

# Floor of the denominator of rel_err, so that an all-zero reference
# tensor compares absolutely.
TINY = 1e-12


def parity_argparser(doc, steps):
    """The options every parity script takes: --bin, --models, --work,
    --steps (default `steps`) and --only; the description is the first line
    of `doc`."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "models"))
    ap.add_argument("--work", default=None)
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--only", default="")
    return ap


def npy_feeds(work, batches):
    """The train program's --data-npy value for ``batches`` (one dict of
    arrays per step, fed in order): one .npy file per input in ``work``,
    the steps' rows concatenated."""
    feeds = []
    for k in batches[0]:
        path = os.path.join(work, k + ".npy")
        np.save(path, np.concatenate([b[k] for b in batches]))
        feeds.append(f"{k}={path}")
    return ",".join(feeds)


def run(args, **kwargs):
    """Runs ``args``; stdout and stderr captured as text."""
    return subprocess.run([str(a) for a in args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kwargs)


def onnx_params(path):
    """The initializers of ``path``: OrderedDict name -> numpy array."""
    return collections.OrderedDict(
        (t.name, numpy_helper.to_array(t))
        for t in onnx.load(path, load_external_data=True).graph.initializer)


def onnx_metadata(path):
    return {p.key: p.value for p in onnx.load(path).metadata_props}


def torch_module(path, params=None):
    """The PyTorch module ``path`` was exported from, in fp32, with the
    ONNX initializer values (``params``, default :func:`onnx_params`)
    loaded into its parameters.

    Returns ``(module, names)`` where ``names`` maps each initializer name
    to the torch parameter it feeds.  Raises ValueError when an initializer
    has no torch parameter or a parameter no initializer.
    """
    import torch
    from parallelize import models as M

    meta = onnx_metadata(path)
    family = meta["parallelize.family"]
    cfg = json.loads(meta["parallelize.config"])
    seed = cfg.pop("seed", 0)
    loss = onnx.load(path).graph.output[0].name == "loss"
    module = M.build(family, loss=loss, seed=seed, **cfg).float()
    sidecar = os.path.splitext(path)[0] + ".params.json"
    with open(sidecar) as f:
        info = json.load(f)["initializers"]
    if params is None:
        params = onnx_params(path)
    torch_params = dict(module.named_parameters())
    names = {}
    for name, value in params.items():
        tname = info.get(name, {}).get("torch_name", name)
        if tname not in torch_params:
            raise ValueError(f"{path}: initializer {name!r} has no torch "
                             f"parameter (torch name {tname!r})")
        p = torch_params[tname]
        if tuple(p.shape) != tuple(value.shape):
            raise ValueError(f"{path}: {name} has shape {value.shape}, torch "
                             f"{tname} {tuple(p.shape)}")
        with torch.no_grad():
            p.copy_(torch.from_numpy(np.array(value)))
        names[name] = tname
    missing = sorted(set(torch_params) - set(names.values()))
    if missing:
        raise ValueError(f"{path}: torch parameters without an initializer: "
                         f"{missing}")
    return module, names


def interpret(bin_dir, mlir, function, inputs, work):
    """Runs ``@function`` of ``mlir`` with pz-interpret.

    ``inputs`` maps argument names (``param:NAME``, ``grad:NAME``,
    ``state:KIND:NAME``, ``input:NAME``, ...) to numpy arrays; they are
    saved under ``work``.  Returns an OrderedDict result name -> array
    (float64 or int64), in result order, or raises RuntimeError.
    """
    os.makedirs(work, exist_ok=True)
    args = [os.path.join(bin_dir, "pz-interpret"), mlir, "--function",
            function, "--output-dir", os.path.join(work, "out")]
    for i, (name, value) in enumerate(inputs.items()):
        p = os.path.join(work, f"in{i}.npy")
        np.save(p, value)
        args += ["--input", f"{name}={p}"]
    r = run(args)
    if r.returncode:
        raise RuntimeError(f"pz-interpret @{function} failed "
                           f"(exit {r.returncode}): {r.stderr.strip()}")
    results = collections.OrderedDict()
    for line in r.stdout.splitlines():
        # "<name>: (<shape>) -> <path>"; a name may itself contain ':'.
        left, sep, path = line.rpartition(" -> ")
        if not sep:
            continue
        name = left.rpartition(": (")[0]
        results[name] = np.load(path)
    return results


def rel_err(got, want, floor=TINY):
    """max|got - want| / max(max|want|, floor), in float64."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return float("inf")
    if want.size == 0:
        return 0.0
    return float(np.max(np.abs(got - want)) /
                 max(float(np.max(np.abs(want))), floor))


def elementwise_rel_err(got, want, floor=1e-3):
    """max over elements of |got - want| / |want|, over the elements with
    |want| >= floor * max|want| (informative: near-zero elements have no
    meaningful relative error)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return float("inf")
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    mask = np.abs(want) >= max(floor * scale, TINY)
    if not mask.any():
        return 0.0
    return float(np.max(np.abs(got[mask] - want[mask]) / np.abs(want[mask])))


def read_safetensors(path):
    """The tensors of a safetensors file (F32, F64 or I64) as numpy arrays."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            b, e = info["data_offsets"]
            f.seek(base + b)
            dt = {"F32": np.float32, "F64": np.float64, "I64": np.int64}[info["dtype"]]
            out[name] = np.frombuffer(f.read(e - b), dtype=dt).reshape(info["shape"])
    return out


def compile_and_train(bin_dir, onnx_path, work, data, flags):
    """Compiles ``onnx_path`` for one rank (``--input-shape`` from the
    first batch of ``data``, then ``flags``) into ``work/out`` and trains
    one step per batch of ``data`` (fed in order through ``--data-npy``),
    saving a checkpoint. Returns ``(stderr, losses, weights)``: the compile
    and train diagnostics, each step's loss and the trained parameters by
    name (the checkpoint's optimizer states left out). Raises RuntimeError
    when a tool fails."""
    out = os.path.join(work, "out")
    shapes = []
    for k, v in data[0].items():
        shapes += ["--input-shape", f"{k}={'x'.join(map(str, v.shape))}"]
    r = run([os.path.join(bin_dir, "parallelize"), "compile", onnx_path,
             "-o", out] + shapes + list(flags))
    if r.returncode:
        raise RuntimeError(f"compile failed: {r.stderr.strip()}")
    compile_err = r.stderr
    feeds = npy_feeds(work, data)
    metrics = os.path.join(work, "metrics.jsonl")
    ckpt = os.path.join(work, "ckpt")
    r = run([os.path.join(out, "train"), "--steps", len(data), "--data-npy",
             feeds, "--metrics", metrics, "--save", ckpt, "--log-every", "0"])
    if r.returncode:
        raise RuntimeError(f"train failed (exit {r.returncode}): "
                           f"{r.stderr.strip()}")
    weights = {}
    for fn in sorted(os.listdir(ckpt)):
        if fn.endswith(".safetensors"):
            weights.update(read_safetensors(os.path.join(ckpt, fn)))
    # the parameters (optimizer states are "exp_avg:NAME", ...)
    weights = {k: v for k, v in weights.items() if ":" not in k}
    losses = [json.loads(line)["loss"] for line in open(metrics)]
    return compile_err + r.stderr, losses, weights


def torch_adamw(module, data, loss_of, lr, betas, eps, weight_decay):
    """Trains ``module`` in fp32 with torch.optim.AdamW, one step per batch
    of ``data`` (dicts of numpy arrays); ``loss_of(module, tensors)`` gives
    a batch's loss. Returns each step's loss and the final parameters by
    name (float64)."""
    import torch
    module.train()
    opt = torch.optim.AdamW(module.parameters(), lr=lr, betas=betas, eps=eps,
                            weight_decay=weight_decay)
    losses = []
    for b in data:
        opt.zero_grad(set_to_none=True)
        loss = loss_of(module, {k: torch.from_numpy(v) for k, v in b.items()})
        loss.backward()
        losses.append(float(loss))
        opt.step()
    return losses, {n: p.detach().double().numpy()
                    for n, p in module.named_parameters()}


def worst_weight_err(got, want):
    """The largest max|got - want| / max(max|want|, 1) over the tensors of
    ``want`` that ``got`` holds with the same shape, and its name."""
    worst, where = 0.0, ""
    for p, t in want.items():
        if p not in got or got[p].shape != t.shape:
            continue
        e = float(np.abs(got[p].astype(np.float64) - t).max() /
                  max(np.abs(t).max(), 1.0)) if t.size else 0.0
        if e > worst:
            worst, where = e, p
    return worst, where
