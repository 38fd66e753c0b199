#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets from the project's own files.

Usage: make_seeds.py --src SOURCE_ROOT --out DIR [--checkpoint-seeds TOOL]

DIR/<target>/ gets:
  onnx         the importer's lit-test models (test/Import/ONNX/Inputs/onnx_gen.py,
               every case the tests use) and the ONNX backend node-test models
               (libonnx-testdata, which the conformance test runs) of at most 16 KiB;
  plan-yaml    the plan files of the tests, the README's keys, printed plans;
  plan-flags   the plan flags of the tests' RUN lines, one argument per line;
  npy          arrays of every dtype the reader takes, format versions 1.0/2.0/3.0,
               0-d, empty and multi-dimensional, plus the rejected kinds;
  checkpoint   checkpoints written by the runtime itself (TOOL: pz-fuzz-checkpoint-seeds).
The committed crash reproducers (fuzz/regressions/<target>/) are a second corpus
directory of each target, not copied here.
"""
import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

NODE_TESTS = "/usr/share/libonnx-testdata/data/node"
PLAN_FLAGS = ("dp-replicate", "dp-shard", "zero", "tp", "sp", "cp", "pp", "schedule",
              "grad-accum", "microbatches", "virtual-stages", "stage-boundaries", "recompute",
              "precision")


def put(out_dir, data, name=None):
    os.makedirs(out_dir, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    name = name or hashlib.sha1(data).hexdigest()
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)


def onnx_seeds(src, out):
    gen = os.path.join(src, "test", "Import", "ONNX", "Inputs", "onnx_gen.py")
    cases = set()
    for path in glob.glob(os.path.join(src, "test", "**", "*.test"), recursive=True):
        with open(path) as f:
            cases.update(re.findall(r"onnx_gen\.py\s+(\w+)", f.read()))
    with tempfile.TemporaryDirectory() as tmp:
        for case in sorted(cases):
            path = os.path.join(tmp, case + ".onnx")
            r = subprocess.run([sys.executable, gen, case, path], capture_output=True)
            if r.returncode == 0 and os.path.exists(path):
                with open(path, "rb") as f:
                    put(out, f.read(), "gen-" + case)
    for model in sorted(glob.glob(os.path.join(NODE_TESTS, "test_*", "model.onnx"))):
        if os.path.getsize(model) <= 16384:
            with open(model, "rb") as f:
                put(out, f.read(), "node-" + os.path.basename(os.path.dirname(model)))


def plan_yaml_seeds(src, out):
    for path in sorted(glob.glob(os.path.join(src, "test", "**", "*.yaml"), recursive=True)):
        with open(path, "rb") as f:
            put(out, f.read(), "test-" + os.path.basename(path))
    put(out, "dp_replicate: 1\ndp_shard: 1\nzero: 0\ntp: 1\nsp: false\ncp: 1\npp: 1\n"
             "schedule: 1f1b\ngrad_accum: 1\nvirtual_stages: 1\nrecompute: none\n"
             "precision: fp32\n", "defaults")
    put(out, "dp_shard: 4\nzero: 3\ntp: 2\nsp: true\npp: 2\nschedule: interleaved\n"
             "virtual_stages: 2\nmicrobatches: 4\nrecompute: selective\nprecision: bf16\n",
        "everything")
    put(out, "{tp: 2, pp: 4, schedule: zb, grad_accum: 8}\n", "flow")
    put(out, "pp: 3\nstage_boundaries: [h.2, \"h.5\"]\n", "stage-boundaries-flow")
    put(out, "pp: 3\nstage_boundaries:\n  - h.2\n  - 'h.5'\n", "stage-boundaries-block")
    put(out, "pp: 2\nrecompute: [h.0, \"h.2\"]\n", "recompute-layers-flow")
    put(out, "recompute:\n  - layers.1\n  - 'layers.3'\n", "recompute-layers-block")
    put(out, "# a comment\ntp: 2\n---\npp: 2\n", "two-documents")


def plan_flag_seeds(src, out):
    flag = re.compile(r"--(%s)(?:=(\S+)|\s+(?!-)(\S+))?" % "|".join(PLAN_FLAGS))
    for path in sorted(glob.glob(os.path.join(src, "test", "**", "*.test"), recursive=True)):
        with open(path) as f:
            for line in f:
                if "RUN:" not in line:
                    continue
                args = []
                for m in flag.finditer(line.split("|")[0]):
                    args.append("--" + m.group(1))
                    value = m.group(2) or m.group(3)
                    if value and m.group(1) != "sp":
                        args.append(value)
                if args:
                    put(out, "\n".join(args))
    put(out, "--dp-shard=2\n--zero=1\n--tp=2\n--sp\n--cp=2\n--pp=2\n--schedule=gpipe\n"
             "--grad-accum=4\n--recompute=full\n--precision=fp16", "equals-form")
    put(out, "--pp=2\n--recompute\nh.0,h.2", "recompute-layers")


def npy_bytes(array, version):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=version)
    return buf.getvalue()


def npy_seeds(out):
    rng = np.random.default_rng(0)
    dtypes = ["<f4", "<f8", "<f2", "<i4", "<i8", "|u1", "|b1", "<u2", "<u4", "<u8"]
    for i, dt in enumerate(dtypes):
        a = (rng.random((3, 4)) * 10).astype(dt)
        put(out, npy_bytes(a, (1, 0)), "v1-" + dt.strip("<|"))
    for version in [(1, 0), (2, 0), (3, 0)]:
        v = "v%d" % version[0]
        put(out, npy_bytes(np.arange(24, dtype="<f4").reshape(2, 3, 4), version), v + "-3d")
        put(out, npy_bytes(np.float32(1.5).reshape(()), version), v + "-0d")
        put(out, npy_bytes(np.zeros((0, 5), dtype="<i8"), version), v + "-empty")
        put(out, npy_bytes(np.arange(7, dtype="<i4"), version), v + "-1d")
    put(out, npy_bytes(np.arange(6, dtype=">f4").reshape(2, 3), (1, 0)), "big-endian")
    put(out, npy_bytes(np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)), (1, 0)),
        "fortran")
    put(out, npy_bytes(np.array([1 + 2j], dtype="<c8"), (1, 0)), "complex")


def checkpoint_seeds(tool, out):
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([tool, tmp, out], check=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--checkpoint-seeds")
    a = p.parse_args()
    if os.path.isdir(a.out):
        shutil.rmtree(a.out)
    onnx_seeds(a.src, os.path.join(a.out, "onnx"))
    plan_yaml_seeds(a.src, os.path.join(a.out, "plan-yaml"))
    plan_flag_seeds(a.src, os.path.join(a.out, "plan-flags"))
    npy_seeds(os.path.join(a.out, "npy"))
    if a.checkpoint_seeds:
        checkpoint_seeds(a.checkpoint_seeds, os.path.join(a.out, "checkpoint"))
    for t in sorted(os.listdir(a.out)):
        print("%-11s %4d seeds" % (t, len(os.listdir(os.path.join(a.out, t)))))


if __name__ == "__main__":
    main()
