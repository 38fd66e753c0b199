#!/usr/bin/env python3
"""Measured pipeline idle time, from the per-rank traces of a run.

`train --trace FILE.json` (one host, `parallelize run -n N`) has rank 0
write FILE.json and rank r > 0 FILE.rankR.json: Chrome trace events, "ts"
and "dur" in microseconds of the host's CLOCK_MONOTONIC (so the ranks of
one host share a time axis), "pid" the rank, "tid" 0 the driver thread and
1 the communication thread (runtime/src/io/trace.cpp, train/train.cpp).
Spans read here:

  step     (cat "step")    one per training step, on the driver thread;
  compute  (cat "compute") forward, backward (a pipeline stage's, with the
           micro-batch), forward_backward, accumulate_grads,
           finalize_grads, optimizer;
  comm     (cat "comm")    send, recv, send_wait (pipeline transfers),
           issue and wait of compiled collectives on the driver thread,
           the collectives themselves on the communication thread.

Per rank, over the steady steps (every step after the first `skip`):

  idle      the step's time not covered by a compute span, over the step's
            duration (sums over the steps, then the ratio);
  comm      the part of that idle time the driver thread spends in a comm
            span (waiting for a transfer or a neighbour);
  other     the rest of it (data loading, bookkeeping);
  fwd_ms, bwd_ms  the mean forward and backward of the rank's stage,
            the largest tenth left out (trimmed_mean: the durations add up
            along the step, so the mean, not the median, predicts their
            sum; to set against the cost model's durations); `stages` the
            same per pipeline stage the rank runs (several under
            interleaved, from the spans' "stage" argument);
  transfer_ms the median time a pipeline message received by the rank
            took from when both its send and its receive were posted to
            the receive's end (inspect --stage-times adds it between
            stages);
  pipe_idle the same as idle, over the pipeline window of the step instead
            of the whole step: from the first forward of any rank to the
            last backward of any rank (the ranks share the host's clock);
            the median over the steps of each step's fraction, so that a
            step the machine interrupted does not move it
            (`pipe_idle_mean`: the sums over the steps, then the ratio).
            This is the quantity `inspect --schedule` simulates and the
            bubble formula (p - 1) / (m + p - 1) predicts; the step adds
            the gradient finalize and the optimizer, which do not idle.

Usage:
  pptrace.py TRACE.json [--report OUTDIR/report.json] [--skip N] [--json]

From Python (a parity script): `measure(load_traces(path))` returns a list
of per-rank dicts; `format_table(rows, report)` prints them.
"""

import argparse
import glob
import json
import os
import re
import sys

COMPUTE = {"forward", "backward", "weight_backward", "forward_backward", "accumulate_grads",
           "finalize_grads", "optimizer"}


def rank_paths(path):
    """FILE.json and its FILE.rankR.json siblings, by rank."""
    base, ext = os.path.splitext(path)
    paths = {0: path}
    for p in glob.glob(glob.escape(base) + ".rank*" + ext):
        m = re.fullmatch(re.escape(base) + r"\.rank(\d+)" + re.escape(ext), p)
        if m:
            paths[int(m.group(1))] = p
    return dict(sorted(paths.items()))


def load_events(path):
    with open(path) as f:
        doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    return [e for e in events if e.get("ph") == "X"]


def load_traces(path):
    """{rank: complete ("X") events} of the run whose rank 0 wrote `path`."""
    traces = {}
    for rank, p in rank_paths(path).items():
        for e in load_events(p):
            traces.setdefault(e.get("pid", rank), []).append(e)
    return traces


def union_within(spans, lo, hi):
    """Length of the union of [start, end) spans clipped to [lo, hi)."""
    clipped = sorted((max(s, lo), min(e, hi)) for s, e in spans if e > lo and s < hi)
    total, cur_s, cur_e = 0.0, None, None
    for s, e in clipped:
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def intervals(events, pred):
    return [(e["ts"], e["ts"] + e["dur"]) for e in events if pred(e)]


def step_of(e):
    return (e.get("args") or {}).get("step")


def measure(traces, skip=1):
    """Per rank: the measured idle fractions over the steps after the first
    `skip` (see the module's doc)."""
    # The pipeline window of each step, over all ranks.
    window = {}
    for events in traces.values():
        for e in events:
            if e.get("cat") == "compute" and e["name"] in ("forward", "backward",
                                                           "weight_backward", "forward_backward"):
                t = step_of(e)
                lo, hi = window.get(t, (float("inf"), float("-inf")))
                window[t] = (min(lo, e["ts"]), max(hi, e["ts"] + e["dur"]))
    rows = []
    # The steps measured (every rank's after the first `skip`) and the
    # transfers received in them.
    steady = {step_of(e) for events in traces.values()
              for e in sorted((e for e in events if e.get("cat") == "step" and e["name"] == "step"),
                              key=lambda e: e["ts"])[skip:]}
    transfers = transfer_times(traces, steady)
    posted = sends_posted(traces)
    for rank, events in sorted(traces.items()):
        steps = sorted((e for e in events if e.get("cat") == "step" and e["name"] == "step"),
                       key=lambda e: e["ts"])[skip:]
        compute = intervals(events, lambda e: e.get("cat") == "compute" and e["name"] in COMPUTE)
        comm = intervals(events, lambda e: e.get("cat") == "comm" and e.get("tid", 0) == 0)
        total = busy = waiting = win_total = win_busy = 0.0
        per_step_idle = []
        for s in steps:
            lo, hi = s["ts"], s["ts"] + s["dur"]
            c = union_within(compute, lo, hi)
            total += hi - lo
            busy += c
            # Comm time not under a compute span: union(comm + compute) - compute.
            waiting += union_within(compute + comm, lo, hi) - c
            w = window.get(step_of(s))
            if w:
                win_total += w[1] - w[0]
                b = union_within(compute, w[0], w[1])
                win_busy += b
                if w[1] > w[0]:
                    per_step_idle.append((w[1] - w[0] - b) / (w[1] - w[0]))
        measured = {step_of(s_) for s_ in steps}
        durs = {k: sorted(e["dur"] for e in events if e.get("cat") == "compute"
                          and e["name"] == k and step_of(e) in measured)
                for k in ("forward", "backward", "weight_backward")}
        idle = (total - busy) / total if total else 0.0
        comm_frac = waiting / total if total else 0.0
        rows.append({
            "rank": rank,
            "steps": len(steps),
            "step_ms": total / len(steps) / 1e3 if steps else 0.0,
            "idle": idle,
            "comm": comm_frac,
            "other": idle - comm_frac,
            "pipe_ms": win_total / len(steps) / 1e3 if steps else 0.0,
            "pipe_idle": median(sorted(per_step_idle)),
            "pipe_idle_mean": (win_total - win_busy) / win_total if win_total else 0.0,
            # Median durations of the stage's forward and backward (0: none).
            "forward_ms": trimmed_mean(durs["forward"]) / 1e3,
            "backward_ms": trimmed_mean(durs["backward"]) / 1e3,
            "weight_backward_ms": trimmed_mean(durs["weight_backward"]) / 1e3,
            # Per pipeline stage the rank runs (interleaved: several chunks;
            # the spans' "stage"), the same means.
            "stages": stage_durations(events, measured),
            "transfer_ms": median(sorted(transfers.get(rank, []))) / 1e3,
            "after": action_gaps(events, rank, measured, posted),
        })
    return rows


ACTIONS = ("forward", "backward", "weight_backward")


def sends_posted(traces):
    """{(step, sender, receiver, tensor, micro-batch): [send post times]}."""
    sends = {}
    for rank, events in traces.items():
        for e in sorted((e for e in events if e.get("cat") == "comm" and e["name"] == "send"),
                        key=lambda e: e["ts"]):
            a = e.get("args") or {}
            key = (a.get("step"), rank, a.get("to"), a.get("send"), a.get("send_micro_batch"))
            sends.setdefault(key, []).append(e["ts"])
    return sends


def action_gaps(events, rank, measured, sends):
    """{kind: {busy_ms, idle_ms}}: what a rank does between the end of one
    compute action (forward, backward, weight_backward) and the start of
    its next, trimmed means (trimmed_mean) over the measured steps by the
    kind of the first:
    `busy` the compute spans there (accumulating gradients), `idle` the
    rest less the waiting (posting sends, copying a message that had
    arrived, feeding data). Waiting: a receive that began before its
    message's send was posted (the neighbour, then the transfer) or that
    pairs with no send, and a send_wait (a neighbour not yet receiving)."""
    rank_events = sorted((e for e in events if e.get("tid", 0) == 0 and step_of(e) in measured
                          and e.get("cat") in ("compute", "comm", "data")),
                         key=lambda e: e["ts"])
    seen, out = {}, {}
    pending = None  # (kind, end, busy, waiting) since the last action
    pending_step = None
    for e in rank_events:
        if e.get("cat") == "compute" and e["name"] in ACTIONS:
            # Within one step: the gap after its last action holds the
            # finalize and the optimizer, which the window does not.
            if pending and pending[1] <= e["ts"] and pending_step == step_of(e):
                kind, end, busy, waiting = pending
                gap = e["ts"] - end
                d = out.setdefault(kind, {"busy": [], "idle": []})
                d["busy"].append(busy)
                d["idle"].append(max(gap - busy - waiting, 0.0))
            pending = (e["name"], e["ts"] + e["dur"], 0.0, 0.0)
            pending_step = step_of(e)
            continue
        if not pending:
            continue
        kind, end, busy, waiting = pending
        a = e.get("args") or {}
        if e.get("cat") == "compute":
            busy += e["dur"]
        elif e["name"] == "send_wait":
            waiting += e["dur"]
        elif e["name"] == "recv":
            key = (a.get("step"), a.get("from"), rank, a.get("recv"), a.get("recv_micro_batch"))
            posted = sends.get(key, [])
            k = seen[key] = seen.get(key, -1) + 1
            # Not yet sent when the receive began (or no send to pair it
            # with): all of it is the dependency (the neighbour, then the
            # transfer, which the simulation adds itself); sent before:
            # copying, overhead.
            if k >= len(posted) or posted[k] > e["ts"]:
                waiting += e["dur"]
        pending = (kind, end, busy, waiting)
    return {kind: {"busy_ms": trimmed_mean(d["busy"]) / 1e3,
                   "idle_ms": trimmed_mean(d["idle"]) / 1e3}
            for kind, d in out.items()}


def trimmed_mean(values, trim=0.1):
    """The mean without the largest `trim` of the values: the runtime's
    time after actions adds up along the step, so its mean is what the
    simulation needs, less the few gaps the machine stretched."""
    v = sorted(values)[:max(1, len(values) - int(len(values) * trim))] if values else []
    return sum(v) / len(v) if v else 0.0


def transfer_times(traces, measured):
    """{receiving rank: [us]}: for each pipeline message received in a
    measured step, the time from when it could start (its send posted and
    the receive posted) to the receive's end. Sends and receives of one
    (step, sender, receiver, tensor, micro-batch) pair up in time order."""
    sends = sends_posted(traces)
    out, seen = {}, {}
    for rank, events in traces.items():
        for e in sorted((e for e in events if e.get("cat") == "comm" and e["name"] == "recv"),
                        key=lambda e: e["ts"]):
            a = e.get("args") or {}
            key = (a.get("step"), a.get("from"), rank, a.get("recv"), a.get("recv_micro_batch"))
            k = seen[key] = seen.get(key, -1) + 1
            if a.get("step") not in measured or k >= len(sends.get(key, [])):
                continue
            start = max(e["ts"], sends[key][k])
            out.setdefault(rank, []).append(max(e["ts"] + e["dur"] - start, 0.0))
    return out


def stage_durations(events, measured):
    """{stage: {forward_ms, backward_ms, weight_backward_ms}} of the compute
    spans that name their stage, over the measured steps (trimmed means)."""
    durs = {}
    for e in events:
        args = e.get("args") or {}
        if e.get("cat") == "compute" and "stage" in args and step_of(e) in measured and \
                e["name"] in ("forward", "backward", "weight_backward"):
            durs.setdefault(str(args["stage"]), {}).setdefault(e["name"], []).append(e["dur"])
    return {g: {k + "_ms": trimmed_mean(d.get(k, [])) / 1e3
                for k in ("forward", "backward", "weight_backward")}
            for g, d in sorted(durs.items(), key=lambda kv: int(kv[0]))}


def median(sorted_values):
    n = len(sorted_values)
    if not n:
        return 0.0
    return (sorted_values[(n - 1) // 2] + sorted_values[n // 2]) / 2


def stage_of(rank, report):
    """The pipeline stage of `rank` (pp is the outermost grid axis)."""
    pipe = (report or {}).get("pipeline") or {}
    pp = pipe.get("stages", 1) or 1
    world = report.get("world_size", pp) if report else pp
    return rank // max(world // pp, 1)


def format_table(rows, report=None):
    pipe = (report or {}).get("pipeline") or {}
    lines = []
    if pipe.get("per_stage"):
        lines.append(f"pipeline {pipe.get('schedule')}: {pipe.get('stages')} stages, "
                     f"{pipe.get('microbatches')} micro-batches; predicted bubble "
                     f"(equal stage costs) = {pipe.get('predicted_bubble', 0):.3f}")
    head = ("rank  stage  steps  step_ms  idle   comm   other  pipe_ms  pipe_idle"
            "  fwd_ms  bwd_ms")
    lines.append(head)
    for r in rows:
        stage = stage_of(r["rank"], report) if pipe.get("per_stage") else "-"
        lines.append(f"{r['rank']:>4}  {stage!s:>5}  {r['steps']:>5}  {r['step_ms']:>7.2f}  "
                     f"{r['idle']:.3f}  {r['comm']:.3f}  {r['other']:.3f}  "
                     f"{r['pipe_ms']:>7.2f}  {r['pipe_idle']:>9.3f}  {r['forward_ms']:>6.2f}  "
                     f"{r['backward_ms']:>6.2f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", help="rank 0's trace file (train --trace FILE.json)")
    ap.add_argument("--report", help="the program's report.json (the predicted bubble, stages)")
    ap.add_argument("--skip", type=int, default=1, help="steps to skip at the start (default 1)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    a = ap.parse_args(argv)
    traces = load_traces(a.trace)
    rows = measure(traces, a.skip)
    if not any(r["steps"] for r in rows):
        print(f"pptrace: no step after the first {a.skip} in {a.trace}", file=sys.stderr)
        return 1
    report = None
    if a.report:
        with open(a.report) as f:
            report = json.load(f)
    if a.json:
        print(json.dumps(rows, indent=1))
    else:
        print(format_table(rows, report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
