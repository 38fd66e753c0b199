#!/usr/bin/env python3
"""End-to-end checks of a compiled CPU `train` program (gpt2_loss).

* resume: 20 steps straight, and 10 steps + --save, then --load + 10 more
  steps, give bit-identical losses and grad norms (the metrics' float64
  values compared with ==) and bit-identical final checkpoints;
* memory: every step's measured peak_bytes equals report.json's predicted
  peak per rank, and the arena's measured peak of live bytes equals the
  planned one;
* fusion: the program built with pz-fuse-elementwise and the one built
  with --no-fusion give bit-identical losses, grad norms and checkpoints
  over 20 steps (each fused value keeps its op's own type and rounding);
* accumulation: --grad-accum 2 over micro-batches of b rows gives the loss
  and gradient norm of one batch of 2b rows (within 1e-6 relative; the
  model's loss is a mean over tokens with none ignored, so the mean of the
  two halves' means is the mean).

Usage: /usr/bin/python3 scripts/cpu-train-checks.py [--bin DIR] [--models DIR]
       [--work DIR]
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pzparity as P  # noqa: E402

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def compile_model(bin_dir, model, out, batch, seq, extra=()):
    shape = f"{batch}x{seq}"
    r = P.run([os.path.join(bin_dir, "parallelize"), "compile", model, "-o", out,
               "--input-shape", "input_ids=" + shape, "--input-shape", "labels=" + shape,
               "--lr", "1e-3"] + list(extra))
    if r.returncode:
        sys.exit(f"compile failed: {r.stderr}")


def train(out, work, name, args):
    metrics = os.path.join(work, name + ".jsonl")
    r = P.run([os.path.join(out, "train"), "--metrics", metrics, "--log-every", "0"] + args)
    if r.returncode:
        sys.exit(f"train {name} failed: {r.stderr}")
    return [json.loads(l) for l in open(metrics)]


def read_dir(d):
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))
            if f.endswith(".safetensors")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(P.ROOT, "build", "bin"))
    ap.add_argument("--models", default=os.path.join(P.ROOT, "build", "models"))
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="pz-cpu-train-")
    os.makedirs(work, exist_ok=True)
    model = os.path.join(a.models, "gpt2_loss.onnx")
    vocab = json.loads(P.onnx_metadata(model)["parallelize.config"])["vocab"]
    tokens = os.path.join(work, "tokens.u16")
    np.random.default_rng(0).integers(0, vocab, 20000).astype(np.uint16).tofile(tokens)

    out = os.path.join(work, "gpt2")
    compile_model(a.bin, model, out, 4, 32, ["--optimizer", "adamw", "--weight-decay", "0.1"])
    straight = train(out, work, "straight", ["--steps", "20", "--data", tokens,
                                             "--save", os.path.join(work, "ck20")])
    first = train(out, work, "first", ["--steps", "10", "--data", tokens,
                                       "--save", os.path.join(work, "ck10")])
    rest = train(out, work, "rest", ["--steps", "10", "--data", tokens,
                                     "--load", os.path.join(work, "ck10"),
                                     "--save", os.path.join(work, "ck10+10")])
    resumed = first + rest
    check([r["step"] for r in resumed] == list(range(1, 21)),
          "resume: the resumed run counts steps 11..20")
    check([(r["loss"], r["grad_norm"]) for r in resumed] ==
          [(r["loss"], r["grad_norm"]) for r in straight],
          "resume: losses and grad norms bit-identical to the uninterrupted run")
    check(read_dir(os.path.join(work, "ck20")) == read_dir(os.path.join(work, "ck10+10")),
          "resume: the final checkpoint files are byte-identical")

    unfused = os.path.join(work, "gpt2-unfused")
    compile_model(a.bin, model, unfused, 4, 32,
                  ["--optimizer", "adamw", "--weight-decay", "0.1", "--no-fusion"])
    plain = train(unfused, work, "unfused", ["--steps", "20", "--data", tokens,
                                             "--save", os.path.join(work, "ck20-unfused")])
    fused_ops = open(os.path.join(out, "model.mlir")).read().count("pz.fused")
    check(fused_ops > 0 and "pz.fused" not in open(os.path.join(unfused, "model.mlir")).read(),
          f"fusion: {fused_ops} pz.fused ops with fusion, none with --no-fusion")
    check([(r["loss"], r["grad_norm"]) for r in plain] ==
          [(r["loss"], r["grad_norm"]) for r in straight] and
          read_dir(os.path.join(work, "ck20")) == read_dir(os.path.join(work, "ck20-unfused")),
          "fusion: losses, grad norms and the step-20 checkpoint bit-identical to --no-fusion")

    report = json.load(open(os.path.join(out, "report.json")))
    rank0 = report["memory"]["per_rank"][0]
    check(all(r["peak_bytes"] == rank0["peak_bytes"] for r in straight),
          f"memory: measured peak_bytes == predicted {rank0['peak_bytes']} at every step")
    check(all(r["arena_peak_bytes"] == rank0["arena"]["peak_live_bytes"] for r in straight),
          f"memory: measured arena peak == planned {rank0['arena']['peak_live_bytes']}")

    one = os.path.join(work, "batch8")
    two = os.path.join(work, "accum2")
    compile_model(a.bin, model, one, 8, 32)
    compile_model(a.bin, model, two, 4, 32, ["--grad-accum", "2"])
    big = train(one, work, "batch8", ["--steps", "3", "--data", tokens])
    acc = train(two, work, "accum2", ["--steps", "3", "--data", tokens])
    worst = max(max(abs(x["loss"] - y["loss"]) / abs(y["loss"]),
                    abs(x["grad_norm"] - y["grad_norm"]) / abs(y["grad_norm"]))
                for x, y in zip(acc, big))
    check(worst <= 1e-6, f"accumulation: 2 x 4 rows == 8 rows over 3 steps (worst rel err {worst:.1e})")
    acc_report = json.load(open(os.path.join(two, "report.json")))["memory"]["per_rank"][0]
    check(all(r["peak_bytes"] == acc_report["peak_bytes"] for r in acc),
          "memory: with accumulators, measured peak == predicted")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
