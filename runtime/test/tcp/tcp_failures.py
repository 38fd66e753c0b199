#!/usr/bin/env python3
"""A failed rank ends a job launched without MPI (the TCP host communicator).

Runs pzrt-timeout-probe on 2 ranks through scripts/launch-local.py, which
never stops the other ranks itself (a hang shows as its exit 125):

  timeout  rank 0's all_reduce, which rank 1 never joins, times out after 1 s:
           rank 0 exits 124 naming itself and all_reduce; rank 1, asleep and
           outside any collective, reads rank 0's abort and exits 1 naming
           rank 0. The trace rank 0 had open is valid JSON.
  kill     rank 1 is killed (SIGKILL) before the all_reduce: rank 0 (timeout
           60 s) ends at once, exit 1, naming rank 1 and the all_reduce.
  token    rank 1 has another PZRT_JOB_TOKEN: both ranks fail in the
           rendezvous, naming the token (rank 0's wait has a 5 s deadline).

And the cases of pzrt-tcp-probe (runtime/test/tcp/tcp_probe.cpp says what
each does): midframe and rst (the abort message arrives whole, even with a
64 MiB frame half written, or a reset behind it), otherthread (an abort from
a thread other than the one inside the communicator), bcast (a failed
broadcast leaves nothing posted), shutdown (a rank that leaves early fails
nobody).

    tcp_failures.py TIMEOUT_PROBE TCP_PROBE LAUNCHER WORKDIR
"""
import json
import os
import re
import subprocess
import sys
import time


def launch(launcher, probe, extra, env_args, limit=60):
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, launcher, "-n", "2", "--timeout", str(limit)] + env_args
                       + ["--", probe] + extra, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout, time.monotonic() - t0


def main():
    probe, tcp_probe, launcher, work = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    fails = []

    def expect(case, cond, what, out):
        if not cond:
            fails.append(f"{case}: {what}\n--- output ---\n{out}")

    trace = os.path.join(work, "trace.json")
    if os.path.exists(trace):
        os.remove(trace)
    rc, out, secs = launch(launcher, probe, [trace], [])
    print(f"timeout: exit {rc} after {secs:.1f} s")
    expect("timeout", rc == 124, f"exit {rc}, wanted 124 (rank 0's timeout)", out)
    expect("timeout", re.search(r"pzrt: rank 0 \(of 2\): all_reduce on communicator 'world' "
                                r"[^\n]*timed out after", out), "no timeout message", out)
    expect("timeout", re.search(r"pzrt: rank 1 \(of 2\): rank 0 failed: rank 0 \(of 2\): "
                                r"all_reduce", out),
           "rank 1 did not end with rank 0's message", out)
    expect("timeout", secs < 30, f"took {secs:.1f} s: rank 1 was not ended by the abort", out)
    try:
        events = json.load(open(trace))["traceEvents"]
        expect("timeout", any(e.get("name") == "before-timeout" for e in events),
               "trace lacks its event", out)
    except (OSError, ValueError, KeyError) as e:
        expect("timeout", False, f"trace not valid: {e}", out)

    rc, out, secs = launch(launcher, probe, [], ["--env", "PZRT_PROBE=kill"])
    print(f"kill: exit {rc} after {secs:.1f} s")
    expect("kill", rc == 1, f"exit {rc}, wanted 1 (rank 0 ends; rank 1 was killed)", out)
    expect("kill", re.search(r"pzrt: rank 0 \(of 2\): all_reduce on communicator 'world' "
                             r"\(rank 0 of 2\): rank 1 closed its connection", out),
           "rank 0's message does not name rank 1 and the all_reduce", out)
    expect("kill", secs < 30, f"took {secs:.1f} s: rank 0 waited for its deadline", out)

    rc, out, secs = launch(launcher, probe, [],
                           ["--env", "PZRT_COMM_TIMEOUT=5", "--rank-env",
                            "1:PZRT_JOB_TOKEN=not-the-job's"])
    print(f"token: exit {rc} after {secs:.1f} s")
    expect("token", rc not in (0, 125), f"exit {rc}", out)
    expect("token", "wrong job token" in out and "rejected this rank" in out,
           "no message naming the token on both ranks", out)

    def case(mode, ranks=2):
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, launcher, "-n", str(ranks), "--timeout", "60",
                            "--env", "PZRT_PROBE=" + mode, "--", tcp_probe],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        secs = time.monotonic() - t0
        print(f"{mode}: exit {p.returncode} after {secs:.1f} s")
        return p.returncode, p.stdout, secs

    rc, out, secs = case("midframe")
    expect("midframe", rc == 124, f"exit {rc}, wanted 124 (rank 0's timeout)", out)
    expect("midframe", re.search(r"pzrt: rank 1 \(of 2\): recv on communicator 'world' ended: "
                                 r"rank 0 failed: rank 0 \(of 2\): send on communicator", out),
           "rank 1 did not get rank 0's abort message whole", out)
    rc, out, secs = case("rst")
    expect("rst", re.search(r"pzrt: rank 0 \(of 2\): rank 1 failed: rank 1 \(of 2\): recv on "
                            r"communicator 'world' [^\n]*timed out", out),
           "rank 0 did not report rank 1's message", out)
    rc, out, secs = case("otherthread")
    expect("otherthread", rc == 1, f"exit {rc}", out)
    expect("otherthread", "pzrt: rank 1 (of 2): rank 0 failed: main thread failed (numerics)"
           in out and "no abort arrived" not in out, "rank 1 was not ended by the abort", out)
    rc, out, secs = case("bcast")
    expect("bcast", rc == 0 and "probe rank 1: broadcast rc -1" in out
           and "expected 131072 elements but the message had 65536" in out,
           f"exit {rc}: the failed broadcast was not reported, or the all_reduce after it "
           "failed", out)
    rc, out, secs = case("shutdown", 3)
    expect("shutdown", rc == 0 and out.count(": ok") == 2, f"exit {rc}", out)

    for f in fails:
        print("FAIL " + f)
    print("ok" if not fails else f"{len(fails)} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
