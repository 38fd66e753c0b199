#!/usr/bin/env python3
"""Replicated data parallelism (dp_replicate, DDP) trains the single-rank model.

For mlp_loss and gpt2_loss (python-frontend exports in build/models), with
AdamW (lr 1e-3, weight decay 0.1, --grad-clip 1.0 so that clipping reads the
averaged gradients) from the ONNX initializers, over --steps (10) steps of
one global batch of G rows per step (the same rows, fed through --data-npy,
for every run):

  * the single-rank program: micro-batches of G rows, grad_accum 1;
  * each case of CASES: dp_replicate n, grad_accum K, micro-batches of
    G / (n K) rows, started on n ranks by `parallelize run -n n`. Each rank
    reads its contiguous G / n rows of the global batch (CONTRACT.md).
    CASES: MLP on 2 ranks x 2 micro-batches (one bucket per gradient) and
    on 4 ranks; GPT-2 on 2 ranks (default 25 MiB: one bucket), on 2 ranks x
    2 micro-batches (one bucket per gradient) and on 4 ranks.

Gates, per case against the single-rank run:
  * loss of every step (the metrics' mean over the global batch):
    |dp - single| <= 1e-5 x |single|;
  * the gradient norm of every step (which clipping reads): within 1e-5;
  * final weights read from the --save checkpoint, per tensor:
    max|dp - single| <= 1e-4 x max(max|single|, 1);
  * communication: on every rank and step, the measured comm_bytes of
    all_reduce equals report.json's predicted bytes_per_step.all_reduce,
    equals 2(n-1)/n x 4P (P the parameter elements; the driver's loss
    average is not counted) and equals comm_bytes_by_reason
    "ddp.grad_bucket"; every other kind is 0;
  * memory: every rank's measured peak equals report.json's plan;
  * the launch checks the plan: the dp program started as one process
    exits 2 naming both world sizes.
The data has no ignored labels, so each rank's (and micro-batch's) mean
loss weighs the same number of tokens and the mean of the means is the
mean over the global batch.

Usage: /usr/bin/python3 scripts/ddp-parity.py [--bin DIR] [--models DIR]
       [--work DIR] [--steps N] [--only NAME,...]
Exit status 1 when a gate fails.
"""

import argparse
import collections
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pzparity as P  # noqa: E402

FLAGS = ["--optimizer", "adamw", "--lr", "1e-3", "--weight-decay", "0.1",
         "--grad-clip", "1.0"]
LOSS_RTOL, WEIGHT_RTOL = 1e-5, 1e-4
GLOBAL_ROWS = 4
# (model, dp_replicate, grad_accum, bucket_mb or None for the default 25)
CASES = [("mlp_loss", 2, 2, 0), ("mlp_loss", 4, 1, None),
         ("gpt2_loss", 2, 1, None), ("gpt2_loss", 2, 2, 0), ("gpt2_loss", 4, 1, None)]

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def global_batches(models_dir, model, steps):
    """Rows t*G .. t*G+G-1 feed step t: one array per input, all steps."""
    cfg = json.loads(P.onnx_metadata(os.path.join(models_dir, model + ".onnx"))
                     ["parallelize.config"])
    rng = np.random.default_rng(12)
    rows = GLOBAL_ROWS * steps
    data = collections.OrderedDict()
    if model.startswith("mlp"):
        data["x"] = rng.standard_normal((rows, cfg["in_features"])).astype(np.float32)
        data["labels"] = rng.integers(0, cfg["num_classes"], (rows,)).astype(np.int64)
        return data, {"x": [cfg["in_features"]], "labels": []}
    spec = json.load(open(os.path.join(models_dir, model + ".inputs.json")))
    seq = spec["inputs"][0]["shape"][1]
    for inp in spec["inputs"]:
        data[inp["name"]] = rng.integers(0, cfg["vocab"], (rows, seq)).astype(np.int64)
    return data, {k: [seq] for k in data}


def compile_program(bin_dir, onnx_path, out, row_shape, rows, dp, accum, bucket_mb):
    shapes = []
    for k, tail in row_shape.items():
        shapes += ["--input-shape", k + "=" + "x".join(map(str, [rows] + tail))]
    plan = ["--dp-replicate", dp, "--grad-accum", accum]
    if bucket_mb is not None:
        plan += ["--bucket-mb", bucket_mb]
    r = P.run([os.path.join(bin_dir, "parallelize"), "compile", onnx_path, "-o", out]
              + shapes + FLAGS + plan)
    if r.returncode:
        raise RuntimeError(f"compile failed: {r.stderr.strip()}")
    return json.load(open(os.path.join(out, "report.json")))


def train(bin_dir, out, n, feeds, steps, work):
    metrics = os.path.join(work, "metrics.jsonl")
    ckpt = os.path.join(work, "ckpt")
    args = ["--steps", steps, "--data-npy", ",".join(feeds), "--metrics", metrics,
            "--metrics-all", "--save", ckpt, "--log-every", "0"]
    cmd = [os.path.join(out, "train")] + args
    if n > 1:
        cmd = [os.path.join(bin_dir, "parallelize"), "run", "-n", n, out, "--"] + args
    r = P.run(cmd, timeout=300)
    if r.returncode:
        raise RuntimeError(f"train failed (exit {r.returncode}): {r.stderr.strip()}")
    ranks = [[json.loads(l) for l in open(os.path.join(work, f"metrics.rank{i}.jsonl"))]
             for i in range(n)]
    return [json.loads(l) for l in open(metrics)], ranks, read_checkpoint(ckpt)


def read_checkpoint(ckpt):
    weights = {}
    for fn in sorted(os.listdir(ckpt)):
        if fn.endswith(".safetensors"):
            weights.update(P.read_safetensors(os.path.join(ckpt, fn)))
    return weights


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(P.ROOT, "build", "bin"))
    ap.add_argument("--models", default=os.path.join(P.ROOT, "build", "models"))
    ap.add_argument("--work", default=None)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="pz-ddp-parity-")
    models = [m for m in collections.OrderedDict((c[0], 0) for c in CASES)
              if not a.only or m in a.only.split(",")]
    for model in models:
        onnx_path = os.path.join(a.models, model + ".onnx")
        params = P.onnx_params(onnx_path)
        num_elements = sum(int(v.size) for v in params.values())
        data, row_shape = global_batches(a.models, model, a.steps)
        mwork = os.path.join(work, model)
        os.makedirs(mwork, exist_ok=True)
        feeds = []
        for k, v in data.items():
            path = os.path.join(mwork, k + ".npy")
            np.save(path, v)
            feeds.append(f"{k}={path}")
        try:
            out = os.path.join(mwork, "single")
            compile_program(a.bin, onnx_path, out, row_shape, GLOBAL_ROWS, 1, 1, None)
            ref, _, ref_w = train(a.bin, out, 1, feeds, a.steps, out)
        except RuntimeError as e:
            check(False, f"{model} single rank: {e}")
            continue
        ref_loss = [m["loss"] for m in ref]
        check(all(m["comm_bytes"]["all_reduce"] == 0 for m in ref)
              and all(m["comm_bytes_by_reason"] == {} for m in ref),
              f"{model} single rank: no collective bytes")
        for (cmodel, n, k, bucket_mb) in CASES:
            if cmodel != model:
                continue
            name = f"{model} dp_replicate {n} grad_accum {k}" + (
                f" bucket_mb {bucket_mb}" if bucket_mb is not None else "")
            cwork = os.path.join(mwork, f"dp{n}-k{k}")
            try:
                report = compile_program(a.bin, onnx_path, cwork, row_shape,
                                         GLOBAL_ROWS // (n * k), n, k, bucket_mb)
                lone = P.run([os.path.join(cwork, "train"), "--steps", 1, "--log-every", 0],
                             timeout=60)
                check(lone.returncode == 2 and f"compiled for {n} ranks" in lone.stderr
                      and "but 1 was started" in lone.stderr,
                      f"{name}: one process exits 2 naming both world sizes "
                      f"(exit {lone.returncode}: {lone.stderr.strip()[:200]})")
                got, ranks, got_w = train(a.bin, cwork, n, feeds, a.steps, cwork)
            except RuntimeError as e:
                check(False, f"{name}: {e}")
                continue
            loss = [m["loss"] for m in got]
            worst_loss = max(abs(g - w) / abs(w) for g, w in zip(loss, ref_loss))
            check(len(loss) == a.steps and worst_loss <= LOSS_RTOL,
                  f"{name}: {len(loss)} steps, loss {ref_loss[0]:.5f} -> {ref_loss[-1]:.5f}, "
                  f"worst loss rel err {worst_loss:.2e} (gate {LOSS_RTOL:g})")
            # The optimizer's global norm (clipping at 1.0) is of the averaged
            # gradients: it matches the single rank's.
            norms = [m["grad_norm"] for m in got]
            ref_norms = [m["grad_norm"] for m in ref]
            worst_norm = max(abs(g - w) / abs(w) for g, w in zip(norms, ref_norms))
            check(worst_norm <= LOSS_RTOL and max(ref_norms) > 1.0,
                  f"{name}: gradient norm (clipped at 1.0; single rank up to "
                  f"{max(ref_norms):.3g}) worst rel err {worst_norm:.2e} (gate {LOSS_RTOL:g})")
            worst_w, worst_name = 0.0, ""
            for p in params:
                if p not in got_w or got_w[p].shape != ref_w[p].shape:
                    check(False, f"{name}: checkpoint tensor {p!r} missing or misshapen")
                    continue
                diff = np.abs(got_w[p].astype(np.float64) - ref_w[p])
                rel = float(diff.max() / max(np.abs(ref_w[p]).max(), 1.0)) if diff.size else 0.0
                if rel > worst_w:
                    worst_w, worst_name = rel, p
            check(worst_w <= WEIGHT_RTOL,
                  f"{name}: worst final weight err {worst_w:.2e} ({worst_name}; "
                  f"gate {WEIGHT_RTOL:g})")
            theory = 2 * (n - 1) * 4 * num_elements // n
            comm = report["communication"]
            predicted = comm["bytes_per_step"]["all_reduce"]
            others = {kind: b for kind, b in comm["bytes_per_step"].items()
                      if kind != "all_reduce" and b}
            check(predicted == theory and comm["bytes_per_step_by_reason"] ==
                  {"ddp.grad_bucket": theory} and not others,
                  f"{name}: report.json predicts {predicted} all_reduce bytes per step; "
                  f"2(n-1)/n x 4P = {theory} (P = {num_elements})")
            measured = sorted({(m["comm_bytes"]["all_reduce"],
                                m["comm_bytes_by_reason"].get("ddp.grad_bucket"),
                                sum(b for kind, b in m["comm_bytes"].items()
                                    if kind != "all_reduce"))
                               for r in ranks for m in r})
            check(len(ranks) == n and all(len(r) == a.steps for r in ranks)
                  and measured == [(theory, theory, 0)],
                  f"{name}: measured per rank and step (all_reduce, ddp.grad_bucket, other) "
                  f"= {measured}; predicted {theory}")
            planned = report["memory"]["per_rank"][0]["peak_bytes"]
            peaks = sorted({m["peak_bytes"] for r in ranks for m in r})
            check(peaks == [planned],
                  f"{name}: measured peak bytes per rank {peaks} = planned {planned} "
                  f"(the buckets are arena temporaries)")
    print(f"{len(failures)} failure(s)" if failures else "all DDP checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
