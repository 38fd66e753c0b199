#!/usr/bin/env python3
"""Starts N ranks of a program on this host the way torchrun does, without MPI.

Each rank gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
MASTER_PORT (a free port) and PZRT_JOB_TOKEN (random, shared), which is what
the pzrt runtime reads to build its TCP host communicator
(docs/design/0021-tcp-host-comm.md).

Unlike torchrun, this launcher does not stop the other ranks when one fails:
the tests use it to show that the runtime itself ends the job. It only
enforces --timeout, after which it kills every rank and exits 125 (a hang).

Exit status: the first non-zero status of a rank in rank order (a rank killed
by a signal counts as 128 + the signal), else 0.

    scripts/launch-local.py -n 4 [--timeout S] [--env K=V ...] [--rank-env R:K=V ...] -- PROGRAM ARGS...
"""
import argparse
import os
import secrets
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--nproc", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="kill every rank after this many seconds and exit 125")
    ap.add_argument("--env", action="append", default=[], metavar="K=V",
                    help="set in every rank's environment")
    ap.add_argument("--rank-env", action="append", default=[], metavar="R:K=V",
                    help="set in rank R's environment only")
    ap.add_argument("--master-addr", default="127.0.0.1")
    ap.add_argument("--master-port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd or a.nproc < 1:
        ap.error("need -n N >= 1 and a program after --")
    port = a.master_port or free_port()
    token = secrets.token_hex(16)
    procs = []
    for r in range(a.nproc):
        env = dict(os.environ)
        for k in ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE",
                  "SLURM_PROCID", "SLURM_NTASKS"):
            env.pop(k, None)
        env.update(RANK=str(r), WORLD_SIZE=str(a.nproc), LOCAL_RANK=str(r),
                   LOCAL_WORLD_SIZE=str(a.nproc), GROUP_RANK="0",
                   MASTER_ADDR=a.master_addr, MASTER_PORT=str(port), PZRT_JOB_TOKEN=token)
        for kv in a.env:
            k, _, v = kv.partition("=")
            env[k] = v
        for rkv in a.rank_env:
            rr, _, kv = rkv.partition(":")
            if int(rr) == r:
                k, _, v = kv.partition("=")
                env[k] = v
        procs.append(subprocess.Popen(cmd, env=env))
    deadline = time.monotonic() + a.timeout
    while any(p.poll() is None for p in procs):
        if time.monotonic() > deadline:
            alive = [r for r, p in enumerate(procs) if p.poll() is None]
            for r in alive:
                procs[r].kill()
            for p in procs:
                p.wait()
            print(f"launch-local: rank(s) {alive} still ran after {a.timeout:g} s: killed (a hang)",
                  file=sys.stderr)
            return 125
        time.sleep(0.05)
    for p in procs:
        rc = p.returncode
        if rc != 0:
            return 128 - rc if rc < 0 else rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
