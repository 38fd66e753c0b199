#!/usr/bin/env python3
"""Records what compiled training programs compute, to compare two builds bit for bit.

For each configuration below it compiles a model with the given build's
`parallelize`, trains 20 steps (and 10 + --load + 10 more), and records every
step's loss and gradient norm (as exact float64 hex) and the SHA-256 of every
checkpoint file. Two such records, from the commit before a change and after
it, must be equal when the change claims to keep the numerics:

    /usr/bin/python3 bench/bit_identity.py --bin OLD/bin --work /tmp/old --json old.json
    /usr/bin/python3 bench/bit_identity.py --bin NEW/bin --work /tmp/new --json new.json
    /usr/bin/python3 bench/bit_identity.py --compare old.json new.json

Configurations: the demo's small GPT-2 on GPL-3 bytes (AdamW, clipping,
warmup + cosine), and the test exports mlp_loss, gpt2_loss (also with 2
micro-batches, with --no-fusion and with SGD + momentum) and llama_loss on
synthetic data.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode:
        sys.exit(f"failed ({r.returncode}): {' '.join(map(str, cmd))}\n{r.stdout}\n{r.stderr}")
    return r


def input_shapes(model, batch, seq):
    import onnx
    m = onnx.load(model, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    flags = []
    for i in m.graph.input:
        if i.name in inits:
            continue
        dims = [d.dim_value if d.dim_value > 0 else None for d in i.type.tensor_type.shape.dim]
        shape = [batch if k == 0 else (seq if d is None else d) for k, d in enumerate(dims)]
        flags += ["--input-shape", i.name + "=" + "x".join(map(str, shape))]
    return flags


def configs(models, demo_model):
    gpt2 = os.path.join(models, "gpt2_loss.onnx")
    adamw = ["--optimizer", "adamw", "--lr", "1e-3", "--weight-decay", "0.1"]
    return {
        "demo": (demo_model, 8, 128, ["--optimizer", "adamw", "--lr", "2e-3", "--weight-decay",
                                       "0.01", "--grad-clip", "1.0", "--lr-schedule", "cosine",
                                       "--warmup-steps", "5", "--total-steps", "20"], "text"),
        "mlp": (os.path.join(models, "mlp_loss.onnx"), 8, 32, adamw, "synthetic"),
        "gpt2": (gpt2, 4, 32, adamw, "synthetic"),
        "gpt2-accum2": (gpt2, 2, 32, adamw + ["--grad-accum", "2"], "synthetic"),
        "gpt2-nofusion": (gpt2, 4, 32, adamw + ["--no-fusion"], "synthetic"),
        "gpt2-sgd": (gpt2, 4, 32, ["--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9",
                                   "--grad-clip", "0.5"], "synthetic"),
        "llama": (os.path.join(models, "llama_loss.onnx"), 4, 32, adamw, "synthetic"),
    }


def checkpoint_hashes(d):
    return {f: hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
            for f in sorted(os.listdir(d)) if f.endswith(".safetensors")}


def record(bin_dir, work, models):
    os.makedirs(work, exist_ok=True)
    demo_dir = os.path.join(work, "demo-model")
    run([PY, "-m", "parallelize.export", "--out", demo_dir, "--models", "gpt2", "--size", "small"],
        env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python-frontend")))
    text = os.path.join(work, "gpl3.u16")
    import array
    array.array("H", list(open("/usr/share/common-licenses/GPL-3", "rb").read())).tofile(
        open(text, "wb"))
    out = {}
    for name, (model, batch, seq, flags, data) in configs(models, os.path.join(
            demo_dir, "gpt2_loss.onnx")).items():
        d = os.path.join(work, name)
        run([os.path.join(bin_dir, "parallelize"), "compile", model, "-o", d]
            + input_shapes(model, batch, seq) + flags)
        feed = ["--data", text] if data == "text" else ["--data", "synthetic"]

        def train(tag, extra):
            m = os.path.join(work, f"{name}-{tag}.jsonl")
            run([os.path.join(d, "train"), "--metrics", m, "--log-every", "0"] + feed + extra)
            return [[r["step"], float(r["loss"]).hex(), float(r["grad_norm"]).hex()]
                    for r in map(json.loads, open(m))]
        straight = train("20", ["--steps", "20", "--save", os.path.join(work, name + "-ck20")])
        first = train("10", ["--steps", "10", "--save", os.path.join(work, name + "-ck10")])
        rest = train("10+10", ["--steps", "10", "--load", os.path.join(work, name + "-ck10"),
                               "--save", os.path.join(work, name + "-ck10+10")])
        out[name] = {
            "steps": straight,
            "resumed_steps": first + rest,
            "checkpoint_20": checkpoint_hashes(os.path.join(work, name + "-ck20")),
            "checkpoint_10+10": checkpoint_hashes(os.path.join(work, name + "-ck10+10")),
        }
        print(f"{name}: loss {float.fromhex(straight[0][1]):.6f} -> "
              f"{float.fromhex(straight[-1][1]):.6f}", flush=True)
    return out


def compare(a, b):
    bad = 0
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            print(f"DIFF {name}: only in one record")
            bad += 1
            continue
        for key in ("steps", "resumed_steps", "checkpoint_20", "checkpoint_10+10"):
            same = a[name][key] == b[name][key]
            print(("same " if same else "DIFF ") + f"{name} {key}")
            bad += not same
        if a[name]["steps"] != a[name]["resumed_steps"]:
            print(f"note {name}: the first record's resumed run differs from its straight run")
    print("bit-identical" if bad == 0 else f"{bad} differences")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "models"))
    ap.add_argument("--work", default="/tmp/pz-bit-identity")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "bit_identity.json"))
    ap.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    a = ap.parse_args()
    if a.compare:
        return compare(json.load(open(a.compare[0])), json.load(open(a.compare[1])))
    result = record(a.bin, a.work, a.models)
    with open(a.json, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
