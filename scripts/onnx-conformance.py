#!/usr/bin/env python3
"""ONNX backend node tests against the Parallelize importer.

Walks the node tests that Debian's libonnx-testdata ships
(/usr/share/libonnx-testdata/data/node/test_*/: model.onnx and
test_data_set_*/{input,output}_*.pb), selects the cases whose every op is one
the importer claims (`parallelize inspect --list-onnx-ops`), and runs each
case through STAGES:

* `import`: the case imports and verifies
  (`parallelize inspect MODEL --emit-ir`);
* `numeric`: the reference interpreter (`pz-interpret`, next to
  `parallelize`) runs that IR on test_data_set_0/input_*.pb and its results
  must match output_*.pb (rtol = atol = 1e-4; 1e-2 for 16-bit floats). A
  training-mode Dropout draws its own mask, so no reference values can
  exist: its results are checked for what every mask must give instead
  (compare_dropout). Skipped when pz-interpret is not built. It fails the
  run with --require-numeric.

* `cpu`: the CPU backend compiles the case (`parallelize compile MODEL
  --forward-only`: C++ on the runtime, built with the system compiler), the
  program runs on the same inputs, and its results must match with the same
  tolerances. fp16 values travel as '<f2' .npy files and bf16 values as
  their raw bits ('<u2'). Cases the backend cannot compile say why and are
  skipped and named. It fails the run with --require-cpu.

Cases written for opsets the importer does not accept (outside 13..21) are
skipped and counted.

Inputs that the importer needs at compile time (a Reshape's shape, Slice's
starts, a Dropout ratio, ..., and the inputs such operands are computed
from, as a window size cast and scaled into a Range limit) are graph inputs
in some backend tests; for a static-shape compiler they are constants, so
the harness turns them into initializers holding the test's own input
values. Inputs whose declared
shape is symbolic get `--input-shape` from their test data.

Every case's result is one JSON object per line (--jsonl). The exit status is
1 when a selected case fails and is not listed in the exceptions file (one
`test_name  reason` per line), or when a listed case passes (stale entry).

Usage: /usr/bin/python3 scripts/onnx-conformance.py [--parallelize BIN]
       [--data DIR] [--exceptions FILE] [--jsonl FILE] [--work DIR] [-j N]
       [--filter SUBSTRING] [--require-numeric] [-v]
"""

import argparse
import collections
import concurrent.futures
import glob
import json
import os
import subprocess
import sys
import tempfile

import onnx
from onnx import numpy_helper  # noqa: F401  (registers onnx.numpy_helper)

DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The default-domain opsets the importer accepts (kMinOpset, kMaxOpset in
# include/pz/Import/ONNX/OnnxImporter.h). Cases written for other opsets
# test semantics the importer does not claim; they are counted as skipped.
MIN_OPSET, MAX_OPSET = 13, 21

# Operand positions the importer needs as constants; mirrors
# isStaticOperand in lib/Import/ONNX/GraphImporter.cpp.
STATIC_OPERANDS = {
    "Reshape": {1}, "Expand": {1}, "Squeeze": {1}, "Unsqueeze": {1},
    "Split": {1}, "Trilu": {1}, "ReduceSum": {1}, "ReduceMean": {1},
    "ReduceMax": {1}, "Slice": {1, 2, 3, 4}, "Dropout": {1, 2},
    "ConstantOfShape": {0}, "Range": {0, 1, 2}, "Tile": {1}, "CumSum": {1},
}


def claimed_ops(binary):
    out = subprocess.run([binary, "inspect", "--list-onnx-ops"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return set(out.split())


def read_exceptions(path):
    """test name -> reason; lines are `name  reason`, # starts a comment."""
    exceptions = {}
    if not path:
        return exceptions
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _, reason = line.partition(" ")
            if not reason.strip():
                sys.exit(f"{path}:{lineno}: exception '{name}' has no reason")
            exceptions[name] = reason.strip()
    return exceptions


def case_ops(model):
    return sorted({n.op_type for n in model.graph.node
                   if n.domain in ("", "ai.onnx")} |
                  {f"{n.domain}::{n.op_type}" for n in model.graph.node
                   if n.domain not in ("", "ai.onnx")})


def opset_of(model):
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    return None


def load_inputs(case_dir, model):
    """The test's first data set, by graph input name."""
    data_dir = os.path.join(case_dir, "test_data_set_0")
    inits = {t.name for t in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in inits]
    values = {}
    for k, name in enumerate(names):
        path = os.path.join(data_dir, f"input_{k}.pb")
        if not os.path.exists(path):
            continue
        t = onnx.TensorProto()
        with open(path, "rb") as f:
            t.ParseFromString(f.read())
        values[name] = t
    return values


class Case:
    """A prepared case: its model file, --input-shape arguments, op types,
    the test's data inputs (name -> TensorProto), outputs and work dir."""

    def __init__(self, name, case_dir, work_dir):
        self.name, self.case_dir, self.work_dir = name, case_dir, work_dir
        self.model_path, self.shapes, self.ops = None, [], []
        self.inputs, self.outputs = {}, []
        self.dropout = None  # (x, ratio, y, mask or None) of a random Dropout
        self.declared = {}  # input name -> static declared shape
        self.elem_types = {}  # input and output name -> declared elem type


def prepare(case):
    """Writes the case's model with static-operand inputs as initializers
    and fills in the rest of `case`."""
    case_dir, work_dir = case.case_dir, case.work_dir
    model = onnx.load(os.path.join(case_dir, "model.onnx"))
    ops = case_ops(model)
    values = load_inputs(case_dir, model)
    static = set()
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            if i in STATIC_OPERANDS.get(node.op_type, ()):
                static.add(name)
    # What a static operand is computed from is needed at compile time too
    # (a window size cast and scaled into a Range limit), except through
    # Shape and Size, which read only their input's static shape.
    changed = True
    while changed:
        changed = False
        for node in model.graph.node:
            if node.op_type in ("Shape", "Size") or \
                    not static.intersection(node.output):
                continue
            for name in node.input:
                if name and name not in static:
                    static.add(name)
                    changed = True
    shapes = []
    keep = []
    for inp in model.graph.input:
        if inp.name in static and inp.name in values:
            t = onnx.TensorProto()
            t.CopyFrom(values[inp.name])
            t.name = inp.name
            model.graph.initializer.append(t)
            continue
        keep.append(inp)
        dims = inp.type.tensor_type.shape.dim if inp.type.HasField(
            "tensor_type") else []
        if inp.name in values and any(not d.HasField("dim_value")
                                      for d in dims):
            real = list(values[inp.name].dims)
            if real and all(d > 0 for d in real):
                shapes += ["--input-shape",
                           inp.name + "=" + "x".join(map(str, real))]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    os.makedirs(work_dir, exist_ok=True)
    case.model_path = os.path.join(work_dir, "model.onnx")
    onnx.save(model, case.model_path)
    case.shapes, case.ops = shapes, ops
    case.inputs = {i.name: values[i.name] for i in keep if i.name in values}
    case.outputs = [o.name for o in model.graph.output]
    for v in list(keep) + list(model.graph.output):
        case.elem_types[v.name] = v.type.tensor_type.elem_type
    for i in keep:
        dims = i.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            case.declared[i.name] = [d.dim_value for d in dims]
    # A Dropout in training mode with a ratio above 0 draws its own mask:
    # the reference values cannot be reproduced (see compare_dropout).
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Dropout" or len(node.input) < 3 or \
                node.input[2] not in inits:
            continue
        training = bool(numpy_helper.to_array(inits[node.input[2]]))
        ratio = 0.5
        if len(node.input) > 1 and node.input[1] in inits:
            ratio = float(numpy_helper.to_array(inits[node.input[1]]))
        if training and ratio > 0:
            case.dropout = (node.input[0], ratio, node.output[0],
                            node.output[1] if len(node.output) > 1 else None)


# --------------------------------------------------------------------------
# Stages: each takes (binary, case) and returns (status, message) with
# status "pass", "fail" or "skip".
# --------------------------------------------------------------------------

def import_stage(binary, case):
    try:
        proc = subprocess.run(
            [binary, "inspect", case.model_path, "--emit-ir"] + case.shapes,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=120)
    except subprocess.TimeoutExpired:
        return "fail", "timed out"
    if proc.returncode == 0:
        with open(os.path.join(case.work_dir, "model.mlir"), "w") as f:
            f.write(proc.stdout)
        return "pass", ""
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    return "fail", (f"exit {proc.returncode}: " +
                    (lines[0] if lines else "no message"))


def to_array(t, declared=None):
    """A TensorProto as numpy. bfloat16 values, which onnx 1.12 returns as
    raw uint16 bits (and its test data stores as UINT16 tensors), widen to
    float32; `declared` is the model's element type for the value."""
    import numpy as np
    a = numpy_helper.to_array(t)
    bf16 = onnx.TensorProto.BFLOAT16
    if t.data_type == bf16 or (declared == bf16 and a.dtype == np.uint16):
        a = (a.astype(np.uint32) << 16).view(np.float32)
    return a


def save_inputs(case, tag, bf16_bits=False):
    """The test's inputs as .npy files: ["--input", "NAME=PATH", ...], or a
    skip message when the data does not fit the declared shape. With
    bf16_bits, bfloat16 inputs are saved as their raw bits ('<u2', what the
    compiled run program reads) instead of widened to float32."""
    import numpy as np
    args = []
    for name, t in case.inputs.items():
        value = to_array(t, case.elem_types.get(name))
        if bf16_bits and case.elem_types.get(name) == onnx.TensorProto.BFLOAT16:
            value = (value.astype(np.float32).view(np.uint32) >> 16).astype(
                np.uint16)
        declared = case.declared.get(name)
        if declared is not None and tuple(declared) != value.shape:
            return None, (f"the test data of input '{name}' has shape "
                          f"{value.shape}, the model declares "
                          f"{tuple(declared)}")
        path = os.path.join(case.work_dir, f"{tag}_in_{len(args)}.npy")
        np.save(path, value)
        args += ["--input", f"{name}={path}"]
    return args, ""


def compare_outputs(case, out_dir):
    """Compares DIR/NAME.npy with the test's output_*.pb (rtol = atol =
    1e-4; 1e-2 for 16-bit floats)."""
    import numpy as np
    data_dir = os.path.join(case.case_dir, "test_data_set_0")
    for k, name in enumerate(case.outputs):
        ref_path = os.path.join(data_dir, f"output_{k}.pb")
        got_path = os.path.join(out_dir, name.replace("/", "_") + ".npy")
        if not os.path.exists(ref_path):
            continue
        t = onnx.TensorProto()
        with open(ref_path, "rb") as f:
            t.ParseFromString(f.read())
        want = to_array(t, case.elem_types.get(name))
        if not os.path.exists(got_path):
            return "fail", f"no result for output '{name}'"
        got = np.load(got_path)
        if (case.elem_types.get(name) == onnx.TensorProto.BFLOAT16
                and got.dtype == np.uint16):  # the run program's raw bits
            got = (got.astype(np.uint32) << 16).view(np.float32)
        if got.shape != want.shape:
            return "fail", (f"output '{name}' has shape {got.shape}, "
                            f"expected {want.shape}")
        if want.dtype.kind in "biu":
            ok = np.array_equal(got.astype(np.int64), want.astype(np.int64))
        else:
            # Half-precision results (the reference may truncate where pz
            # rounds to nearest) get half-precision tolerances.
            half = case.elem_types.get(name) in (
                onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)
            tol = 1e-2 if half or want.dtype.itemsize <= 2 else 1e-4
            ok = np.allclose(got, want.astype(np.float64), rtol=tol,
                             atol=tol, equal_nan=True)
        if not ok:
            diff = np.abs(got - want.astype(np.float64))
            err = np.nanmax(np.where(np.isfinite(diff), diff, np.nan)) \
                if want.size and np.isfinite(diff).any() else float("nan")
            return "fail", f"output '{name}' differs (max abs error {err:g})"
    return "pass", ""


def compare_dropout(case, out_dir):
    """A training-mode Dropout draws its own mask, so its reference values
    cannot be reproduced; checks what must hold for any mask instead: each
    output element is 0 or x / (1 - ratio) (rtol 1e-6), the mask output (if
    any) marks exactly the kept elements, and the kept count is within 5
    standard deviations of the binomial mean."""
    import numpy as np
    x_name, ratio, y_name, mask_name = case.dropout
    if x_name not in case.inputs:
        return "skip", "the random Dropout's input is not a graph input"
    x = to_array(case.inputs[x_name]).astype(np.float64)
    y = np.load(os.path.join(out_dir, y_name.replace("/", "_") + ".npy"))
    if y.shape != x.shape:
        return "fail", f"output '{y_name}' has shape {y.shape}, expected {x.shape}"
    kept = y != 0
    if mask_name is not None:
        mask = np.load(os.path.join(out_dir, mask_name.replace("/", "_") + ".npy"))
        if mask.shape != x.shape or np.any(mask.astype(bool)[x != 0] != kept[x != 0]):
            return "fail", f"mask '{mask_name}' does not mark the kept elements"
        kept = mask.astype(bool)
    scaled = x / (1.0 - ratio)
    if not np.allclose(y[kept], scaled[kept], rtol=1e-6, atol=0) or \
            np.any(y[~kept] != 0):
        return "fail", f"output '{y_name}' is not 0 or x / (1 - {ratio})"
    n, p = x.size, 1.0 - ratio
    if abs(kept.sum() - n * p) > 5 * (n * p * (1 - p)) ** 0.5 + 1:
        return "fail", f"{kept.sum()} of {n} kept, expected about {n * p:g}"
    return "pass", ""


def compare_results(case, out_dir):
    """The stage's results against the test's outputs, or, for a random
    Dropout, against the properties every mask must give."""
    if case.dropout is not None:
        return compare_dropout(case, out_dir)
    return compare_outputs(case, out_dir)


def first_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[0] if lines else "no message"


def numeric_stage(binary, case):
    """Runs the imported IR with the reference interpreter (pz-interpret,
    float64) on the test's inputs and compares with its outputs."""
    interp = os.path.join(os.path.dirname(binary), "pz-interpret")
    if not os.path.exists(interp):
        return "skip", "pz-interpret is not built"
    out_dir = os.path.join(case.work_dir, "out")
    os.makedirs(out_dir, exist_ok=True)
    inputs, why = save_inputs(case, "interp")
    if inputs is None:
        return "skip", why
    args = [interp, os.path.join(case.work_dir, "model.mlir"),
            "--output-dir", out_dir] + inputs
    try:
        proc = subprocess.run(args, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "fail", "pz-interpret timed out"
    if proc.returncode != 0:
        return "fail", (f"pz-interpret exit {proc.returncode}: " +
                        first_line(proc.stderr))
    return compare_results(case, out_dir)


# Messages of `compile --forward-only` for element types the CPU backend
# does not compute in (it is fp32; f64, f16 and bf16 kernels do not exist).
CPU_UNSUPPORTED = ("computes in f32 only", "no runtime dtype for",
                   "element type")


def cpu_stage(binary, case):
    """Compiles the case with the CPU backend (`compile --forward-only
    --emit exe`: C++ on the runtime, built with the system compiler), runs
    the program on the test's inputs and compares with its outputs."""
    inputs, why = save_inputs(case, "cpu", bf16_bits=True)
    if inputs is None:
        return "skip", why
    prog_dir = os.path.join(case.work_dir, "cpu")
    try:
        proc = subprocess.run(
            [binary, "compile", case.model_path, "--forward-only", "-o",
             prog_dir] + case.shapes, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "fail", "compile timed out"
    if proc.returncode != 0:
        msg = first_line(proc.stderr)
        if proc.returncode == 2 and any(m in proc.stderr
                                        for m in CPU_UNSUPPORTED):
            return "skip", msg
        return "fail", f"compile exit {proc.returncode}: {msg}"
    out_dir = os.path.join(case.work_dir, "cpu-out")
    os.makedirs(out_dir, exist_ok=True)
    try:
        proc = subprocess.run(
            [os.path.join(prog_dir, "run"), "--output-dir", out_dir] + inputs,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=120)
    except subprocess.TimeoutExpired:
        return "fail", "run timed out"
    if proc.returncode != 0:
        return "fail", f"run exit {proc.returncode}: {first_line(proc.stderr)}"
    return compare_results(case, out_dir)


STAGES = [("import", import_stage), ("numeric", numeric_stage),
          ("cpu", cpu_stage)]
# Stages whose failures fail the run. The numeric stage reports only until
# the interpreter is finished (--require-numeric makes it count).
GATING = {"import"}


def run_case(binary, case_dir, work_root):
    name = os.path.basename(case_dir)
    case = Case(name, case_dir, os.path.join(work_root, name))
    record = {"case": name, "status": "pass", "stages": {}}
    try:
        prepare(case)
    except Exception as e:  # a model the onnx package cannot handle
        record.update(status="fail", ops=[], message=f"prepare: {e}")
        return record
    record["ops"] = case.ops
    for stage_name, stage in STAGES:
        status, message = stage(binary, case)
        record["stages"][stage_name] = {"status": status, "message": message}
        if status == "fail":
            if stage_name in GATING and record["status"] == "pass":
                record.update(status="fail", message=f"{stage_name}: {message}")
            if stage_name == "import":
                break
    return record


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parallelize",
                    default=os.path.join(ROOT, "build", "bin", "parallelize"))
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--exceptions", default=os.path.join(
        ROOT, "test", "Import", "ONNX", "conformance-exceptions.txt"))
    ap.add_argument("--jsonl", help="write one JSON object per case here")
    ap.add_argument("--work", help="directory for the prepared models")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--filter", default="", help="only cases containing this")
    ap.add_argument("--require-numeric", action="store_true",
                    help="numeric mismatches fail the run too")
    ap.add_argument("--require-cpu", action="store_true",
                    help="CPU backend mismatches fail the run too")
    ap.add_argument("--stages", default="import,numeric,cpu",
                    help="comma-separated stages to run")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.require_numeric:
        GATING.add("numeric")
    if args.require_cpu:
        GATING.add("cpu")
    wanted = args.stages.split(",")
    STAGES[:] = [s for s in STAGES if s[0] in wanted]

    claimed = claimed_ops(args.parallelize)
    exceptions = read_exceptions(args.exceptions)
    cases, other_opset = [], []
    for case_dir in sorted(glob.glob(os.path.join(args.data, "test_*"))):
        if args.filter not in os.path.basename(case_dir):
            continue
        try:
            model = onnx.load(os.path.join(case_dir, "model.onnx"))
        except Exception:
            continue
        ops = case_ops(model)
        if not ops or not all(op in claimed for op in ops):
            continue
        opset = opset_of(model)
        if opset is None or not MIN_OPSET <= opset <= MAX_OPSET:
            other_opset.append((os.path.basename(case_dir), opset))
            continue
        cases.append(case_dir)

    work = args.work or tempfile.mkdtemp(prefix="pz-conformance-")
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        records = list(pool.map(
            lambda d: run_case(args.parallelize, d, work), cases))

    per_op = collections.defaultdict(collections.Counter)
    unexpected, stale = [], []
    for r in records:
        excepted = r["case"] in exceptions
        if r["status"] == "fail":
            r["excepted"] = excepted
            r["reason"] = exceptions.get(r["case"], "")
            kind = "excepted" if excepted else "fail"
            if not excepted:
                unexpected.append(r)
        else:
            kind = "pass"
            if excepted:
                stale.append(r)
        num = r["stages"].get("numeric", {}).get("status")
        cpu = r["stages"].get("cpu", {}).get("status")
        for op in r["ops"]:
            per_op[op][kind] += 1
            if num:
                per_op[op]["numeric " + num] += 1
            if cpu:
                per_op[op]["cpu " + cpu] += 1
    if args.jsonl:
        with open(args.jsonl, "w") as f:
            for r in records:
                f.write(json.dumps(r, sort_keys=True) + "\n")

    print(f"{'op':<28} {'pass':>5} {'fail':>5} {'excepted':>9} "
          f"{'numeric ok':>11} {'skipped':>8} {'cpu ok':>7} {'skipped':>8}")
    for op in sorted(per_op):
        c = per_op[op]
        print(f"{op:<28} {c['pass']:>5} {c['fail']:>5} {c['excepted']:>9} "
              f"{c['numeric pass']:>11} {c['numeric skip']:>8} "
              f"{c['cpu pass']:>7} {c['cpu skip']:>8}")
    numeric = collections.Counter(
        r["stages"].get("numeric", {}).get("status", "not run")
        for r in records)
    npass = sum(r["status"] == "pass" for r in records)
    nexc = sum(r["status"] == "fail" and r["excepted"] for r in records)
    print(f"\n{len(records)} cases: {npass} pass, {len(unexpected)} fail, "
          f"{nexc} excepted ({len(claimed)} claimed ops)")
    print("numeric stage (pz-interpret against the test outputs): " +
          ", ".join(f"{n} {k}" for k, n in sorted(numeric.items())))
    cpu = collections.Counter(
        r["stages"].get("cpu", {}).get("status", "not run") for r in records)
    print("cpu stage (compiled CPU program against the test outputs): " +
          ", ".join(f"{n} {k}" for k, n in sorted(cpu.items())))
    if other_opset:
        print(f"skipped {len(other_opset)} cases of claimed ops written for "
              f"opsets outside {MIN_OPSET}..{MAX_OPSET}: " +
              ", ".join(f"{c} ({o})" for c, o in other_opset))
    for r in unexpected:
        print(f"FAIL {r['case']}: {r.get('message', '')}")
    for r in stale:
        print(f"STALE EXCEPTION {r['case']} passes now; remove it from "
              f"{args.exceptions}")
    if args.verbose:
        for r in records:
            if r["status"] == "fail" and r["excepted"]:
                print(f"excepted {r['case']}: {r.get('message', '')}")
            for st in ("numeric", "cpu"):
                res = r["stages"].get(st, {})
                if res.get("status") in ("fail", "skip") and res.get("message"):
                    print(f"{st} {res['status']} {r['case']}: {res['message']}")
    return 1 if unexpected or stale else 0


if __name__ == "__main__":
    sys.exit(main())
