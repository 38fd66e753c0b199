#!/usr/bin/env python3
"""An eval-mode export trains like PyTorch with --untie-initializers.

For python-frontend's GPT-2 and Llama loss models, exports each as a user
who leaves torch.onnx.export in its default eval mode would
(training=EVAL; do_constant_folding=False, so that the weights keep their
names and the LM head its tie: constant folding would fold transposed
weights into new tensors, 0010). torch 1.13 then merges equal initializers
(every norm scale of ones, the zero biases) and names the other parameters
through Identity nodes. Then:

  * `parallelize inspect` warns for each merged tensor ("stands for N
    parameters");
  * `parallelize compile --untie-initializers` gives every parameter its
    own copy (no warning; as many parameters as the module has) and trains
    --steps (10) AdamW steps from the export's values;
  * PyTorch trains the module itself on the same batches with
    torch.optim.AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0.1), in fp32.

Gates: every step's loss within 1e-5 relative of PyTorch's; the final
weights, read from the checkpoint by PyTorch name, within 1e-4 of the
tensor's scale (max(max|t|, 1)), as cpu-parity.py gates them. Without
--untie-initializers the merged parameters would train as one and the
losses part from PyTorch's after the first step.

A third case, gpt2-folded, exports GPT-2 with the exporter's default
do_constant_folding=True and checks --retie-initializers (folded_case).

Usage: /usr/bin/python3 scripts/eval-export-parity.py [--bin DIR]
       [--work DIR] [--steps N] [--only gpt2,llama,gpt2-folded]
Exit status 1 when a gate fails.
"""

import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python-frontend"))
import pzparity as P  # noqa: E402
from parallelize import models as M  # noqa: E402

LR, BETAS, EPS, WD = 1e-3, (0.9, 0.999), 1e-8, 0.1
FLAGS = ["--optimizer", "adamw", "--lr", repr(LR), "--betas", f"{BETAS[0]},{BETAS[1]}",
         "--eps", repr(EPS), "--weight-decay", repr(WD)]
ROWS, SEQ = 4, 16
MODELS = {"gpt2": M.GPT2Loss, "llama": M.LlamaLoss}
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def batches(vocab, steps):
    rng = np.random.default_rng(7)
    return [{"input_ids": rng.integers(0, vocab, (ROWS, SEQ), dtype=np.int64),
             "labels": rng.integers(0, vocab, (ROWS, SEQ), dtype=np.int64)}
            for _ in range(steps)]


def export_eval(module, path, fold=False):
    example = torch.zeros((ROWS, SEQ), dtype=torch.int64)
    module.eval()
    torch.onnx.export(module, (example, example), path, opset_version=17,
                      input_names=["input_ids", "labels"], output_names=["loss"],
                      training=torch.onnx.TrainingMode.EVAL, do_constant_folding=fold)


def folded_case(a, work):
    """GPT-2 exported with torch.onnx.export's defaults (eval mode,
    do_constant_folding=True): the LM head's wte.weight transposed is folded
    into a tensor of its own, which trains apart from the table. `inspect`
    warns; --retie-initializers (with --untie-initializers for the merged
    norms) reads it as the table's transpose again, and the losses follow
    PyTorch's. The other folded transposes (Conv1D weights, the position
    table's slice) are new tensors that train as their sources do, so only
    the losses and the weights that keep their PyTorch names are compared.
    Without --retie-initializers the losses part from PyTorch's."""
    mwork = os.path.join(work, "gpt2-folded")
    os.makedirs(mwork, exist_ok=True)
    module = M.GPT2Loss()
    onnx_path = os.path.join(mwork, "gpt2_folded.onnx")
    export_eval(module, onnx_path, fold=True)
    r = P.run([os.path.join(a.bin, "parallelize"), "inspect", onnx_path])
    check(r.returncode == 0 and "holds exactly the transpose of the embedding table "
          "'wte.weight'" in r.stderr,
          "gpt2-folded: inspect warns that an initializer is wte.weight transposed")
    data = batches(module.config.vocab, a.steps)
    want, want_w = P.torch_adamw(module, data, loss_of, LR, BETAS, EPS, WD)
    results = {}
    for retie in (True, False):
        flags = ["--untie-initializers"] + (["--retie-initializers"] if retie else [])
        cwork = os.path.join(mwork, "retie" if retie else "apart")
        os.makedirs(cwork, exist_ok=True)
        try:
            results[retie] = P.compile_and_train(a.bin, onnx_path, cwork, data, flags + FLAGS)
        except RuntimeError as e:
            check(False, f"gpt2-folded: {e}")
            return
    stderr, got, got_w = results[True]
    check("holds exactly the transpose" not in stderr,
          "gpt2-folded: --retie-initializers leaves no warning")
    worst = max(abs(g - w) / abs(w) for g, w in zip(got, want)) if got else 1.0
    check(len(got) == a.steps and worst <= 1e-5,
          f"gpt2-folded, retied: {len(got)} steps, worst loss rel err {worst:.2e} (gate 1e-5)")
    named = {k: v for k, v in got_w.items() if k in want_w}
    worst_w, where = P.worst_weight_err(named, {k: want_w[k] for k in named})
    check("wte.weight" in named and worst_w <= 1e-4,
          f"gpt2-folded, retied: {len(named)} weights under PyTorch names, worst err "
          f"{worst_w:.2e} ({where}; gate 1e-4)")
    _, apart, _ = results[False]
    worst_apart = max(abs(g - w) / abs(w) for g, w in zip(apart, want)) if apart else 0.0
    check(worst_apart > 1e-5,
          f"gpt2-folded, not retied: worst loss rel err {worst_apart:.2e} (the tie matters: "
          f"must exceed 1e-5)")


def loss_of(module, batch):
    return module(batch["input_ids"], batch["labels"])


def main():
    ap = P.parity_argparser(__doc__, steps=10)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="pz-eval-export-")
    for name, cls in MODELS.items():
        if a.only and name not in a.only.split(","):
            continue
        mwork = os.path.join(work, name)
        os.makedirs(mwork, exist_ok=True)
        module = cls()
        onnx_path = os.path.join(mwork, name + "_eval.onnx")
        export_eval(module, onnx_path)
        r = P.run([os.path.join(a.bin, "parallelize"), "inspect", onnx_path])
        merged = r.stderr.count("stands for")
        check(r.returncode == 0 and merged > 0,
              f"{name}: the eval-mode export warns for {merged} merged initializers")
        data = batches(module.config.vocab, a.steps)
        try:
            stderr, got, got_w = P.compile_and_train(
                a.bin, onnx_path, mwork, data, ["--untie-initializers"] + FLAGS)
        except RuntimeError as e:
            check(False, f"{name}: {e}")
            continue
        want, want_w = P.torch_adamw(module, data, loss_of, LR, BETAS, EPS, WD)
        check("stands for" not in stderr, f"{name}: --untie-initializers leaves no warning")
        check(sorted(got_w) == sorted(want_w),
              f"{name}: the program trains {len(got_w)} parameters under PyTorch's names "
              f"({len(want_w)} in the module)")
        worst = max(abs(g - w) / abs(w) for g, w in zip(got, want)) if got else 1.0
        check(len(got) == a.steps and worst <= 1e-5,
              f"{name}: {len(got)} steps, loss {want[0]:.5f} -> {want[-1]:.5f}, worst loss "
              f"rel err {worst:.2e} (gate 1e-5)")
        worst_w, where = P.worst_weight_err(got_w, want_w)
        check(worst_w <= 1e-4, f"{name}: worst final weight err {worst_w:.2e} ({where}; gate 1e-4)")
    if not a.only or "gpt2-folded" in a.only.split(","):
        folded_case(a, work)
    print(f"{len(failures)} failure(s)" if failures else "all eval-export checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
