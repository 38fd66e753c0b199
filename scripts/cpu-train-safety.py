#!/usr/bin/env python3
"""End-to-end safety checks of a compiled CPU `train` program (examples/mlp).

* --save onto the program's own OUTDIR, a folder that is not a checkpoint, a
  regular file and /dev/null: exit 2 at startup, nothing touched (the trees
  are compared byte for byte before and after);
* kill -9 in the middle of a save (between the atomic exchange and the
  removal of the old copy, and, where the file system cannot exchange,
  between the two renames): the next --load succeeds, resumes bit-identically
  (losses, grad norms and the final checkpoint file equal to an uninterrupted
  run) and the next save removes the leftovers;
* a FIFO as --data-npy or as a checkpoint's index.json: exit 2, no hang;
* an infinity in the data: exit 3 naming the step and the first parameter
  whose gradient is not finite, with nothing of that step applied;
* a repeated flag: exit 2; stdout on /dev/full: exit 1.

Usage: /usr/bin/python3 scripts/cpu-train-safety.py [--bin DIR] [--work DIR]
"""

import argparse
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
failures = []
# Only to detect a hang: every command here finishes in a second or two.
HANG_S = 60


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(args, env=None, stdout=subprocess.PIPE):
    e = dict(os.environ)
    e.update(env or {})
    try:
        return subprocess.run([str(a) for a in args], stdout=stdout, stderr=subprocess.PIPE,
                              text=True, env=e, timeout=HANG_S)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, "hang", "", f"no exit after {HANG_S} s")
    except OSError as e:  # e.g. the program itself was deleted
        return subprocess.CompletedProcess(args, "not run", "", str(e))


def tree(path):
    """Every entry under path: name -> sha256 of a file, 'dir', or its type."""
    out = {}
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        return {".": stat.S_IFMT(st.st_mode), "rdev": st.st_rdev}
    for base, dirs, files in os.walk(path):
        for d in dirs:
            out[os.path.relpath(os.path.join(base, d), path)] = "dir"
        for f in files:
            p = os.path.join(base, f)
            out[os.path.relpath(p, path)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


def metrics(path):
    return [json.loads(l) for l in open(path)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="pz-cpu-train-safety-")
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    out = os.path.join(work, "mlp")
    r = run([os.path.join(a.bin, "parallelize"), "compile",
             os.path.join(ROOT, "examples", "mlp", "mlp.mlir"), "-o", out,
             "--input-shape", "x=8x64", "--input-shape", "labels=8", "--lr", "1e-2"])
    if r.returncode:
        sys.exit(f"compile failed: {r.stderr}")
    train = os.path.join(out, "train")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 64)).astype(np.float32)
    np.save(os.path.join(work, "x.npy"), x)
    np.save(os.path.join(work, "labels.npy"), rng.integers(0, 10, 64).astype(np.int64))
    data = ["--data-npy", f"x={work}/x.npy,labels={work}/labels.npy"]

    # --save onto what it did not write.
    thesis = os.path.join(work, "thesis")
    os.makedirs(os.path.join(thesis, "figures"))
    open(os.path.join(thesis, "main.tex"), "w").write("\\documentclass{book}\n")
    notes = os.path.join(work, "notes.txt")
    open(notes, "w").write("a regular file\n")
    # (OUTDIR last: a runtime that got this wrong would delete the program.)
    for target, what in [(thesis, "a folder"), (notes, "a regular file"),
                         ("/dev/null", "/dev/null"), (out, "the program's own OUTDIR")]:
        if not os.path.exists(target):
            check(False, f"--save onto {what}: {target} was deleted by an earlier check")
            continue
        before = tree(target)
        # /dev/null also gets a --load that fails: were --save ever not checked
        # at startup again, the run would stop there instead of replacing the
        # device (the check runs before the load).
        guard = ["--load", os.path.join(work, "absent")] if target == "/dev/null" else []
        r = run([train, "--steps", "3", "--save", target] + guard + data)
        check(r.returncode == 2 and "--save" in r.stderr and target in r.stderr
              and "nothing was changed" in r.stderr and "step 1/" not in r.stdout,
              f"--save onto {what}: exit 2 at startup naming it (got {r.returncode}: "
              f"{r.stderr.strip()[:200]})")
        check(tree(target) == before, f"--save onto {what}: nothing touched")

    # kill -9 during a save, then resume.
    full = os.path.join(work, "full")
    r = run([train, "--steps", "12", "--save", full, "--metrics", f"{work}/full.jsonl",
             "--log-every", "0"] + data)
    if r.returncode:
        sys.exit(f"train failed: {r.stderr}")
    straight = metrics(f"{work}/full.jsonl")
    for point, env in [("after-exchange", {}),
                       ("after-aside", {"PZRT_TEST_NO_RENAME_EXCHANGE": "1"})]:
        ck = os.path.join(work, "ck-" + point)
        r = run([train, "--steps", "6", "--save", ck, "--log-every", "0"] + data)
        env = dict(env, PZRT_TEST_CRASH_AT=point)
        r = run([train, "--load", ck, "--steps", "3", "--save", ck, "--log-every", "0"] + data,
                env=env)
        check(r.returncode == -9, f"{point}: the save was killed with SIGKILL (got {r.returncode})")
        r = run([train, "--load", ck, "--steps", "3", "--save", ck, "--metrics",
                 f"{work}/rest.jsonl", "--log-every", "0"] + data)
        check(r.returncode == 0, f"{point}: the next --load succeeds ({r.stderr.strip()[:300]})")
        if r.returncode:
            continue
        if point == "after-aside":
            check("does not exist; loading" in r.stderr and ".pzrt-tmp-9" in r.stderr,
                  f"{point}: a note says which leftover was loaded ({r.stderr.strip()[:200]})")
        rest = metrics(f"{work}/rest.jsonl")
        check([(m["step"], m["loss"], m["grad_norm"]) for m in rest] ==
              [(m["step"], m["loss"], m["grad_norm"]) for m in straight[9:12]],
              f"{point}: steps 10..12 bit-identical to the uninterrupted run")
        same = all(open(os.path.join(ck, f), "rb").read() == open(os.path.join(full, f), "rb").read()
                   for f in os.listdir(full) if f.endswith(".safetensors"))
        check(same, f"{point}: the final checkpoint's files are byte-identical")
        left = [f for f in os.listdir(work) if f.startswith(os.path.basename(ck) + ".")]
        check(left == [], f"{point}: no leftovers after the next save ({left})")

    # FIFOs.
    fifo = os.path.join(work, "fifo")
    os.mkfifo(fifo)
    r = run([train, "--steps", "1", "--data-npy", f"x={fifo},labels={work}/labels.npy"])
    check(r.returncode == 2 and "is a FIFO" in r.stderr,
          f"a FIFO as --data-npy: exit 2 without blocking (got {r.returncode}: {r.stderr.strip()[:200]})")
    ckf = os.path.join(work, "ck-fifo")
    shutil.copytree(full, ckf)
    os.remove(os.path.join(ckf, "index.json"))
    os.mkfifo(os.path.join(ckf, "index.json"))
    r = run([train, "--steps", "1", "--load", ckf] + data)
    check(r.returncode == 2 and "is a FIFO" in r.stderr,
          f"a FIFO as a checkpoint's index.json: exit 2 without blocking (got {r.returncode})")

    # Numerics: an infinity in row 20 reaches step 3 (rows 16..23).
    bad = x.copy()
    bad[20, 5] = np.inf
    np.save(os.path.join(work, "bad.npy"), bad)
    r = run([train, "--steps", "6", "--metrics", f"{work}/nan.jsonl", "--log-every", "1",
             "--data-npy", f"x={work}/bad.npy,labels={work}/labels.npy"])
    check(r.returncode == 3 and "step 3: the gradient of parameter 'fc1.weight'" in r.stderr,
          f"an infinity in the data: exit 3 naming step 3 and fc1.weight "
          f"(got {r.returncode}: {r.stderr.strip()[:300]})")
    check(len(metrics(f"{work}/nan.jsonl")) == 2 and "nan" not in r.stdout,
          "an infinity in the data: steps 1 and 2 only, no 'loss nan' line")

    # Flags and stdout.
    r = run([train, "--steps", "1", "--steps", "2"] + data)
    check(r.returncode == 2 and "--steps is given twice" in r.stderr,
          f"a repeated flag: exit 2 naming it (got {r.returncode})")
    with open("/dev/full", "w") as full_dev:
        r = run([train, "--steps", "2", "--log-every", "1"] + data, stdout=full_dev)
    check(r.returncode == 1 and "No space left on device" in r.stderr,
          f"stdout on /dev/full: exit 1 with a message (got {r.returncode}: {r.stderr.strip()[:200]})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
