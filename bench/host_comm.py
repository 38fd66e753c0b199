#!/usr/bin/env python3
"""The host communicators side by side: all_reduce and all_gather of fp32
buffers from 8 B to 64 MiB on N local ranks (default 2), under mpirun (Open
MPI: shared memory within the host) and launched without MPI (the TCP host
communicator, docs/design/0021, over loopback), alternately for --rounds
rounds, in one run. pzrt-comm-bench times each call (the slowest rank's
time, the median over the repetitions); the JSON keeps every round and the
median of the rounds per size.

Usage: /usr/bin/python3 bench/host_comm.py [--ranks 2] [--rounds 2] [--json FILE]
"""
import argparse
import json
import os
import shutil
import statistics
import sys

import common

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--json", default=os.path.join(common.ROOT, "build", "bench", "host_comm.json"))
ap.add_argument("--bench", default=os.path.join(common.ROOT, "build", "runtime", "pzrt-comm-bench"))
ap.add_argument("--ranks", type=int, default=2)
ap.add_argument("--rounds", type=int, default=2)
a = ap.parse_args()
mpirun = shutil.which("mpirun")
if not mpirun:
    sys.exit("no mpirun: the MPI side is the reference")
launchers = {
    "mpi": [mpirun, "--allow-run-as-root", "--oversubscribe", "-np", a.ranks],
    "tcp": [sys.executable, os.path.join(common.ROOT, "scripts", "launch-local.py"), "-n",
            a.ranks, "--"],
}
rows = {name: {} for name in launchers}  # name -> (op, bytes) -> [median_us per round]
for k in range(a.rounds):
    for name, prefix in launchers.items():
        r, _ = common.run(prefix + [a.bench], env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        if r.returncode:
            sys.exit(f"{name}: pzrt-comm-bench failed: {r.stderr}")
        for line in r.stdout.splitlines():
            row = json.loads(line)
            rows[name].setdefault((row["op"], row["bytes"]), []).append(row["median_us"])
table = []
for (op, size), mpi_us in sorted(rows["mpi"].items()):
    tcp_us = rows["tcp"][(op, size)]
    m, t = statistics.median(mpi_us), statistics.median(tcp_us)
    table.append({"op": op, "bytes": size, "mpi_us": m, "tcp_us": t, "tcp_over_mpi": t / m,
                  "mpi_rounds": mpi_us, "tcp_rounds": tcp_us})
    print(f"{op:10} {size:>10} B  MPI {m:10.1f} us  TCP {t:10.1f} us  ({t / m:.2f}x)")
common.write_json(a.json, {"benchmark": "host_comm", "ranks": a.ranks, "rounds": a.rounds,
                           "rows": table, "machine": common.machine()})
