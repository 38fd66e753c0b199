#!/usr/bin/env python3
"""Starts a job, signals it once its ranks run, and fails unless every
process of the job is gone within 5 seconds.

Usage: signal-run.py SIGNAL MARKER RANKS COMMAND [ARGS...]

A process belongs to the job when its command line contains MARKER, a path
unique to this test; this script and its parents are never counted. The job
runs in its own session, so the signal reaches COMMAND's process only (what
`kill PID` does), not a terminal's whole process group. Whatever is left
after 5 seconds is reported and then killed, by its process id.
"""
import os
import signal
import subprocess
import sys
import time

sig = getattr(signal, sys.argv[1])
marker = sys.argv[2].encode()
ranks = int(sys.argv[3])
command = sys.argv[4:]

ancestors = set()
pid = os.getpid()
while pid > 1:
    ancestors.add(pid)
    with open(f"/proc/{pid}/stat") as f:
        pid = int(f.read().rsplit(")", 1)[1].split()[1])


def job():
    """{pid: argv} of the live processes of the job."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in ancestors:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(marker in a for a in argv):
            found[int(entry)] = argv
    return found


def rank_processes():
    launchers = (b"mpirun", b"mpiexec", b"orterun", b"prterun", b"srun")
    return [p for p, argv in job().items()
            if os.path.basename(argv[0]) not in launchers
            and any(a.endswith(b"/train") for a in argv)]


proc = subprocess.Popen(command, start_new_session=True)
deadline = time.monotonic() + 120
while len(rank_processes()) < ranks:
    if proc.poll() is not None or time.monotonic() > deadline:
        print(f"signal-run: the job did not start {ranks} ranks "
              f"(exit {proc.poll()})")
        for p in job():
            os.kill(p, signal.SIGKILL)
        sys.exit(1)
    time.sleep(0.1)
time.sleep(0.5)  # let the ranks settle into their loop

os.kill(proc.pid, sig)
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    proc.poll()  # reap the launcher once it exits
    if not job():
        print(f"signal-run: {sys.argv[1]}: no process of the job is left")
        sys.exit(0)
    time.sleep(0.1)
left = job()
print(f"signal-run: {sys.argv[1]}: {len(left)} process(es) of the job still "
      f"run after 5 s:")
for p, argv in sorted(left.items()):
    print(f"  {p}: {b' '.join(argv).decode(errors='replace')}")
    try:
        os.kill(p, signal.SIGKILL)
    except OSError:
        pass
sys.exit(1)
