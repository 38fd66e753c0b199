#!/usr/bin/env python3
"""Pipeline stages balanced by cost against stages of equal layer counts,
on 2 local CPU ranks, side by side in one run.

The model: python-frontend's GPT-2 with --layers blocks and a --vocab-word
vocabulary, so that the LM head and the loss cost several blocks (a model
whose layers differ in cost: the head is the costliest). Both programs run
pp 2, 1F1B, --micro micro-batches of --rows rows of --seq tokens:

  * balanced: pz-split-stages' default cut (the stages' forward and
    backward FLOPs, StageCost.h, balanced by the linear-partition DP);
  * even:     --stage-boundaries h.<layers/2>, half of the blocks on each
    stage (the last one also holds the head and the loss), as a layout
    string by layer count gives.

For each: the predicted step (`inspect --schedule --json`: the simulated
1F1B makespan in FLOPs, from each stage's cost) and the measured median
`step_time_s` of rank 0 over --steps timed steps after --warmup, in
--rounds alternating rounds. The JSON has both and their ratios.

Usage: /usr/bin/python3 bench/pp_balance.py [--layers 4] [--vocab 8192]
       [--steps 10] [--rounds 3] [--json FILE]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

import common

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--json", default=os.path.join(common.ROOT, "build", "bench", "pp_balance.json"))
ap.add_argument("--bin", default=os.path.join(common.ROOT, "build", "bin"))
ap.add_argument("--work", default=None)
ap.add_argument("--layers", type=int, default=4)
ap.add_argument("--vocab", type=int, default=8192)
ap.add_argument("--hidden", type=int, default=64)
ap.add_argument("--rows", type=int, default=2)
ap.add_argument("--seq", type=int, default=64)
ap.add_argument("--micro", type=int, default=8)
ap.add_argument("--steps", type=int, default=10)
ap.add_argument("--warmup", type=int, default=2)
ap.add_argument("--rounds", type=int, default=3)
a = ap.parse_args()

work = a.work or tempfile.mkdtemp(prefix="pz-bench-pp-")
models = os.path.join(work, "models")
model = os.path.join(models, "gpt2_loss.onnx")
if not os.path.exists(model):
    sys.path.insert(0, os.path.join(common.ROOT, "python-frontend"))
    from parallelize import export as E  # noqa: E402 (needs torch)
    os.makedirs(models, exist_ok=True)
    E.export_family("gpt2", models, loss=True, layers=a.layers, vocab=a.vocab, hidden=a.hidden,
                    positions=max(a.seq, 64))

shape = f"{a.rows}x{a.seq}"
LAYOUTS = {"balanced": [], "even": ["--stage-boundaries", f"h.{a.layers // 2}"]}


def compile_layout(name):
    out = os.path.join(work, name)
    r, _ = common.run([os.path.join(a.bin, "parallelize"), "compile", model, "-o", out,
                       "--input-shape", "input_ids=" + shape, "--input-shape", "labels=" + shape,
                       "--pp", 2, "--schedule", "1f1b", "--grad-accum", a.micro,
                       "--optimizer", "adamw"] + LAYOUTS[name])
    if r.returncode:
        sys.exit(f"compile ({name}) failed: {r.stderr}")
    r, _ = common.run([os.path.join(a.bin, "parallelize"), "inspect", out, "--schedule",
                       "--json"])
    if r.returncode:
        sys.exit(f"inspect ({name}) failed: {r.stderr}")
    sim = json.loads(r.stdout)
    report = json.load(open(os.path.join(out, "report.json")))
    stages = [s["flops_per_micro_batch"] for s in report["pipeline"]["per_stage"]]
    return out, sim["makespan"] * sim["unit_flops"], stages


def train(out):
    metrics = os.path.join(out, "bench-metrics.jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    r, _ = common.run([os.path.join(a.bin, "parallelize"), "run", "-n", 2, out, "--",
                       "--steps", a.warmup + a.steps, "--data", "synthetic", "--threads", 1,
                       "--metrics", metrics, "--log-every", "0"], env=env)
    if r.returncode:
        sys.exit(f"train failed: {r.stderr}")
    return [json.loads(l)["step_time_s"] for l in open(metrics)][a.warmup:]


compiled = {name: compile_layout(name) for name in LAYOUTS}
times = {name: [] for name in LAYOUTS}
for _ in range(a.rounds):
    for name in LAYOUTS:
        times[name] += train(compiled[name][0])
med = {name: statistics.median(v) for name, v in times.items()}
result = {
    "benchmark": "pp_balance",
    "model": f"gpt2_loss layers {a.layers} hidden {a.hidden} vocab {a.vocab}",
    "plan": f"pp 2, 1f1b, {a.micro} micro-batches of {a.rows} x {a.seq}",
    "ranks": 2, "threads_per_rank": 1,
}
for name in LAYOUTS:
    result[name] = {"stage_flops_per_micro_batch": compiled[name][2],
                    "predicted_step_flops": compiled[name][1],
                    "measured_step_s": {"median": med[name], "runs": times[name]}}
result["predicted_ratio_balanced_over_even"] = compiled["balanced"][1] / compiled["even"][1]
result["measured_ratio_balanced_over_even"] = med["balanced"] / med["even"]
result["machine"] = common.machine()
common.write_json(a.json, result)
