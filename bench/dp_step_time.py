#!/usr/bin/env python3
"""Data-parallel training step time on 2 local CPU ranks: ours with the
communication thread (the bucket all-reduces overlap the backward pass),
ours with PZRT_COMM_THREAD=0 (each all-reduce runs inside the call that
issues it), ours launched without MPI (the TCP host communicator, 0021:
scripts/launch-local.py, comm thread on), and PyTorch DDP over gloo (also
TCP), side by side in one run.

Same model (python-frontend gpt2_loss at --size), same global batch
(--batch rows of --seq tokens, split over the ranks), same initial
weights, AdamW, one thread per rank, 25 MB buckets on both sides. Each
side runs --warmup untimed steps, then --steps timed ones, --rounds times
alternately; the median of rank 0's step times is reported (ours:
`step_time_s` of the metrics: data, forward, backward, all-reduce and the
optimizer; PyTorch: zero_grad, forward, backward with DDP's all-reduces,
and the optimizer step).

Usage: /usr/bin/python3 bench/dp_step_time.py [--size 124m] [--batch 2]
       [--seq 128] [--steps N] [--rounds R] [--json FILE]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import common

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--json", default=os.path.join(common.ROOT, "build", "bench", "dp_step_time.json"))
ap.add_argument("--bin", default=os.path.join(common.ROOT, "build", "bin"))
ap.add_argument("--work", default=None)
ap.add_argument("--size", default="124m", choices=("tiny", "small", "124m"))
ap.add_argument("--batch", type=int, default=2, help="global rows (each rank gets batch/2)")
ap.add_argument("--seq", type=int, default=128)
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--rounds", type=int, default=2)
ap.add_argument("--torch-worker", nargs=2, metavar=("RANK", "PORT"), help=argparse.SUPPRESS)
a = ap.parse_args()
RANKS = 2


def torch_worker(model, rank, port, out):
    """One PyTorch DDP rank (gloo): writes its timed step times to out."""
    import time

    import numpy as np
    import torch
    import torch.distributed as dist
    import pzparity as P
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                            rank=rank, world_size=RANKS)
    module, _ = P.torch_module(model)
    module.train()
    ddp = torch.nn.parallel.DistributedDataParallel(module, bucket_cap_mb=25)
    opt = torch.optim.AdamW(ddp.parameters(), lr=1e-3, weight_decay=0.1)
    vocab = json.loads(P.onnx_metadata(model)["parallelize.config"])["vocab"]
    rng = np.random.default_rng(rank)
    rows = a.batch // RANKS
    times = []
    for step in range(a.warmup + a.steps):
        ids = torch.from_numpy(rng.integers(0, vocab, (rows, a.seq)))
        labels = torch.from_numpy(rng.integers(0, vocab, (rows, a.seq)))
        dist.barrier()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = ddp(ids, labels)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if step >= a.warmup:
            times.append(dt)
    dist.destroy_process_group()
    with open(out, "w") as f:
        json.dump(times, f)


if a.torch_worker:
    torch_worker(os.environ["PZ_BENCH_MODEL"], int(a.torch_worker[0]), int(a.torch_worker[1]),
                 os.environ["PZ_BENCH_OUT"] + f".rank{a.torch_worker[0]}")
    sys.exit(0)

if a.batch % RANKS:
    sys.exit(f"--batch {a.batch} does not split over {RANKS} ranks")
work = a.work or tempfile.mkdtemp(prefix="pz-bench-dp-")
model = common.export("gpt2", a.size, os.path.join(work, "models-" + a.size), a.batch, a.seq)
# --input-shape fixes one rank's micro-batch (CONTRACT.md): each of the
# RANKS replicas reads batch / RANKS rows, as each PyTorch worker does.
shape = f"{a.batch // RANKS}x{a.seq}"
out = os.path.join(work, "out-" + a.size)
r, _ = common.run([os.path.join(a.bin, "parallelize"), "compile", model, "-o", out,
                   "--input-shape", "input_ids=" + shape, "--input-shape", "labels=" + shape,
                   "--dp-replicate", RANKS, "--optimizer", "adamw"])
if r.returncode:
    sys.exit(f"compile failed: {r.stderr}")


def train_ours(thread, tcp=False):
    metrics = os.path.join(out, "bench-metrics.jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    env = dict(os.environ, PZRT_COMM_THREAD="1" if thread else "0", OPENBLAS_NUM_THREADS="1")
    launch = ([sys.executable, os.path.join(common.ROOT, "scripts", "launch-local.py"), "-n",
               RANKS, "--", os.path.join(out, "train")] if tcp else
              [os.path.join(a.bin, "parallelize"), "run", "-n", RANKS, out, "--"])
    r, _ = common.run(launch + ["--steps", a.warmup + a.steps, "--data", "synthetic",
                                "--threads", 1, "--metrics", metrics, "--log-every", "0"],
                      env=env)
    if r.returncode:
        sys.exit(f"train failed: {r.stderr}")
    rows = [json.loads(l) for l in open(metrics)]
    for row in rows:
        # Both sides must train on the same global batch.
        tokens = row["tokens_per_s"] * row["step_time_s"]
        if abs(tokens - a.batch * a.seq) > 0.5:
            sys.exit(f"ours trained {tokens:.0f} tokens a step, not {a.batch} x {a.seq}")
    return [row["step_time_s"] for row in rows][a.warmup:]


def train_torch(port):
    res = os.path.join(work, "torch-times")
    # One core a rank, as ours: OpenBLAS would otherwise start a thread per
    # core in each worker, whatever torch.set_num_threads says.
    env = dict(os.environ, PZ_BENCH_MODEL=model, PZ_BENCH_OUT=res, OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([os.path.join(common.ROOT, "scripts"),
                                           os.path.join(common.ROOT, "python-frontend")]))
    procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--size", a.size,
                               "--batch", str(a.batch), "--seq", str(a.seq),
                               "--steps", str(a.steps), "--warmup", str(a.warmup),
                               "--torch-worker", str(rank), str(port)], env=env)
             for rank in range(RANKS)]
    if any(p.wait() for p in procs):
        sys.exit("the PyTorch DDP run failed")
    return json.load(open(res + ".rank0"))


overlap, blocking, tcp, torch_ddp = [], [], [], []
for k in range(a.rounds):
    overlap += train_ours(True)
    blocking += train_ours(False)
    tcp += train_ours(True, tcp=True)
    torch_ddp += train_torch(29500 + k)

med = {name: statistics.median(v) for name, v in
       (("overlap", overlap), ("blocking", blocking), ("tcp", tcp), ("torch", torch_ddp))}
common.write_json(a.json, {
    "benchmark": "dp_step_time",
    "model": f"gpt2_loss {a.size}", "global_batch": a.batch, "seq": a.seq, "ranks": RANKS,
    "threads_per_rank": 1, "bucket_mb": 25,
    "ours_comm_thread_step_s": {"median": med["overlap"], "runs": overlap},
    "ours_blocking_step_s": {"median": med["blocking"], "runs": blocking},
    "ours_tcp_step_s": {"median": med["tcp"], "runs": tcp},
    "pytorch_ddp_gloo_step_s": {"median": med["torch"], "runs": torch_ddp},
    "ratio_tcp_over_mpi": med["tcp"] / med["overlap"],
    "ratio_tcp_over_pytorch_ddp": med["tcp"] / med["torch"],
    "ratio_comm_thread_over_blocking": med["overlap"] / med["blocking"],
    "ratio_ours_over_pytorch_ddp": med["overlap"] / med["torch"],
    "machine": common.machine(),
})
