#!/usr/bin/env python3
"""bf16 and fp16 training on the CPU backend against fp32 and PyTorch autocast.

For gpt2_loss and llama_loss (python-frontend exports in build/models),
compiles the model three times, `--precision fp32`, `bf16` and `fp16` (AdamW,
lr 3e-3), and trains each `train` program --steps (20) steps from the ONNX
initializers on the same batches: two batches of cpu-parity.py's data,
alternating, so that the loss falls far enough (about 5.5 to 3) for a
tolerance of 2e-2 to tell a model that learns from one that does not. PyTorch
trains the module the ONNX file was exported from, on the same data, with
fp32 weights under `torch.autocast("cpu", dtype=torch.bfloat16)`.

Gates (issue 15's CPU acceptance), on the loss of every step:
  * bf16: |ours - fp32 ours| <= 2e-2 |fp32 ours|, and
          |ours - torch autocast| <= 2e-2 |torch autocast|;
  * fp16: |ours - fp32 ours| <= 2e-2 |fp32 ours|;
  * every run's measured peak memory equals report.json's plan (the fp32
    copies the CPU kernels work on are planned workspace);
  * bf16 and fp16 differ from fp32 at some step by more than 1e-6 relative
    (the program really computed in 16 bits; a silent fp32 run fails this),
    and the last loss is below 0.8 x the first (it trained).

Plans in bf16, on gpt2_loss: tp 2 with sp (GPT-2's fused q/k/v and the
weights split through their casts), dp_shard 2 under ZeRO 3, and pp 2 under
1F1B with 2 micro-batches, each against the single-rank bf16 program: every
step's loss within 2e-2 relative (a plan moves where bf16 rounds: tp's
partial sums round before their all-reduce, a data-parallel rank's weight
gradient rounds over its own rows; measured 4e-4 to 8e-4), and the plan's
own traffic (tp.*, zero3.*, pp.*) measured, so that a plan that silently ran
whole fails.

Then the dynamic loss scaler, end to end through a compiled fp16 program:
`--loss-scale 4294967296` (2^32) makes the first steps overflow fp16 (the
scaled logit gradient exceeds 65504). The gates: the logged loss scale starts
at 2^32 and halves after every step whose metrics say `skipped`, and only
then (the growth window of 1000 steps is not reached); at least one step is
skipped and a later one applied; until the first applied step the losses
repeat exactly (the weights do not move, and the two batches alternate); the
weights after one skipped step equal the initial weights bit for bit; and once
the scale fits, training proceeds: the last loss is below the first. (With
lr 3e-3 a later step may overflow again as the gradients grow; the scaler
then halves once more, which the first gate follows.)

Usage: /usr/bin/python3 scripts/mixed-precision-parity.py [--bin DIR]
       [--models DIR] [--work DIR] [--steps N] [--only NAME,...] [--json FILE]
Exit status 1 when a gate fails.
"""

import importlib.util
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pzparity as P  # noqa: E402

import torch  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "cpu_parity", os.path.join(os.path.dirname(os.path.abspath(__file__)), "cpu-parity.py"))
CP = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(CP)

LR, BETAS, EPS, WD = 3e-3, (0.9, 0.999), 1e-8, 0.1
FLAGS = ["--optimizer", "adamw", "--lr", repr(LR), "--betas", f"{BETAS[0]},{BETAS[1]}",
         "--eps", repr(EPS), "--weight-decay", repr(WD)]
RTOL = 2e-2          # the tolerance, relative, on every step's loss
PLAN_RTOL = 2e-2     # a plan in bf16 against one rank in bf16: see the docstring
MIN_DIFFERENCE = 1e-6  # 16-bit compute must show against fp32
MODELS = ["gpt2_loss", "llama_loss"]
OVERFLOW_SCALE = 2.0 ** 32


def train(bin_dir, onnx_path, work, batches, flags, steps, ckpt=None, ranks=1, rows=None):
    """Compiles with `flags` (each program's batch: `rows` rows of the
    batches', default all) and trains `steps` steps on `ranks` ranks;
    returns the metrics records (and the checkpoint's weights when `ckpt` is
    a path)."""
    out = os.path.join(work, "out")
    shape = {k: v[:rows] if rows else v for k, v in batches[0].items()}
    r = P.run([os.path.join(bin_dir, "parallelize"), "compile", onnx_path, "-o", out]
              + CP.input_shapes(shape) + FLAGS + flags)
    if r.returncode:
        raise RuntimeError(f"compile {' '.join(flags)} failed: {r.stderr.strip()}")
    feeds = P.npy_feeds(work, batches)
    metrics = os.path.join(work, "metrics.jsonl")
    args = ["--steps", steps, "--data-npy", feeds, "--metrics", metrics, "--log-every", "0"]
    if ckpt:
        args += ["--save", ckpt]
    if ranks > 1:
        args = [os.path.join(bin_dir, "parallelize"), "run", "-n", ranks, out, "--"] + args
    else:
        args = [os.path.join(out, "train")] + args
    r = P.run(args, timeout=600)
    if r.returncode:
        raise RuntimeError(f"train {' '.join(flags)} failed (exit {r.returncode}): "
                           f"{r.stderr.strip()}")
    records = [json.loads(line) for line in open(metrics)]
    report = json.load(open(os.path.join(out, "report.json")))
    planned = report["memory"]["per_rank"][0]["peak_bytes"]
    peaks = sorted({r["peak_bytes"] for r in records})
    if peaks != [planned]:
        raise RuntimeError(f"train {' '.join(flags)}: measured peak bytes {peaks} != "
                           f"report.json's plan {planned}")
    return records, (CP.read_checkpoint(ckpt) if ckpt else None)


def torch_autocast(onnx_path, params, batches):
    module, names = P.torch_module(onnx_path, params)
    module.train()
    tparams = dict(module.named_parameters())
    opt = torch.optim.AdamW([tparams[names[n]] for n in params], lr=LR, betas=BETAS,
                            eps=EPS, weight_decay=WD)
    losses = []
    for data in batches:
        inputs = [torch.from_numpy(data[n].copy()) for n in module.input_names]
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            loss = module(*inputs)
        loss.float().backward()
        losses.append(float(loss))
        opt.step()
    return losses


def worst_rel(got, want):
    return max(abs(g - w) / abs(w) for g, w in zip(got, want))


def check_precision(a, model, onnx_path, batches, mwork, report):
    params = P.onnx_params(onnx_path)
    runs = {}
    for precision in ("fp32", "bf16", "fp16"):
        work = os.path.join(mwork, precision)
        os.makedirs(work, exist_ok=True)
        records, _ = train(a.bin, onnx_path, work, batches, ["--precision", precision], a.steps)
        runs[precision] = [r["loss"] for r in records]
    ref = torch_autocast(onnx_path, params, batches)
    fp32 = runs["fp32"]
    ok_all = True
    entry = {"fp32": fp32, "torch_autocast_bf16": ref}
    for precision in ("bf16", "fp16"):
        got = runs[precision]
        vs32 = worst_rel(got, fp32)
        gates = [(len(got) == a.steps, f"{len(got)} of {a.steps} steps"),
                 (vs32 <= RTOL, f"vs fp32 {vs32:.2e}"),
                 (vs32 > MIN_DIFFERENCE, f"differs from fp32 by more than {MIN_DIFFERENCE:g}"),
                 (got[-1] < 0.8 * got[0], f"loss {got[0]:.4f} -> {got[-1]:.4f}")]
        vsref = None
        if precision == "bf16":
            vsref = worst_rel(got, ref)
            gates.append((vsref <= RTOL, f"vs torch autocast {vsref:.2e}"))
        ok = all(g for g, _ in gates)
        ok_all &= ok
        print(f"{'ok  ' if ok else 'FAIL'} {model} {precision}: "
              + "; ".join(("" if g else "FAILED ") + t for g, t in gates)
              + f" (gate {RTOL:g} relative on every step's loss)")
        entry[precision] = {"losses": got, "rel_err_vs_fp32": vs32,
                            "rel_err_vs_torch_autocast": vsref}
    # Not gated: how far bf16 moves PyTorch's own loss from our fp32 one.
    entry["fp32_vs_torch_autocast"] = worst_rel(fp32, ref)
    print(f"     {model}: fp32 vs torch bf16 autocast {entry['fp32_vs_torch_autocast']:.2e} "
          f"(not gated; the scale of bf16's own effect)")
    report[model] = entry
    return ok_all


# Plans under bf16 against the single-rank bf16 program: (name, flags,
# ranks, rows of each program's batch (the global batch is the 2 rows), the
# prefix of the traffic reasons that show the plan ran split).
PLANS = [("tp 2 sp", ["--tp", "2", "--sp"], 2, None, "tp."),
         ("dp_shard 2 zero 3", ["--dp-shard", "2", "--zero", "3"], 2, 1, "zero3."),
         ("pp 2 1f1b m 2", ["--pp", "2", "--grad-accum", "2"], 2, 1, "pp.")]


def check_plans(a, model, onnx_path, batches, mwork, report, single):
    ok_all = True
    for name, flags, ranks, rows, prefix in PLANS:
        work = os.path.join(mwork, "bf16-" + name.replace(" ", "-"))
        os.makedirs(work, exist_ok=True)
        records, _ = train(a.bin, onnx_path, work, batches, ["--precision", "bf16"] + flags,
                           a.steps, ranks=ranks, rows=rows)
        got = [r["loss"] for r in records]
        err = worst_rel(got, single)
        reasons = {k for r in records for k, v in r.get("comm_bytes_by_reason", {}).items() if v}
        gates = [(len(got) == a.steps, f"{len(got)} of {a.steps} steps"),
                 (err <= PLAN_RTOL, f"vs one rank in bf16 {err:.2e}"),
                 (any(k.startswith(prefix) for k in reasons),
                  f"{prefix}* traffic measured ({', '.join(sorted(reasons)) or 'none'})")]
        ok = all(g for g, _ in gates)
        ok_all &= ok
        print(f"{'ok  ' if ok else 'FAIL'} {model} bf16 {name}: "
              + "; ".join(("" if g else "FAILED ") + t for g, t in gates)
              + f" (gate {PLAN_RTOL:g})")
        report.setdefault(model, {})["bf16 " + name] = {"losses": got, "rel_err_vs_one_rank": err}
    return ok_all


def check_overflow(a, model, onnx_path, batches, mwork, report):
    work = os.path.join(mwork, "fp16-overflow")
    os.makedirs(work, exist_ok=True)
    flags = ["--precision", "fp16", "--loss-scale", repr(OVERFLOW_SCALE)]
    records, _ = train(a.bin, onnx_path, work, batches, flags, a.steps)
    os.makedirs(os.path.join(work, "one"), exist_ok=True)
    one, w1 = train(a.bin, onnx_path, os.path.join(work, "one"), batches, flags, 1,
                    ckpt=os.path.join(work, "ckpt1"))
    init = P.onnx_params(onnx_path)
    skipped = [r["skipped"] for r in records]
    scales = [r["loss_scale"] for r in records]
    gates = []
    expect = OVERFLOW_SCALE
    halving = True
    for r in records:
        halving &= r["loss_scale"] == expect
        expect = expect * 0.5 if r["skipped"] else expect
    n_skipped = sum(skipped)
    first_good = skipped.index(False) if False in skipped else None
    gates.append((halving, "each skipped step halves the scale"))
    gates.append((n_skipped >= 1 and first_good is not None,
                  f"{n_skipped} skipped steps, the first applied one is step {first_good + 1 if first_good is not None else None}"))
    losses = [r["loss"] for r in records]
    # Until the first applied step the weights never move, so each batch
    # (two, alternating) gives the same loss every time, bit for bit.
    frozen = all(losses[t] == losses[t % 2] for t in range(first_good or 0))
    gates.append((frozen, "the losses before it repeat exactly"))
    same = one[0]["skipped"] and all(np.array_equal(np.asarray(w1[n]), np.asarray(init[n]))
                                     for n in init)
    gates.append((same, "a skipped step leaves the weights bit for bit"))
    gates.append((losses[-1] < losses[0], f"loss {losses[0]:.4f} -> {losses[-1]:.4f}"))
    ok = all(g for g, _ in gates)
    print(f"{'ok  ' if ok else 'FAIL'} {model} fp16 --loss-scale 2^32: "
          + "; ".join(("" if g else "FAILED ") + t for g, t in gates))
    report[model + "-fp16-overflow"] = {"loss_scale": scales, "skipped": skipped,
                                        "losses": losses}
    return ok


def main():
    ap = P.parity_argparser(__doc__, steps=20)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.manual_seed(0)
    work = a.work or tempfile.mkdtemp(prefix="pz-mp-parity-")
    failures, report = 0, {}
    for model in [m for m in MODELS if not a.only or m in a.only.split(",")]:
        onnx_path = os.path.join(a.models, model + ".onnx")
        two = [CP.batch(a.models, model, t) for t in range(2)]
        batches = [two[t % 2] for t in range(a.steps)]
        mwork = os.path.join(work, model)
        try:
            failures += not check_precision(a, model, onnx_path, batches, mwork, report)
            if model == MODELS[0]:
                failures += not check_plans(a, model, onnx_path, batches, mwork, report,
                                            report[model]["bf16"]["losses"])
                failures += not check_overflow(a, model, onnx_path, batches, mwork, report)
        except RuntimeError as e:
            print(f"FAIL {model}: {e}")
            failures += 1
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
