"""Shared helpers of the benchmarks: export a python-frontend model, run a
command, describe the machine."""

import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python-frontend"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))


def export(family, size, out_dir, batch, seq):
    """Exports ``family``_loss at ``size`` into ``out_dir`` (cached)."""
    path = os.path.join(out_dir, f"{family}_loss.onnx")
    if not os.path.exists(path):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python-frontend"))
        subprocess.run([sys.executable, "-m", "parallelize.export", "--out", out_dir,
                        "--models", family, "--size", size, "--batch", str(batch),
                        "--seq", str(seq), "-q"], check=True, env=env)
    return path


def run(args, **kw):
    t0 = time.perf_counter()
    r = subprocess.run([str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, **kw)
    return r, time.perf_counter() - t0


def machine():
    # The load average at the end of the run: other work on the machine
    # slows both sides of a comparison, not always equally.
    return {"cpus": os.cpu_count(), "machine": platform.machine(),
            "python": platform.python_version(), "loadavg": list(os.getloadavg())}


def write_json(path, obj):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
    print(json.dumps(obj, indent=1))
