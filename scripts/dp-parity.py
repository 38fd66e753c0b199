#!/usr/bin/env python3
"""Data parallelism (DDP, ZeRO stages 1-3, HSDP) trains the single-rank model.

For mlp_loss, gpt2_loss and llama_loss (python-frontend exports in
build/models), with
AdamW (lr 1e-3, weight decay 0.1, --grad-clip 0.5 so that clipping reads the
averaged gradients) from the ONNX initializers, over --steps (10) steps of
one global batch of G rows per step (the same rows, fed through --data-npy,
for every run):

  * the single-rank program: micro-batches of G rows, grad_accum 1;
  * each case: dp_replicate m x dp_shard n (zero z when n > 1), grad_accum
    K, micro-batches of G / (m n K) rows, started on m n ranks by
    `parallelize run`. Each rank reads its contiguous share of the global
    batch (CONTRACT.md).

`make test` runs CASES (every collective kind, DDP, every ZeRO stage,
HSDP, accumulation, one or many buckets, reshards onto one rank); --full
runs FULL_CASES, every combination of dp_replicate {1, 2, 4} x dp_shard
{1, 2, 4} (zero 1, 2 and 3 where dp_shard > 1) x grad_accum {1, 2} up to 8
ranks.

Gates, per case against the single-rank run:
  * loss of every step (the metrics' mean over the global batch):
    |dp - single| <= 1e-5 x |single|;
  * the gradient norm of every step (which clipping reads): within 1e-5;
  * final weights read from the --save checkpoint, per tensor:
    max|dp - single| <= 1e-4 x max(max|single|, 1);
  * communication, on every rank and step, by reason, equal to report.json's
    prediction and to the formula (P parameter elements, C = sum over
    parameters of ceil(N_p / n), so n C - P is the padding; K micro-batches):
      ddp.grad_bucket          all_reduce      2(m-1)/m x 4P          (n = 1)
      zero.grad_reduce_scatter reduce_scatter  (n-1) x 4C = (n-1)/n x 4P + padding,
                                               K times for zero >= 2 (each micro-batch)
      zero.param_all_gather    all_gather      (n-1) x 4C             (zero 1, 2)
      zero3.param_gather       all_gather      K x (n-1) x 4C before the forward
                                               passes, plus the same for the
                                               parameters the backward pass reads
                                               (the weight matrices of dX = dY W;
                                               no bias, no lookup-only table)
      zero.grad_norm           all_reduce      2(n-1)/n x 4 bytes (one f32)
      hsdp.grad_all_reduce     all_reduce      2(m-1)/m x 4C      (n > 1, m > 1)
    (the driver's loss average is not counted);
  * memory: every rank's measured peak equals report.json's plan, whose
    parameters, gradients and optimizer state are 4P, 4P, 8P (DDP), 4P, 4P,
    8C (zero 1), 4P, 4C, 8C (zero 2) and 4C, 4C, 8C (zero 3);
  * the launch checks the plan: the program started as one process exits 2
    naming both world sizes;
  * overlap (OVERLAP, DDP with one micro-batch): in rank 0's trace every
    bucket's all-reduce runs inside forward_backward, on the communication
    thread; the first starts before the last bucket is issued (right after
    the last backward kernel) and ends after the call that issued it
    returned, so it ran while the backward pass computed;
  * resharding (RESHARD): the checkpoint a case saves after --steps/2
    steps is loaded under other layouts (one rank, DDP, another ZeRO stage
    and dp_shard) and under its own, which train the remaining steps: their
    losses equal that layout's uninterrupted run within 1e-6 relative, and
    bit for bit under the case's own layout.
The data has no ignored labels, so each rank's (and micro-batch's) mean
loss weighs the same number of tokens and the mean of the means is the
mean over the global batch.

Usage: /usr/bin/python3 scripts/dp-parity.py [--bin DIR] [--models DIR]
       [--work DIR] [--steps N] [--only NAME,...] [--full]
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

# Clipping at 0.5 engages in every model at both batch sizes (the
# single-rank norms start above 0.9), so that the test sees it read the
# averaged gradients.
CLIP = 0.5
FLAGS = ["--optimizer", "adamw", "--lr", "1e-3", "--weight-decay", "0.1",
         "--grad-clip", str(CLIP)]
LOSS_RTOL, WEIGHT_RTOL, RESHARD_RTOL = 1e-5, 1e-4, 1e-6
GLOBAL_ROWS = 8
# (model, dp_replicate, dp_shard, zero, grad_accum, bucket_mb or None for the default 25)
CASES = [("mlp_loss", 2, 1, 0, 2, 0), ("mlp_loss", 4, 1, 0, 1, None),
         ("mlp_loss", 1, 2, 1, 1, 0), ("mlp_loss", 2, 2, 2, 2, None),
         ("mlp_loss", 1, 4, 3, 2, 0),
         ("gpt2_loss", 2, 1, 0, 1, None), ("gpt2_loss", 2, 1, 0, 2, 0),
         ("gpt2_loss", 4, 1, 0, 1, 0), ("gpt2_loss", 1, 2, 1, 2, 0),
         ("gpt2_loss", 2, 2, 1, 1, None), ("gpt2_loss", 1, 2, 2, 1, 0),
         ("gpt2_loss", 2, 2, 3, 1, None), ("gpt2_loss", 1, 2, 3, 2, 0),
         ("llama_loss", 2, 1, 0, 1, None), ("llama_loss", 2, 2, 3, 2, 0)]
FULL_CASES = [(model, m, n, z, k, b)
              for model in ("mlp_loss", "gpt2_loss", "llama_loss")
              for m in (1, 2, 4) for n in (1, 2, 4) for z in ((0,) if n == 1 else (1, 2, 3))
              for k in (1, 2) for b in (None, 0)
              if 1 < m * n <= 8 and (b is None or k == 2)]
# Traced: with one micro-batch, DDP issues each bucket's all-reduce inside
# forward_backward, right after the backward pass computed its last gradient.
OVERLAP = {("gpt2_loss", 4, 1, 0, 1, 0)}

# Saved under the case's layout after steps/2, then loaded under each of
# these layouts (None: the single-rank program; the case itself: the same
# layout, which must continue bit for bit).
RESHARD = {("mlp_loss", 1, 2, 1, 1, 0): [None],
           ("gpt2_loss", 2, 2, 1, 1, None): [None],
           ("gpt2_loss", 2, 2, 3, 1, None): [None, ("gpt2_loss", 2, 2, 3, 1, None),
                                             ("gpt2_loss", 1, 2, 2, 1, 0),
                                             ("gpt2_loss", 4, 1, 0, 1, 0)],
           ("llama_loss", 2, 2, 3, 2, 0): [None, ("llama_loss", 2, 1, 0, 1, None)]}

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def global_batches(models_dir, model, steps, global_rows):
    """Rows t*G .. t*G+G-1 feed step t: one array per input, all steps."""
    cfg = json.loads(P.onnx_metadata(os.path.join(models_dir, model + ".onnx"))
                     ["parallelize.config"])
    rng = np.random.default_rng(12)
    rows = global_rows * steps
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


def compile_program(bin_dir, onnx_path, out, row_shape, rows, m, n, zero, accum, bucket_mb):
    shapes = []
    for k, tail in row_shape.items():
        shapes += ["--input-shape", k + "=" + "x".join(map(str, [rows] + tail))]
    plan = ["--dp-replicate", m, "--grad-accum", accum]
    if n > 1:
        plan += ["--dp-shard", n, "--zero", zero]
    if bucket_mb is not None:
        plan += ["--bucket-mb", bucket_mb]
    r = P.run([os.path.join(bin_dir, "parallelize"), "compile", onnx_path, "-o", out]
              + shapes + FLAGS + plan)
    if r.returncode:
        raise RuntimeError(f"compile failed: {r.stderr.strip()}")
    return json.load(open(os.path.join(out, "report.json")))


def save_feeds(data, work):
    """Writes each input's batches to WORK/NAME.npy; the --data-npy feeds."""
    os.makedirs(work, exist_ok=True)
    feeds = []
    for key, v in data.items():
        path = os.path.join(work, key + ".npy")
        np.save(path, v)
        feeds.append(f"{key}={path}")
    return feeds


def train(bin_dir, out, ranks, feeds, steps, work, extra=()):
    metrics = os.path.join(work, "metrics.jsonl")
    ckpt = os.path.join(work, "ckpt")
    args = ["--steps", steps, "--data-npy", ",".join(feeds), "--metrics", metrics,
            "--metrics-all", "--save", ckpt, "--log-every", "0"] + list(extra)
    cmd = [os.path.join(out, "train")] + args
    if ranks > 1:
        cmd = [os.path.join(bin_dir, "parallelize"), "run", "-n", ranks, out, "--"] + args
    r = P.run(cmd, timeout=600)
    if r.returncode:
        raise RuntimeError(f"train failed (exit {r.returncode}): {r.stderr.strip()}")
    per_rank = [[json.loads(l) for l in open(os.path.join(work, f"metrics.rank{i}.jsonl"))]
                for i in range(ranks)]
    return [json.loads(l) for l in open(metrics)], per_rank, read_checkpoint(ckpt)


def read_checkpoint(ckpt):
    """Every tensor of a checkpoint, assembled from the slices index.json
    lists (boxes of "offsets"/"extents", or "flat" ranges of the flattened
    tensor, as ZeRO saves its chunks; each stored in its file under its
    "key", else the tensor's name)."""
    index = json.load(open(os.path.join(ckpt, "index.json")))
    files = {}
    weights = {}
    for name, t in index["tensors"].items():
        whole = np.zeros(t["shape"], dtype=np.float32)
        flat = whole.reshape(-1)
        for sl in t["slices"]:
            if sl["file"] not in files:
                files[sl["file"]] = P.read_safetensors(os.path.join(ckpt, sl["file"]))
            part = files[sl["file"]][sl.get("key", name)]  # a rank's later region: its key
            if "flat" in sl:
                begin, end = sl["flat"]
                flat[begin:end] = part.reshape(-1)
            else:
                box = tuple(slice(o, o + e) for o, e in zip(sl["offsets"], sl["extents"]))
                whole[box] = part.reshape(sl["extents"])
        weights[name] = whole
    return weights


def expected_bytes(params, m, n, zero, k):
    """Bytes per step per reason, from the formulas of the docstring; stage
    3's backward gathers are checked separately (None here)."""
    elems = sum(int(v.size) for v in params.values())
    if n == 1:
        return {"ddp.grad_bucket": 2 * (m - 1) * 4 * elems // m}
    chunks = sum(-(-int(v.size) // n) for v in params.values())
    ring = (n - 1) * 4 * chunks
    out = {"zero.grad_reduce_scatter": ring * (k if zero >= 2 else 1),
           "zero.grad_norm": 2 * (n - 1) * 4 // n}
    if zero < 3:
        out["zero.param_all_gather"] = ring
    else:
        out["zero3.param_gather"] = None
    if m > 1:
        out["hsdp.grad_all_reduce"] = 2 * (m - 1) * 4 * chunks // m
    return out


# Weight matrices whose value the backward pass does not read, so that stage
# 3 does not gather them again: a table read only by an embedding lookup
# (its gradient needs no table: GPT-2's wpe, Llama's untied embed_tokens, BERT's three tables), and the first layer's weight of the MLP,
# which multiplies the data (no gradient flows to x, so dX = dY W is not
# computed). Every other weight matrix is read by dX = dY W.
LOOKUP_ONLY = {"wpe.weight", "fc1.weight", "embed_tokens.weight",
               # BERT's tables (its MLM decoder has a weight of its own)
               "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
               "embeddings.token_type_embeddings.weight"}

KIND_OF = {"ddp.grad_bucket": "all_reduce", "zero.grad_reduce_scatter": "reduce_scatter",
           "zero.param_all_gather": "all_gather", "zero.grad_norm": "all_reduce",
           "hsdp.grad_all_reduce": "all_reduce", "zero3.param_gather": "all_gather"}


def zero3_gathers(name, report, params, n, k):
    """Stage 3 gathers every parameter before the forward pass of each
    micro-batch, and before the backward pass those the backward pass reads
    (every weight matrix: dX = dY W; not, e.g., a bias). Returns the total."""
    chunk = {p: -(-int(v.size) // n) for p, v in params.items()}
    fwd, bwd = collections.Counter(), collections.Counter()
    total = forward_bytes = 0
    for c in report["communication"]["collectives"]:
        if c["reason"] != "zero3.param_gather":
            continue
        forward = c["source"].endswith("(forward)")
        side = fwd if forward else bwd
        forward_bytes += c["bytes"] if forward else 0
        for t in c["tensors"]:
            side[t] += 1
        check(c["bytes"] == (n - 1) * 4 * sum(chunk[t] for t in c["tensors"]),
              f"{name}: {c['source']} gathers {c['bytes']} bytes = (n-1) x 4 x its chunks")
        total += c["bytes"]
    ring = k * (n - 1) * 4 * sum(chunk.values())
    check(all(fwd[p] == k for p in params) and forward_bytes == ring,
          f"{name}: every parameter is gathered once per micro-batch for the forward pass: "
          f"{forward_bytes} bytes = K (n-1) x 4C = {ring}")
    matrices = [p for p, v in params.items() if v.ndim >= 2 and p not in LOOKUP_ONLY]
    check(all(bwd[p] == k for p in matrices) and all(bwd[p] in (0, k) for p in params)
          and not any(bwd[p] for p in params if p.endswith("bias")),
          f"{name}: every weight matrix the backward pass reads ({len(matrices)}) and no bias "
          f"is gathered again for "
          f"the backward pass ({sum(1 for p in params if bwd[p])} of {len(params)} parameters)")
    return total


def rel(a, b):
    return abs(a - b) / abs(b)


def check_trained(check, name, steps, got, ref, got_w, ref_w, params):
    """The gates every parallel plan meets against the single rank: each
    step's loss within LOSS_RTOL relative, the gradient norm (clipping at
    CLIP engaged) within LOSS_RTOL, the final weights within WEIGHT_RTOL
    (max abs error over max(|w|, 1))."""
    ref_loss, loss = [r["loss"] for r in ref], [r["loss"] for r in got]
    worst_loss = max(rel(g, w) for g, w in zip(loss, ref_loss))
    check(len(loss) == steps and worst_loss <= LOSS_RTOL,
          f"{name}: {len(loss)} steps, loss {ref_loss[0]:.5f} -> {ref_loss[-1]:.5f}, "
          f"worst loss rel err {worst_loss:.2e} (gate {LOSS_RTOL:g})")
    # The optimizer's global norm (clipping at CLIP) is of the averaged
    # gradients, over every shard: it matches the single rank's.
    norms, ref_norms = [r["grad_norm"] for r in got], [r["grad_norm"] for r in ref]
    worst_norm = max(rel(g, w) for g, w in zip(norms, ref_norms))
    check(worst_norm <= LOSS_RTOL and max(ref_norms) > CLIP,
          f"{name}: gradient norm (clipped at {CLIP}; single rank up to "
          f"{max(ref_norms):.3g}) worst rel err {worst_norm:.2e} (gate {LOSS_RTOL:g})")
    worst_w, worst_name = 0.0, ""
    for p in params:
        if p not in got_w or got_w[p].shape != ref_w[p].shape:
            check(False, f"{name}: checkpoint tensor {p!r} missing or misshapen")
            continue
        diff = np.abs(got_w[p].astype(np.float64) - ref_w[p])
        r = float(diff.max() / max(np.abs(ref_w[p]).max(), 1.0)) if diff.size else 0.0
        if r > worst_w:
            worst_w, worst_name = r, p
    check(worst_w <= WEIGHT_RTOL,
          f"{name}: worst final weight err {worst_w:.2e} ({worst_name}; gate {WEIGHT_RTOL:g})")


def check_case(a, name, case, onnx_path, params, row_shape, feeds, cwork, ref, ref_w):
    model, m, n, zero, k, bucket_mb = case
    ranks = m * n
    report = compile_program(a.bin, onnx_path, cwork, row_shape,
                             a.rows // (ranks * k), m, n, zero, k, bucket_mb)
    lone = P.run([os.path.join(cwork, "train"), "--steps", 1, "--log-every", 0], timeout=60)
    check(lone.returncode == 2 and f"compiled for {ranks} ranks" in lone.stderr
          and "but 1 was started" in lone.stderr,
          f"{name}: one process exits 2 naming both world sizes "
          f"(exit {lone.returncode}: {lone.stderr.strip()[:200]})")
    got, per_rank, got_w = train(a.bin, cwork, ranks, feeds, a.steps, cwork)
    check_trained(check, name, a.steps, got, ref, got_w, ref_w, params)
    theory = expected_bytes(params, m, n, zero, k)
    if "zero3.param_gather" in theory:
        theory["zero3.param_gather"] = zero3_gathers(name, report, params, n, k)
    by_kind = collections.Counter()
    for reason, b in theory.items():
        by_kind[KIND_OF[reason]] += b
    comm = report["communication"]
    predicted = {kd: b for kd, b in comm["bytes_per_step"].items() if b}
    check(comm["bytes_per_step_by_reason"] == theory and predicted == dict(by_kind),
          f"{name}: report.json predicts {comm['bytes_per_step_by_reason']} by reason, "
          f"{predicted} by kind; the formulas give {theory}")
    measured = set()
    for r in per_rank:
        for line in r:
            measured.add((json.dumps(line["comm_bytes_by_reason"], sort_keys=True),
                          json.dumps({kd: b for kd, b in line["comm_bytes"].items() if b},
                                     sort_keys=True)))
    want = (json.dumps(theory, sort_keys=True), json.dumps(dict(by_kind), sort_keys=True))
    check(len(per_rank) == ranks and all(len(r) == a.steps for r in per_rank)
          and measured == {want},
          f"{name}: measured per rank and step {sorted(measured)}; predicted {want}")
    planned = report["memory"]["per_rank"][0]["peak_bytes"]
    peaks = sorted({line["peak_bytes"] for r in per_rank for line in r})
    check(peaks == [planned],
          f"{name}: measured peak bytes per rank {peaks} = planned {planned}")
    breakdown = report["memory"]["per_rank"][0]["breakdown"]
    elems = sum(int(v.size) for v in params.values())
    chunks = sum(-(-int(v.size) // n) for v in params.values())
    want = {"parameters": 4 * (chunks if zero >= 3 else elems),
            "gradients": 4 * (chunks if zero >= 2 else elems),
            "optimizer_state": 8 * chunks}
    got_mem = {key: breakdown[key] for key in want}
    check(got_mem == want,
          f"{name}: parameters, gradients, optimizer state per rank {got_mem} = {want} "
          f"(P = {elems}, C = {chunks}: 4P or 4C, 4P or 4C, 8C for zero {zero})")
    if case in OVERLAP:
        check_overlap(a, name, cwork, ranks, feeds, report)
    return got


def check_overlap(a, name, cwork, ranks, feeds, report):
    """Rank 0's trace of 2 steps. The compiled transfers run on the
    communication thread (trace thread 1) while the compute thread (thread
    0) goes on; the compute thread's call that issues a transfer is an
    "issue" event. In each step: every bucket's all-reduce lies inside that
    step's forward_backward; the first bucket's all-reduce starts before the
    last bucket is issued (which is right after the backward kernel that
    computes the last bucket's gradient), and it is still running after the
    call that issued it returned: it ran while the compute thread computed
    the rest of the backward pass, not inside that call."""
    work = os.path.join(cwork, "traced")
    os.makedirs(work, exist_ok=True)
    trace = os.path.join(work, "trace.json")
    train(a.bin, cwork, ranks, feeds, 2, work, extra=["--trace", trace])
    doc = json.load(open(trace))
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    buckets = sum(1 for c in report["communication"]["collectives"]
                  if c["reason"] == "ddp.grad_bucket")

    def bucket_events(step, tid, names=None):
        return sorted((e for e in events if e.get("cat") == "comm" and e.get("tid") == tid
                       and (names is None or e.get("name") in names)
                       and e.get("args", {}).get("reason") == "ddp.grad_bucket"
                       and e.get("args", {}).get("step") == step), key=lambda e: e["ts"])

    for step in (1, 2):
        fb = [e for e in events if e.get("name") == "forward_backward"
              and e.get("args", {}).get("step") == step]
        ar = bucket_events(step, 1)
        issue = bucket_events(step, 0, {"issue"})
        if not ar or len(issue) != len(ar):
            check(False, f"{name}: step {step}: {len(ar)} bucket all-reduces and {len(issue)} "
                  f"issue events in the trace, {buckets} buckets")
            continue
        inside = len(fb) == 1 and all(
            fb[0]["ts"] <= e["ts"] and e["ts"] + e["dur"] <= fb[0]["ts"] + fb[0]["dur"] for e in ar)
        first_end = ar[0]["ts"] + ar[0]["dur"]
        returned = issue[0]["ts"] + issue[0]["dur"]
        check(len(ar) == buckets and buckets > 1 and inside and ar[0]["ts"] < issue[-1]["ts"]
              and first_end > returned,
              f"{name}: step {step}: {len(ar)} of {buckets} bucket all-reduces inside "
              f"forward_backward; the first starts {issue[-1]['ts'] - ar[0]['ts']:.0f} us before "
              f"the last bucket is issued and ends {first_end - returned:.0f} us after its "
              f"issuing call returned")


def check_reshard(a, name, case, runs, single_out, feeds, ref):
    """Saves under the case's layout after steps/2 and continues under each
    target layout of RESHARD: within RESHARD_RTOL of that layout's
    uninterrupted run (the single rank's for None), bit for bit when the
    layout is the case's own."""
    _, m, n, zero, k, _ = case
    half = a.steps // 2
    cwork = runs[case][0]
    part = os.path.join(cwork, "reshard")
    os.makedirs(part, exist_ok=True)
    train(a.bin, cwork, m * n, feeds, half, part)
    ckpt = os.path.join(part, "ckpt")
    for target in RESHARD[case]:
        if target is None:
            out, ranks, uninterrupted, what = single_out, 1, ref, "1 rank"
        elif target in runs:
            out, uninterrupted = runs[target]
            ranks = target[1] * target[2]
            what = (f"dp_replicate {target[1]} x dp_shard {target[2]} zero {target[3]} "
                    f"grad_accum {target[4]}") + (" (the same layout)" if target == case else "")
        else:
            check(False, f"{name}: reshard target {target} did not run")
            continue
        resumed = os.path.join(part, "resumed-" + os.path.basename(out))
        os.makedirs(resumed, exist_ok=True)
        got, _, _ = train(a.bin, out, ranks, feeds, a.steps - half, resumed,
                          extra=["--load", ckpt])
        want = [r["loss"] for r in uninterrupted][half:]
        loss = [r["loss"] for r in got]
        worst = max(rel(g, w) for g, w in zip(loss, want)) if loss else 1.0
        same = target == case
        check(len(loss) == len(want) and (loss == want if same else worst <= RESHARD_RTOL),
              f"{name}: saved after {half} steps, loaded under {what}: {len(loss)} more steps, "
              f"worst loss rel err {worst:.2e} against that layout's uninterrupted run "
              f"(gate {'bit-identical' if same else f'{RESHARD_RTOL:g}'})")


def main():
    ap = P.parity_argparser(__doc__, steps=10)
    ap.add_argument("--full", action="store_true")
    a = ap.parse_args()
    a.rows = 16 if a.full else GLOBAL_ROWS
    cases = FULL_CASES if a.full else CASES
    work = a.work or tempfile.mkdtemp(prefix="pz-dp-parity-")
    models = [mo for mo in collections.OrderedDict((c[0], 0) for c in cases)
              if not a.only or mo in a.only.split(",")]
    for model in models:
        onnx_path = os.path.join(a.models, model + ".onnx")
        params = P.onnx_params(onnx_path)
        data, row_shape = global_batches(a.models, model, a.steps, a.rows)
        mwork = os.path.join(work, model)
        feeds = save_feeds(data, mwork)
        single = os.path.join(mwork, "single")
        runs = {}  # case -> (its compiled program, its metrics)
        try:
            compile_program(a.bin, onnx_path, single, row_shape, a.rows, 1, 1, 0, 1, None)
            ref, _, ref_w = train(a.bin, single, 1, feeds, a.steps, single)
        except RuntimeError as e:
            check(False, f"{model} single rank: {e}")
            continue
        check(all(not any(r["comm_bytes"].values()) and r["comm_bytes_by_reason"] == {}
                  for r in ref), f"{model} single rank: no collective bytes")
        for case in cases:
            if case[0] != model:
                continue
            _, m, n, zero, k, bucket_mb = case
            name = f"{model} dp_replicate {m} dp_shard {n}" + (f" zero {zero}" if n > 1 else "") + \
                f" grad_accum {k}" + (f" bucket_mb {bucket_mb}" if bucket_mb is not None else "")
            cwork = os.path.join(mwork, f"r{m}-s{n}-z{zero}-k{k}-b{bucket_mb}")
            try:
                got = check_case(a, name, case, onnx_path, params, row_shape, feeds, cwork,
                                 ref, ref_w)
                runs[case] = (cwork, got)
            except RuntimeError as e:
                check(False, f"{name}: {e}")
        for case in cases:
            if case[0] == model and case in RESHARD and case in runs and not a.full:
                try:
                    check_reshard(a, f"{model} reshard from dp_replicate {case[1]} x dp_shard "
                                  f"{case[2]} zero {case[3]}", case, runs, single, feeds, ref)
                except RuntimeError as e:
                    check(False, f"{model} reshard from {case}: {e}")
    print(f"{len(failures)} failure(s)" if failures else "all data-parallel checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
