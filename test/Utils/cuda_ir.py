"""Re-runs a `parallelize compile --dump-ir=DIR` pipeline for the CUDA target.

usage: cuda_ir.py [--opt PARALLELIZE_OPT] DIR OUT.mlir

Tests of the CUDA kernels alone (no host program, no nvcc build) get their
pzrt-level module this way:
DIR/pipeline.txt with convert-pz-to-pzrt{target=cpu} made {target=cuda},
run by parallelize-opt on DIR/00-input.mlir. The memory plan is then the
CUDA target's (its workspaces: the GEMM's, attention's, the loss's).
"""
import os
import subprocess
import sys

args = sys.argv[1:]
opt = "parallelize-opt"
if args[0] == "--opt":
    opt, args = args[1], args[2:]
ir_dir, out = args
pipeline = open(os.path.join(ir_dir, "pipeline.txt")).read().strip()
assert "convert-pz-to-pzrt{target=cpu}" in pipeline, pipeline
pipeline = pipeline.replace("convert-pz-to-pzrt{target=cpu}", "convert-pz-to-pzrt{target=cuda}")
subprocess.run([opt, os.path.join(ir_dir, "00-input.mlir"),
                "--pass-pipeline=" + pipeline, "--mlir-print-debuginfo", "-o", out], check=True)
