#!/usr/bin/env python3
"""The imported test models compute what PyTorch computes.

For each model of python-frontend (mlp, gpt2, llama, bert, plain and loss),
imports build/models/<name>.onnx at a batch and sequence length other than
the export trace's (`parallelize inspect --emit-ir --input-shape ...`), fuses
it (`parallelize-opt --pz-fuse-patterns --canonicalize --cse`), runs both the
imported and the fused IR with the reference interpreter (`pz-interpret`) on
the ONNX initializers and deterministic inputs, and compares the results
with the PyTorch module's output on the same inputs.

Usage: /usr/bin/python3 scripts/onnx-conformance-models.py [--bin DIR]
       [--models DIR] [--work DIR] [--rtol X] [--atol X]
Exit status 1 when a result differs or a step fails.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python-frontend"))

import torch  # noqa: E402
from parallelize import export as E  # noqa: E402
from parallelize import models as M  # noqa: E402

# (batch, seq) of the check; the export traced (2, 16).
BATCH, SEQ = 3, 8


def run(args, **kwargs):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kwargs)


def check(family, loss, bin_dir, models_dir, work, rtol, atol):
    name = family + ("_loss" if loss else "")
    path = os.path.join(models_dir, name + ".onnx")
    os.makedirs(work, exist_ok=True)
    module = M.build(family, loss=loss)
    inputs = E.example_inputs(family, module, loss, BATCH, SEQ)
    with torch.no_grad():
        want = module(*inputs.values()).numpy().astype(np.float64)

    args = []
    for t in onnx.load(path).graph.initializer:
        p = os.path.join(work, f"param_{t.name}.npy")
        np.save(p, numpy_helper.to_array(t))
        args += ["--input", f"param:{t.name}={p}"]
    shapes = []
    for k, v in inputs.items():
        p = os.path.join(work, f"input_{k}.npy")
        np.save(p, v.numpy())
        args += ["--input", f"input:{k}={p}"]
        shapes += ["--input-shape", k + "=" + "x".join(map(str, v.shape))]

    imported = run([os.path.join(bin_dir, "parallelize"), "inspect", path,
                    "--emit-ir"] + shapes)
    if imported.returncode:
        return [f"{name}: import failed: {imported.stderr.strip()}"]
    fused = run([os.path.join(bin_dir, "parallelize-opt"),
                 "--pz-fuse-patterns", "--canonicalize", "--cse"],
                input=imported.stdout)
    if fused.returncode:
        return [f"{name}: fusion failed: {fused.stderr.strip()}"]
    errors = []
    out_name = "loss" if loss else "logits"
    for kind, ir in (("imported", imported.stdout), ("fused", fused.stdout)):
        ir_path = os.path.join(work, kind + ".mlir")
        with open(ir_path, "w") as f:
            f.write(ir)
        out_dir = os.path.join(work, kind)
        r = run([os.path.join(bin_dir, "pz-interpret"), ir_path,
                 "--output-dir", out_dir] + args)
        if r.returncode:
            errors.append(f"{name} ({kind}): pz-interpret failed: "
                          f"{r.stderr.strip()}")
            continue
        got = np.load(os.path.join(out_dir, out_name + ".npy"))
        err = float(np.max(np.abs(got - want))) if want.size else 0.0
        ok = got.shape == want.shape and np.allclose(got, want, rtol=rtol,
                                                     atol=atol)
        print(f"{name:<12} {kind:<9} shape {tuple(got.shape)!s:<14} "
              f"max |diff| {err:.2e}  {'ok' if ok else 'DIFFERS'}")
        if not ok:
            errors.append(f"{name} ({kind}) differs from PyTorch: max "
                          f"|diff| {err:g}")
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "models"))
    ap.add_argument("--work", help="scratch directory")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    work = args.work or tempfile.mkdtemp(prefix="pz-models-")
    errors = []
    for family in ("mlp", "gpt2", "llama", "bert"):
        for loss in (False, True):
            errors += check(family, loss, args.bin, args.models,
                            os.path.join(work, family + ("_loss" if loss
                                                         else "")),
                            args.rtol, args.atol)
    for e in errors:
        print("FAIL " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
