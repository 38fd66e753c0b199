#!/usr/bin/env python3
"""Compiled programs launched without MPI (the TCP host communicator) against
the same programs under mpirun and against one rank.

Each plan is compiled once and trained --steps (10) steps on synthetic data
twice: under mpirun (MPI) and under scripts/launch-local.py, which sets only
torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT)
and PZRT_JOB_TOKEN, so that the runtime builds its TCP communicator
(docs/design/0021-tcp-host-comm.md). The log must say so.

  * Plans whose reductions are over 2 ranks (a + b is the same in any order):
    every step's loss and gradient norm must be bit-identical to MPI's.
    MLP dp 2, ZeRO 3, tp 2, pp 2 (1F1B, its sends in flight), dp 2 x tp 2
    (4 ranks); GPT-2 tp 2 + sp, pp 2 (tied head) and interleaved pp 2 x 2
    chunks when --models holds gpt2_loss.onnx.
  * MLP dp 4 and dp 2 x tp 2 (4 ranks): the ring sums 4 ranks (dp 4's
    gradients, the driver's loss) in another order than MPI, so loss and
    gradient norm must be within 1e-5 relative of MPI's and of one rank's.
  * Every run's comm_bytes_by_reason equals MPI's at every step.
  * ZeRO 3 saved at step 5 and resumed under TCP gives steps 6-10
    bit-identical to the uninterrupted TCP run.
  * With --cuda-emu: MLP dp 2, ZeRO 3 and pp 2 compiled with --backend cuda
    --cuda-emulate, their collectives and pipeline sends on NCCL (the
    emulator's fake NCCL, built on the host communicator: here TCP; the
    NCCL id broadcast over it) and each step one CUDA graph: bit-identical
    to the same programs under mpirun (the fake over MPI).
  * Where torchrun runs (Debian's python3-torch), MLP dp 2 launched by
    torchrun itself, whose agent holds MASTER_PORT for its own store
    (TORCHELASTIC_USE_AGENT_STORE=True): bit-identical to MPI. (Debian's
    torchrun 1.13 needs --redirects/--tee other than 0 on Python 3.11.)

    tcp-parity.py --bin BUILD/bin --work DIR [--models DIR] [--steps N]
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH = os.path.join(ROOT, "scripts", "launch-local.py")
MLP = os.path.join(ROOT, "examples", "mlp", "mlp.mlir")
OPT = ["--optimizer", "adamw", "--lr", "1e-3"]
TOL = 1e-5


def run(cmd, env=None):
    p = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=dict(os.environ, **(env or {})))
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stdout}")
    return p.stdout


def compile_plan(pz, work, name, model, rows, flags):
    out = os.path.join(work, name)
    shapes = (["--input-shape", f"x={rows}x64", "--input-shape", f"labels={rows}"]
              if model == MLP else ["--input-shape", f"input_ids={rows}x16,labels={rows}x16"])
    run([pz, "compile", model, "-o", out] + shapes + OPT + flags)
    return out


def train(out, ranks, how, metrics, steps, extra=(), env=None):
    args = [os.path.join(out, "train"), "--steps", steps, "--seed", "1", "--log-every", "0",
            "--data", "synthetic", "--metrics", metrics] + list(extra)
    env = env or {}
    if ranks == 1:
        log = run(args)
    elif how == "mpi":
        log = run([shutil.which("mpirun"), "--allow-run-as-root", "--oversubscribe", "-np",
                   ranks] + [x for k, v in env.items() for x in ("-x", k)] + args, env)
    elif how == "torchrun":
        log = run([shutil.which("torchrun"), "--nproc_per_node", ranks, "--master_port",
                   free_port(), "--redirects", "2", "--tee", "2", "--no_python"] + args,
                  env={"PZRT_JOB_TOKEN": "tcp-parity"})
    else:
        log = run([sys.executable, LAUNCH, "-n", ranks, "--timeout", "300", "--"] + args, env)
    return [json.loads(l) for l in open(metrics)], log


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_works():
    exe = shutil.which("torchrun")
    if not exe:
        return False
    return subprocess.run([exe, "--help"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "models"))
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--cuda-emu", action="store_true",
                    help="also emulated CUDA programs with NCCL (needs the host emulator)")
    a = ap.parse_args()
    if not shutil.which("mpirun"):
        sys.exit("FAIL: no mpirun (the MPI runs are the reference)")
    pz = os.path.join(a.bin, "parallelize")
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    gpt2 = os.path.join(a.models, "gpt2_loss.onnx")
    # name: (model, rows a micro-batch per program, ranks, flags, exact)
    plans = {
        "mlp-dp2": (MLP, 8, 2, ["--dp-replicate", "2"], True),
        "mlp-zero3": (MLP, 8, 2, ["--dp-shard", "2", "--zero", "3"], True),
        "mlp-tp2": (MLP, 16, 2, ["--tp", "2"], True),
        "mlp-pp2": (MLP, 8, 2, ["--pp", "2", "--grad-accum", "2"], True),
        # 4 ranks: its gradients are summed over 2, but the driver's loss
        # over all 4, in the ring's order.
        "mlp-dp2tp2": (MLP, 8, 4, ["--dp-replicate", "2", "--tp", "2"], False),
        "mlp-dp4": (MLP, 4, 4, ["--dp-replicate", "4"], False),
    }
    if os.path.exists(gpt2):
        plans.update({
            "gpt2-tp2": (gpt2, 2, 2, ["--tp", "2", "--sp"], True),
            "gpt2-pp2": (gpt2, 1, 2, ["--pp", "2", "--grad-accum", "2"], True),
            "gpt2-il2": (gpt2, 1, 2, ["--pp", "2", "--schedule", "interleaved",
                                      "--virtual-stages", "2", "--grad-accum", "2"], True),
        })
    else:
        print(f"note: {gpt2} not found; GPT-2 plans not checked")
    fails = []
    one = compile_plan(pz, a.work, "mlp-one", MLP, 16, [])
    single, _ = train(one, 1, None, os.path.join(a.work, "mlp-one.jsonl"), a.steps)
    for name, (model, rows, ranks, flags, exact) in plans.items():
        out = compile_plan(pz, a.work, name, model, rows, flags)
        mpi, _ = train(out, ranks, "mpi", os.path.join(a.work, name + "-mpi.jsonl"), a.steps)
        tcp, log = train(out, ranks, "tcp", os.path.join(a.work, name + "-tcp.jsonl"), a.steps)
        if f"train: host communicator: TCP, {ranks} ranks (launcher: torchrun" not in log:
            fails.append(f"{name}: the launch without MPI did not say it uses the TCP "
                         f"communicator:\n{log}")
        if len(tcp) != len(mpi) or len(tcp) != a.steps:
            fails.append(f"{name}: {len(tcp)} TCP steps, {len(mpi)} MPI steps")
            continue
        worst = 0.0
        for t, m in zip(tcp, mpi):
            for key in ("loss", "grad_norm"):
                worst = max(worst, rel(t[key], m[key]))
                if exact and t[key] != m[key]:
                    fails.append(f"{name} step {t['step']}: {key} {t[key]!r} on TCP, "
                                 f"{m[key]!r} on MPI")
            if t["comm_bytes_by_reason"] != m["comm_bytes_by_reason"]:
                fails.append(f"{name} step {t['step']}: bytes by reason {t['comm_bytes_by_reason']}"
                             f" on TCP, {m['comm_bytes_by_reason']} on MPI")
        if not exact:
            vs_one = max(rel(t[k], s[k]) for t, s in zip(tcp, single) for k in ("loss", "grad_norm"))
            if worst > TOL or vs_one > TOL:
                fails.append(f"{name}: worst relative difference {worst:.2e} from MPI, {vs_one:.2e} "
                             f"from one rank (tolerance {TOL:g})")
            print(f"{name}: {ranks} ranks, TCP against MPI {worst:.2e}, against one rank "
                  f"{vs_one:.2e}")
        else:
            print(f"{name}: {ranks} ranks, TCP {'bit-identical to' if worst == 0 else 'DIFFERS from'}"
                  f" MPI over {a.steps} steps (TCP {tcp[-1]['step_time_s'] * 1e3:.2f} ms/step, "
                  f"MPI {mpi[-1]['step_time_s'] * 1e3:.2f})")

    if a.cuda_emu:
        for name, flags in (("emu-dp2", ["--dp-replicate", "2"]),
                            ("emu-zero3", ["--dp-shard", "2", "--zero", "3"]),
                            ("emu-pp2", ["--pp", "2", "--grad-accum", "2"])):
            out = compile_plan(pz, a.work, name, MLP, 8,
                               flags + ["--backend", "cuda", "--cuda-emulate"])
            nccl = {"PZRT_COMM": "nccl"}
            mpi, _ = train(out, 2, "mpi", os.path.join(a.work, name + "-mpi.jsonl"), a.steps,
                           env=nccl)
            tcp, log = train(out, 2, "tcp", os.path.join(a.work, name + "-tcp.jsonl"), a.steps,
                             env=nccl)
            want = ["train: host communicator: TCP", "collectives: NCCL on the communication "
                    "stream", "the whole step is one graph"]
            if not all(w in log for w in want):
                fails.append(f"{name}: the log lacks one of {want}:\n{log}")
            same = len(tcp) == len(mpi) == a.steps and all(
                t[k] == m[k] for t, m in zip(tcp, mpi)
                for k in ("loss", "grad_norm", "comm_bytes_by_reason"))
            if not same:
                fails.append(f"{name}: NCCL (emulated) under TCP differs from under MPI")
            else:
                print(f"{name}: emulated CUDA, NCCL over the TCP host communicator, one graph a "
                      f"step: bit-identical to mpirun over {a.steps} steps")

    if torchrun_works():
        dp2 = os.path.join(a.work, "mlp-dp2")
        got, log = train(dp2, 2, "torchrun", os.path.join(a.work, "mlp-dp2-torchrun.jsonl"),
                         a.steps)
        mpi = [json.loads(l) for l in open(os.path.join(a.work, "mlp-dp2-mpi.jsonl"))]
        if "train: host communicator: TCP, 2 ranks (launcher: torchrun" not in log:
            fails.append(f"mlp-dp2 under torchrun: no TCP communicator:\n{log}")
        if [(l["loss"], l["grad_norm"]) for l in got] != [(l["loss"], l["grad_norm"]) for l in mpi]:
            fails.append("mlp-dp2 under torchrun differs from MPI")
        else:
            print(f"mlp-dp2: launched by torchrun: bit-identical to MPI over {len(got)} steps")
    else:
        print("note: no working torchrun here; the torchrun launch is not checked")

    # Checkpoint and resume without MPI.
    zero3 = os.path.join(a.work, "mlp-zero3")
    whole = [json.loads(l) for l in open(os.path.join(a.work, "mlp-zero3-tcp.jsonl"))]
    ckpt = os.path.join(a.work, "zero3-ckpt")
    half = a.steps // 2
    train(zero3, 2, "tcp", os.path.join(a.work, "zero3-first.jsonl"), half, ["--save", ckpt])
    rest, _ = train(zero3, 2, "tcp", os.path.join(a.work, "zero3-rest.jsonl"), a.steps - half,
                    ["--load", ckpt])
    if [(l["step"], l["loss"], l["grad_norm"]) for l in rest] != \
            [(l["step"], l["loss"], l["grad_norm"]) for l in whole[half:]]:
        fails.append(f"mlp-zero3 resumed at step {half} under TCP differs from the whole run")
    else:
        print(f"mlp-zero3: saved at step {half} and resumed under TCP: bit-identical")

    for f in fails:
        print("FAIL " + f)
    print("ok" if not fails else f"{len(fails)} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
