#!/usr/bin/env python3
"""Pipeline parallelism trains the single-rank model.

For gpt2_loss (its LM head tied to the token embedding) and llama_loss
(two labels of each row -100, ignored), exported with 4 layers, with the
optimizer and data of dp-parity.py (AdamW, clipping at 0.5, one global
batch of G = 8 rows per step fed through --data-npy):

  * the single-rank program with grad_accum m (micro-batches of G / m rows);
  * each case: pp p stages, a schedule (gpipe, 1f1b, zb, interleaved) and m micro-batches
    (grad_accum m), the stages cut by pz-split-stages; alone on p ranks, or
    with dp_replicate, dp_shard under ZeRO 1, 2 and 3, tp (with sp) and cp
    on p x dp x tp x cp ranks (micro-batches of G / (m x dp) rows).

Gates, per case:
  * the loss of every step within 1e-5 relative of the single rank's, and
    the gradient norm (which clipping reads, summed over the stages, a tied
    embedding counted once) within 1e-5;
  * the final weights, read from the checkpoint the stages saved together
    (every stage's tensors, a tied one once), within 1e-4 of the single
    rank's (max abs error over max(|w|, 1));
  * traffic, per rank and step, measured = report.json = the formulas:
      pp.activation       m b s h x 4 bytes sent by every stage but the last
                          (one activation [b, s, h] per boundary and
                          micro-batch, fp32), divided by tp under sp and
                          by cp (the residual stream's sequence split)
      pp.activation_grad  the same, sent by every stage but the first
      pp.tied_grad        (gpt2) the embedding's gradient summed by the
                          first and last stage: 2 (n-1)/n x V h x 4 bytes,
                          n = 2 stages (its tp block, V / tp rows; its
                          chunk, ceil(V h / tp / dp_shard) elements, under
                          ZeRO 2 and 3)
    and every other reason (dp, ZeRO, tp, sp, cp: their formulas are
    dp-parity's and tp-parity's) measured = report.json, per stage;
      pp.grad_norm        the norm's sum of squares over pp, one f32:
                          2 (p-1) x 4 / p bytes (integer division, as the
                          runtime counts a ring all-reduce)
  * memory: every rank's measured peak equals its stage's plan in
    report.json; the stage's slots are the micro-batches in flight, m for
    GPipe and min(m, p - s) for 1F1B at stage s;
  * the schedule: report.json's per-stage order is the GPipe or 1F1B order
    and predicted_bubble is (p - 1) / (m + p - 1);
  * recompute: against the same case compiled without it, every stage keeps
    fewer bytes per micro-batch for its backward under full recompute (only
    the layer inputs) and its planned peak falls; under selective, fewer
    when the attention is unfused (gpt2_dropout_loss: dropout 0.1 on the
    probabilities keeps the scores), the same when it is fused (no scores
    exist); the losses stay the single rank's (a recomputed dropout draws
    the same mask).
  * recompute of a list of layers (rcI+J: --recompute h.I,h.J, the stages
    pinned at even layer counts; also with pp 1): every stage keeps
    exactly report.json's recomputed_bytes fewer than without recompute,
    the sum of its recomputed_bytes_by_layer; the stage the pins give each
    listed layer recomputes it and no other stage does; each listed block
    saves the same bytes (under sp, those of one stage: a stage may keep
    its norms' outputs gathered, another split); a stage holding none
    keeps the same bytes and peak, one holding some has a lower planned
    peak (pp > 1: the saved sets are slots outside the arena); every
    rank's measured peak equals its plan and the losses stay the single
    rank's without recompute.

Checkpoints: the stages' checkpoint of a case marked RESHARD, saved after
steps/2, loads into the single-rank program and into another pipeline
layout, whose remaining losses match the single rank's run within 1e-5.

Interleaved 1F1B (schedule "interleaved", "vV" in the other axes: V
chunks per rank, default 2): report.json lists the p x V chunks; each
chunk's order is its part of its rank's Megatron order (interleaved_order,
written from the paper's definition) and its slots the micro-batches in
flight in it; predicted_bubble is (p - 1) / (V m + p - 1); per rank, the
pp traffic is its chunks' (pp.activation per chunk but the global last,
pp.activation_grad per chunk but the global first, V all-reduces of the
norm) = report.json = the measurement, and the measured peak = the plan =
its chunks' peaks added.

The default run is a subset (make test) that touches every axis; --full
runs every combination of pp {2, 4} x schedule {gpipe, 1f1b, zb,
interleaved} x m {p, 2p} x recompute {none, selective, full} for the three
models and the compositions, and layer lists at pp {1, 2, 4} (make
test-full).

Usage: /usr/bin/python3 scripts/pp-parity.py [--bin DIR] [--models DIR]
       [--work DIR] [--steps N] [--only NAME,...] [--match TEXT] [--full]
Exit status 1 when a gate fails.
"""

import collections
import importlib.util
import json
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pzparity as P  # noqa: E402

_spec = importlib.util.spec_from_file_location("dp_parity", os.path.join(HERE, "dp-parity.py"))
D = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(D)

LOSS_RTOL, WEIGHT_RTOL = D.LOSS_RTOL, D.WEIGHT_RTOL
GLOBAL_ROWS = 8
LAYERS = 4
# (model, pp, schedule, micro-batches, plan of the other axes)
CASES = [("gpt2_loss", 2, "1f1b", 4, ""), ("gpt2_loss", 4, "gpipe", 4, ""),
         ("llama_loss", 2, "gpipe", 2, ""), ("llama_loss", 4, "1f1b", 8, ""),
         ("gpt2_loss", 2, "1f1b", 2, "dps2-z2"), ("llama_loss", 2, "gpipe", 2, "dps2-z3"),
         ("gpt2_loss", 2, "1f1b", 2, "dps2-z1-tp2-sp"), ("llama_loss", 2, "1f1b", 2, "tp2-sp-cp2"),
         ("gpt2_loss", 4, "1f1b", 4, "full"), ("llama_loss", 2, "gpipe", 4, "dps2-z3-full"),
         ("gpt2_dropout_loss", 2, "1f1b", 4, "selective"), ("llama_loss", 2, "gpipe", 2, "selective"),
         ("gpt2_dropout_loss", 2, "gpipe", 2, "full"), ("llama_loss", 2, "1f1b", 4, "even"),
         # middle stages (no token input) with ZeRO, and with tp and sp
         ("gpt2_loss", 4, "1f1b", 4, "dps2-z2"), ("llama_loss", 4, "gpipe", 4, "tp2-sp"),
         # the zero-bubble split backward, alone and with ZeRO-3, tp and sp
         ("gpt2_loss", 4, "zb", 8, ""), ("llama_loss", 2, "zb", 4, "dps2-z3-full"),
         ("gpt2_dropout_loss", 2, "zb", 2, "dps2-z1-tp2-sp"),
         # a list of layers: on one rank (a recomputed dropout inside the
         # layers), and per stage with ZeRO 3 (parameters gathered)
         ("gpt2_dropout_loss", 1, "1f1b", 2, "rc1+2"), ("llama_loss", 2, "gpipe", 2, "dps2-z3-even-rc1+2"),
         # interleaved 1F1B, 2 chunks per rank: alone (the tied embedding
         # on chunks of two ranks), and with ZeRO-3 and full recompute
         ("gpt2_loss", 2, "interleaved", 4, "v2"), ("llama_loss", 2, "interleaved", 2, "v2-dps2-z3-full")]
FULL_CASES = [(mo, p, s, m, rc) for mo in ("gpt2_loss", "llama_loss") for p in (2, 4)
              for s in ("gpipe", "1f1b", "zb") for m in (p, 2 * p)
              for rc in ("", "selective", "full")] + \
    [("gpt2_dropout_loss", p, s, m, rc) for p in (2, 4) for s in ("gpipe", "1f1b", "zb")
     for m in (p, 2 * p) for rc in ("", "selective", "full")] + \
    [(mo, 2, s, 2, o) for mo in ("gpt2_loss", "llama_loss") for s in ("gpipe", "1f1b", "zb")
     for o in ("dpr2", "dps2-z1", "dps2-z2", "dps2-z3", "tp2", "dps2-z1-tp2",
               "dps2-z1-tp2-sp", "cp2", "tp2-sp-cp2", "dps2-z3-full", "dps2-z1-tp2-sp-full")] + \
    [(mo, 4, s, 4, o) for mo in ("gpt2_loss", "llama_loss") for s in ("gpipe", "1f1b")
     for o in ("dpr2", "dps2-z1", "dps2-z2", "dps2-z3", "tp2", "tp2-sp", "cp2")] + \
    [(mo, p, s, m, ("even-" if p > 1 else "") + "rc" + layers)
     for mo in ("gpt2_loss", "llama_loss", "gpt2_dropout_loss")
     for p, s, m, layers in ((1, "1f1b", 2, "0+3"), (2, "gpipe", 2, "1+2"), (2, "1f1b", 4, "0"),
                             (4, "1f1b", 4, "1+2"), (4, "gpipe", 8, "0+1+2+3"))] + \
    [(mo, 2, "1f1b", 2, o) for mo in ("gpt2_loss", "llama_loss")
     for o in ("dps2-z3-even-rc1+2", "dps2-z1-tp2-sp-even-rc0+1+3", "cp2-even-rc1")] + \
    [(mo, p, "interleaved", m, "v2" + rc) for mo in ("gpt2_loss", "llama_loss", "gpt2_dropout_loss")
     for p in (2, 4) for m in (p, 2 * p) for rc in ("", "-selective", "-full")] + \
    [(mo, 2, "interleaved", 4, "v2-" + o) for mo in ("gpt2_loss", "llama_loss")
     for o in ("dpr2", "dps2-z1", "dps2-z2", "dps2-z3", "tp2", "dps2-z1-tp2", "dps2-z1-tp2-sp",
               "cp2", "tp2-sp-cp2", "dps2-z3-full")] + \
    [(mo, 2, "interleaved", 4, "v3") for mo in ("gpt2_loss", "llama_loss")]
# Saved by the case after steps/2, then loaded by each of these layouts
# (None: the single-rank program).
RESHARD = {("gpt2_loss", 2, "1f1b", 4, ""): [None, ("gpt2_loss", 4, "gpipe", 4, ""),
                                            ("gpt2_loss", 2, "interleaved", 4, "v2")],
           ("gpt2_loss", 2, "interleaved", 4, "v2"): [None, ("gpt2_loss", 2, "1f1b", 4, "")],
           ("llama_loss", 4, "1f1b", 8, ""): [None],
           ("gpt2_loss", 2, "1f1b", 2, "dps2-z1-tp2-sp"): [None, ("gpt2_loss", 4, "gpipe", 4, "")]}


def axes(other):
    """The other axes of a case: "dps2-z1-tp2-sp-full" -> {dps: 2, z: 1, tp: 2, sp: 1,
    rc: "full"}; "rc1+2" -> rc: [1, 2] (the layers recomputed); rc_part: the
    recompute part of the name."""
    out = {"dpr": 1, "dps": 1, "z": 0, "tp": 1, "sp": 0, "cp": 1, "rc": "none"}
    for part in filter(None, other.split("-")):
        if part in ("full", "selective"):
            out["rc"] = out["rc_part"] = part
            continue
        if part.startswith("rc"):
            out["rc"], out["rc_part"] = [int(i) for i in part[2:].split("+")], part
            continue
        if part == "even":  # pinned: LAYERS / pp layers on each stage
            out["even"] = 1
            continue
        if part.startswith("v") and part[1:].isdigit():  # interleaved: chunks per rank
            out["v"] = int(part[1:])
            continue
        key = part.rstrip("0123456789")
        out[key] = int(part[len(key):] or 1)
    return out


failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def case_name(case):
    _, p, s, m, other = case
    return f"pp {p} {s} m {m}" + (f" {other}" if other else "")


def ranks_of(case):
    x = axes(case[4])
    return case[1] * x["dpr"] * x["dps"] * x["tp"] * x["cp"]


def rows_of(a, case):
    x = axes(case[4])
    return a.rows // (case[3] * x["dpr"] * x["dps"])


def layer_prefix(onnx_path):
    return "h" if "gpt2" in os.path.basename(onnx_path) else "layers"


def compile_program(a, onnx_path, out, row_shape, rows, pp, schedule, m, other=""):
    shapes = []
    for key, tail in row_shape.items():
        shapes += ["--input-shape", key + "=" + "x".join(map(str, [rows] + tail))]
    plan = ["--grad-accum", m]
    x = axes(other)
    if pp > 1:
        plan += ["--pp", pp, "--schedule", schedule]
        if schedule == "interleaved":
            plan += ["--virtual-stages", x.get("v", 2)]
    plan += ["--dp-replicate", x["dpr"], "--dp-shard", x["dps"], "--tp", x["tp"], "--cp", x["cp"]]
    plan += (["--zero", x["z"]] if x["dps"] > 1 else []) + (["--sp"] if x["sp"] else [])
    layer = layer_prefix(onnx_path)
    rc = x["rc"]
    plan += ["--recompute", rc if isinstance(rc, str) else ",".join(f"{layer}.{i}" for i in rc)]
    if x.get("even"):
        plan += ["--stage-boundaries", ",".join(f"{layer}.{LAYERS * s // pp}" for s in range(1, pp))]
    r = P.run([os.path.join(a.bin, "parallelize"), "compile", onnx_path, "-o", out]
              + shapes + D.FLAGS + plan)
    if r.returncode:
        raise RuntimeError(f"compile failed: {r.stderr.strip()}")
    return json.load(open(os.path.join(out, "report.json")))


def expected_order(schedule, p, s, m):
    """The compute order of stage s (GPipe; 1F1B: p - s - 1 warm-up
    forwards, then one forward and one backward, then the rest)."""
    if schedule == "gpipe":
        return [f"F{k}" for k in range(m)] + [f"B{k}" for k in range(m)]
    warm = min(p - s - 1, m)
    order = [f"F{k}" for k in range(warm)]
    for i in range(m - warm):
        order += [f"F{warm + i}", f"B{i}"]
    return order + [f"B{k}" for k in range(m - warm, m)]


def zb_order_ok(order, m, p, s):
    """A ZB-H1 order: F, B and W of each micro-batch once, in that order and
    in micro-batch order, at most p - s micro-batches between F and B and s + 1
    between B and W."""
    want = {k: [f"F{i}" for i in range(m)] for k in "FBW"}
    want["B"] = [f"B{i}" for i in range(m)]
    want["W"] = [f"W{i}" for i in range(m)]
    if any([a for a in order if a[0] == k] != want[k] for k in "FBW") or len(order) != 3 * m:
        return False
    done = {"F": 0, "B": 0, "W": 0}
    for a in order:
        done[a[0]] += 1
        if done["F"] - done["B"] > p - s or done["B"] - done["W"] > s + 1 or \
                done["B"] > done["F"] or done["W"] > done["B"]:
            return False
    return True


def zb_slots(order, first, last):
    """The most micro-batches between their `first` and their `last` action."""
    live = most = 0
    for a in order:
        live += {first: 1, last: -1}.get(a[0], 0)
        most = max(most, live)
    return most


def expected_traffic(model, cfg, case, s, rows, seq):
    """The pp reasons of stage s (see the docstring)."""
    _, p, _, m, other = case
    x = axes(other)
    act = m * rows * seq * cfg["hidden"] * 4 // x["cp"] // (x["tp"] if x["sp"] else 1)
    want = {"pp.grad_norm": 2 * (p - 1) * 4 // p}
    if s < p - 1:
        want["pp.activation"] = act
    if s > 0:
        want["pp.activation_grad"] = act
    if model.startswith("gpt2") and s in (0, p - 1):
        elems = cfg["vocab"] // x["tp"] * cfg["hidden"]
        if x["z"] >= 2 and x["dps"] > 1:
            elems = -(-elems // x["dps"])
        want["pp.tied_grad"] = 2 * (2 - 1) * elems * 4 // 2
    return want


def check_case(a, name, case, cfg, onnx_path, params, row_shape, feeds, cwork, ref, ref_w):
    model, p, schedule, m, other = case
    rows, ranks = rows_of(a, case), ranks_of(case)
    seq = row_shape["input_ids"][0]
    report = compile_program(a, onnx_path, cwork, row_shape, rows, p, schedule, m, other)
    got, per_rank, got_w = D.train(a.bin, cwork, ranks, feeds, a.steps, cwork)
    D.check_trained(check, name, a.steps, got, ref, got_w, ref_w, params)

    if p > 1 and schedule == "interleaved":
        check_interleaved(name, case, cfg, report, ranks, per_rank, rows, seq)
    elif p > 1:
        check_stages(name, case, cfg, report, ranks, per_rank, rows, seq)
    for r in range(ranks if p == 1 else 0):
        planned = report["memory"]["per_rank"][r]["peak_bytes"]
        peaks = sorted({line["peak_bytes"] for line in per_rank[r]})
        check(peaks == [planned], f"{name}: rank {r}: measured peak bytes {peaks} = planned {planned}")
    x = axes(other)
    if x["rc"] == "none":
        return got
    # What recomputation saves: the same case without it, compiled.
    base = compile_program(a, onnx_path, cwork + "-none", row_shape, rows, p, schedule, m,
                           "-".join(t for t in other.split("-") if t != x["rc_part"]))
    if isinstance(x["rc"], list):
        check_layer_list(name, case, report, base, onnx_path)
        return got
    stages = report["pipeline"].get("per_stage", [])
    rc, unfused = x["rc"], model in VARIANTS
    # Selective recompute of an unfused attention: each layer's attention
    # core lies within one stage (no cut point inside it), so
    # min(LAYERS, stages) stages keep fewer bytes and the rest (interleaved
    # chunks holding no attention) the same.
    fewer = sum(st["saved_bytes_per_micro_batch"] < b["saved_bytes_per_micro_batch"]
                for st, b in zip(stages, base["pipeline"]["per_stage"]))
    if rc == "selective" and unfused:
        check(fewer == min(LAYERS, len(stages)),
              f"{name}: {fewer} stages keep fewer bytes = min(layers {LAYERS}, stages {len(stages)})")
    for s, (st, b) in enumerate(zip(stages, base["pipeline"]["per_stage"])):
        kept, before = st["saved_bytes_per_micro_batch"], b["saved_bytes_per_micro_batch"]
        falls = kept < before if rc == "full" or (unfused and len(stages) <= LAYERS) \
            else kept <= before if unfused else kept == before
        check(falls and (st["peak_bytes"] < b["peak_bytes"]) == (kept < before),
              f"{name}: stage {s} keeps {kept} bytes per micro-batch for its backward "
              f"({before} without recompute{'' if rc == 'full' or unfused else '; the attention is fused: no scores to recompute'}), "
              f"peak {st['peak_bytes']} ({b['peak_bytes']})")
    return got


def check_stages(name, case, cfg, report, ranks, per_rank, rows, seq):
    """A pipelined case's report.json and measurements, per stage (see the
    docstring: order, slots, traffic, every rank's peak, the bubble)."""
    model, p, schedule, m, other = case
    pipe = report["pipeline"]
    stages = pipe.get("per_stage", [])
    check(len(stages) == p, f"{name}: report.json describes {len(stages)} stages")
    # ZB-H1 with m >= p: (p - 1) / (3m + p - 1) (Qi et al.; F, B and W equal).
    bubble, formula = ((p - 1) / (3 * m + p - 1), "(p-1)/(3m+p-1)") if schedule == "zb" \
        else ((p - 1) / (m + p - 1), "(p-1)/(m+p-1)")
    check(abs(pipe.get("predicted_bubble", -1) - bubble) < 1e-12,
          f"{name}: predicted bubble {pipe.get('predicted_bubble')} = {formula} = {bubble:.4f}")
    per_stage = ranks // p
    for s, st in enumerate(stages):
        order = st["order"].split()
        if schedule == "zb":
            check(zb_order_ok(order, m, p, s), f"{name}: stage {s} runs {st['order']}")
            slots, weight_slots = zb_slots(order, "F", "B"), zb_slots(order, "B", "W")
            check(st.get("weight_slots") == weight_slots and weight_slots <= s + 1,
                  f"{name}: stage {s} holds {st.get('weight_slots')} weight slots = "
                  f"{weight_slots} <= s + 1 (B's saved tensors, "
                  f"{st.get('weight_saved_bytes_per_micro_batch')} bytes each)")
        else:
            check(order == expected_order(schedule, p, s, m),
                  f"{name}: stage {s} runs {st['order']}")
            slots = m if schedule == "gpipe" else min(m, p - s)
        check(st["slots"] == slots, f"{name}: stage {s} holds {st['slots']} slots = {slots}")
        want = expected_traffic(model, cfg, case, s, rows, seq)
        predicted = st["bytes_per_step_by_reason"]
        pp_part = {k: v for k, v in predicted.items() if k.startswith("pp.")}
        check(pp_part == want, f"{name}: stage {s}: report.json predicts {pp_part}; the "
              f"formulas give {want}")
        measured = {json.dumps(line["comm_bytes_by_reason"], sort_keys=True)
                    for r in range(s * per_stage, (s + 1) * per_stage) for line in per_rank[r]}
        check(measured == {json.dumps(predicted, sort_keys=True)},
              f"{name}: stage {s}: measured per rank and step = report.json "
              f"({len(predicted)} reasons{'' if measured == {json.dumps(predicted, sort_keys=True)} else ': ' + str(sorted(measured))})")
        for r in range(s * per_stage, (s + 1) * per_stage):
            planned = report["memory"]["per_rank"][r]["peak_bytes"]
            peaks = sorted({line["peak_bytes"] for line in per_rank[r]})
            check(planned == st["peak_bytes"] and peaks == [planned],
                  f"{name}: rank {r} (stage {s}): measured peak bytes {peaks} = planned {planned}")


def interleaved_order(p, v, m, r):
    """Rank r's compute order under interleaved 1F1B, as Megatron-LM
    defines it: the k-th forward is micro-batch (k // (p v)) p + k % p of
    chunk (k % (p v)) // p, the k-th backward the same micro-batch of chunk
    v - 1 - that; (p - r - 1) 2 + (v - 1) p warm-up forwards (all when m
    == p), then one forward and one backward. "F3.1": chunk 1."""
    total = m * v

    def word(kind, k):
        c = (k % (p * v)) // p
        c = c if kind == "F" else v - 1 - c
        return f"{kind}{(k // (p * v)) * p + k % p}" + (f".{c}" if c else "")
    warm = total if m == p else min((p - r - 1) * 2 + (v - 1) * p, total)
    order = [word("F", k) for k in range(warm)]
    for i in range(total - warm):
        order += [word("F", warm + i), word("B", i)]
    return order + [word("B", k) for k in range(total - warm, total)]


def check_interleaved(name, case, cfg, report, ranks, per_rank, rows, seq):
    """An interleaved case: report.json describes p x v chunks (global stage
    g is chunk g // p of the ranks with pp coordinate g % p); each chunk runs
    its part of its rank's Megatron order and holds the micro-batches in
    flight between its F and B; the bubble is (p - 1) / (v m + p - 1); per
    rank, the traffic is its chunks' (an activation per chunk but the
    global last, a gradient per chunk but the global first, one f32
    all-reduce of the norm per chunk) and equals the measurement, and the
    measured peak equals the plan (its chunks' peaks added)."""
    model, p, schedule, m, other = case
    x = axes(other)
    v = x.get("v", 2)
    pipe = report["pipeline"]
    stages = pipe.get("per_stage", [])
    check(len(stages) == p * v, f"{name}: report.json describes {len(stages)} chunks = p x v")
    bubble = (p - 1) / (v * m + p - 1)
    check(abs(pipe.get("predicted_bubble", -1) - bubble) < 1e-12,
          f"{name}: predicted bubble {pipe.get('predicted_bubble')} = (p-1)/(vm+p-1) = {bubble:.4f}")
    act = m * rows * seq * cfg["hidden"] * 4 // x["cp"] // (x["tp"] if x["sp"] else 1)
    per_coord = ranks // p
    for r in range(p):
        order = interleaved_order(p, v, m, r)
        want = {"pp.grad_norm": v * (2 * (p - 1) * 4 // p)}
        predicted = collections.Counter()
        peak = 0
        for c in range(v):
            g = c * p + r
            st = stages[g]
            own = [w.split(".")[0] for w in order if (int(w.split(".")[1]) if "." in w else 0) == c]
            check(st["order"].split() == own,
                  f"{name}: chunk {c} of rank {r} (stage {g}) runs {st['order']}")
            live = most = 0
            for w in own:
                live += 1 if w[0] == "F" else -1
                most = max(most, live)
            check(st["slots"] == most, f"{name}: stage {g} holds {st['slots']} slots = {most}")
            if g < p * v - 1:
                want["pp.activation"] = want.get("pp.activation", 0) + act
            if g > 0:
                want["pp.activation_grad"] = want.get("pp.activation_grad", 0) + act
            if model.startswith("gpt2") and g in (0, p * v - 1):
                elems = cfg["vocab"] // x["tp"] * cfg["hidden"]
                if x["z"] >= 2 and x["dps"] > 1:
                    elems = -(-elems // x["dps"])
                want["pp.tied_grad"] = 2 * (2 - 1) * elems * 4 // 2
            predicted.update(st["bytes_per_step_by_reason"])
            peak += st["peak_bytes"]
        pp_part = {k: v_ for k, v_ in predicted.items() if k.startswith("pp.")}
        check(pp_part == want, f"{name}: rank {r}: report.json predicts {pp_part}; the "
              f"formulas give {want}")
        for q in range(r * per_coord, (r + 1) * per_coord):
            measured = {json.dumps(line["comm_bytes_by_reason"], sort_keys=True)
                        for line in per_rank[q]}
            check(measured == {json.dumps(dict(predicted), sort_keys=True)},
                  f"{name}: rank {q}: measured per step = report.json's chunks "
                  f"({len(predicted)} reasons{'' if measured == {json.dumps(dict(predicted), sort_keys=True)} else ': ' + str(sorted(measured))})")
            planned = report["memory"]["per_rank"][q]["peak_bytes"]
            peaks = sorted({line["peak_bytes"] for line in per_rank[q]})
            check(planned == peak and peaks == [planned],
                  f"{name}: rank {q}: measured peak bytes {peaks} = planned {planned} "
                  f"(its chunks' {peak})")


def check_layer_list(name, case, report, base, onnx_path):
    """--recompute h.I,h.J against the same case without recompute (see the
    docstring): what each stage (the rank, without a pipeline) keeps less is
    report.json's recomputed_bytes, the listed layers' share, on the stage
    the pins put each layer on; nothing changes elsewhere."""
    _, p, _, _, other = case
    layers = [f"{layer_prefix(onnx_path)}.{i}" for i in axes(other)["rc"]]
    if p > 1:
        units, base_units = report["pipeline"]["per_stage"], base["pipeline"]["per_stage"]
        key = "saved_bytes_per_micro_batch"
    else:
        units, base_units = report["memory"]["per_rank"][:1], base["memory"]["per_rank"][:1]
        key = "saved_activation_bytes"
    where, shares = {}, {}
    for s, (st, b) in enumerate(zip(units, base_units)):
        kept, before = st[key], b[key]
        by_layer = st["recomputed_bytes_by_layer"]
        saved = sum(by_layer.values())
        check(before - kept == st["recomputed_bytes"] == saved,
              f"{name}: stage {s} keeps {kept} bytes per micro-batch for its backward, {before} "
              f"without recompute: {before - kept} fewer = recomputed_bytes "
              f"{st['recomputed_bytes']} = {by_layer}")
        if by_layer:
            falls = p == 1 or st["peak_bytes"] < b["peak_bytes"]
            check(falls and all(v > 0 for v in by_layer.values()),
                  f"{name}: stage {s} recomputes {sorted(by_layer)}: planned peak "
                  f"{st['peak_bytes']} ({b['peak_bytes']} without recompute)")
        else:
            check(kept == before and st["peak_bytes"] == b["peak_bytes"],
                  f"{name}: stage {s} holds no listed layer: keeps {kept} ({before}), "
                  f"peak {st['peak_bytes']} ({b['peak_bytes']})")
        for layer, bytes_ in by_layer.items():
            where.setdefault(layer, []).append(s)
            shares.setdefault(s, set()).add(bytes_)
    want = {layer: [int(layer.rsplit(".", 1)[1]) * p // LAYERS] for layer in layers}
    check(where == want, f"{name}: the layers recomputed per stage {where} = the pins' {want}")
    # Blocks are alike: each saves the same, on every stage; under sp a stage
    # keeps some of its blocks' norm outputs gathered, another split, so
    # there only within a stage.
    alike = list(shares.values()) if axes(other)["sp"] else [set().union(*shares.values())]
    check(all(len(v) == 1 for v in alike),
          f"{name}: each listed block keeps the same bytes fewer"
          f"{' on its stage' if axes(other)['sp'] else ''}: {shares}")


def check_reshard(a, name, case, targets, onnx_path, row_shape, feeds, mwork, ref):
    """The case's checkpoint after steps/2 loads into each target layout."""
    half = a.steps // 2
    src = os.path.join(mwork, "reshard-" + case_name(case).replace(" ", "-"))
    compile_program(a, onnx_path, src, row_shape, rows_of(a, case), *case[1:])
    D.train(a.bin, src, ranks_of(case), feeds, half, src)
    for target in targets:
        target = target or (case[0], 1, "1f1b", case[3], "")
        what = "the single rank" if target[1] == 1 else case_name(target)
        out = os.path.join(mwork, "resume-" + case_name(target).replace(" ", "-"))
        compile_program(a, onnx_path, out, row_shape, rows_of(a, target), *target[1:])
        got, _, _ = D.train(a.bin, out, ranks_of(target), feeds, a.steps - half, out,
                            extra=["--load", os.path.join(src, "ckpt")])
        tail = [r["loss"] for r in ref[half:]]
        loss = [r["loss"] for r in got]
        worst = max((D.rel(g, w) for g, w in zip(loss, tail)), default=1.0)
        check(len(loss) == len(tail) and worst <= LOSS_RTOL,
              f"{name}: saved at step {half}, loaded by {what}: steps {half + 1}..{a.steps} "
              f"worst loss rel err {worst:.2e}")


# Variants: the model exported with constructor overrides, under its own
# name. Dropout on the attention probabilities keeps the attention unfused
# (the scores exist), so that selective recompute has them to recompute.
VARIANTS = {"gpt2_dropout_loss": ("gpt2_loss", {"dropout": 0.1})}


def export_models(out, models):
    """The models exported with LAYERS layers (python-frontend)."""
    sys.path.insert(0, os.path.join(HERE, "..", "python-frontend"))
    from parallelize import export as E  # noqa: E402 (needs torch)
    os.makedirs(out, exist_ok=True)
    for model in models:
        if os.path.exists(os.path.join(out, model + ".onnx")):
            continue
        base, overrides = VARIANTS.get(model, (model, {}))
        where = os.path.join(out, model) if model in VARIANTS else out
        os.makedirs(where, exist_ok=True)
        E.export_family(base[:-len("_loss")], where, loss=True, layers=LAYERS, **overrides)
        if model in VARIANTS:
            for ext in (".onnx", ".params.json", ".inputs.json"):
                if os.path.exists(os.path.join(where, base + ext)):
                    os.replace(os.path.join(where, base + ext), os.path.join(out, model + ext))
    return out


def run_model(a, model, models_dir, cases, work):
    onnx_path = os.path.join(models_dir, model + ".onnx")
    cfg = json.loads(P.onnx_metadata(onnx_path)["parallelize.config"])
    check(cfg["layers"] == LAYERS, f"{model}: exported with {cfg['layers']} layers")
    params = P.onnx_params(onnx_path)
    data, row_shape = D.global_batches(models_dir, model, a.steps, a.rows)
    if model.startswith("llama"):  # two ignored labels per row (as tp-parity)
        rng = np.random.default_rng(17)
        labels = data["labels"].reshape(-1, data["labels"].shape[-1])
        for row in labels:
            row[rng.choice(row.size, 2, replace=False)] = -100
    mwork = os.path.join(work, model)
    feeds = D.save_feeds(data, mwork)
    # The single rank with the same micro-batch rows: G / k rows, k
    # micro-batches (k = m x dp).
    refs = {}
    for k in sorted({a.rows // rows_of(a, c) for c in cases}):
        single = os.path.join(mwork, f"single-k{k}")
        try:
            compile_program(a, onnx_path, single, row_shape, a.rows // k, 1, "1f1b", k)
            refs[k] = D.train(a.bin, single, 1, feeds, a.steps, single)
        except RuntimeError as e:
            check(False, f"{model} single rank, {k} micro-batches: {e}")
    for case in cases:
        k = a.rows // rows_of(a, case)
        if k not in refs:
            continue
        name = f"{model} {case_name(case)}"
        cwork = os.path.join(mwork, case_name(case).replace(" ", "-"))
        try:
            check_case(a, name, case, cfg, onnx_path, params, row_shape, feeds, cwork,
                       refs[k][0], refs[k][2])
            if case in RESHARD and not a.full:
                check_reshard(a, name, case, RESHARD[case], onnx_path, row_shape, feeds, mwork,
                              refs[k][0])
        except RuntimeError as e:
            check(False, f"{name}: {e}")


def main():
    ap = P.parity_argparser(__doc__, steps=10)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--match", default="", help="only the cases whose name holds TEXT")
    a = ap.parse_args()
    a.rows = GLOBAL_ROWS
    work = a.work or tempfile.mkdtemp(prefix="pz-pp-parity-")
    cases = [c for c in (FULL_CASES if a.full else CASES)
             if (not a.only or c[0] in a.only.split(","))
             and (not a.match or a.match in f"{c[0]} {case_name(c)}")]
    models = list(collections.OrderedDict((c[0], 0) for c in cases))
    models_dir = export_models(os.path.join(work, "models"), models)
    for model in models:
        run_model(a, model, models_dir, [c for c in cases if c[0] == model], work)
    print(f"{len(failures)} failure(s)" if failures else "all pipeline-parallel checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
