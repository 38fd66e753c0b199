"""Re-runs a `parallelize compile --dump-ir=DIR` pipeline for the CUDA target.

usage: cuda_ir.py DIR OUT.mlir

parallelize compile refuses --backend cuda until the CUDA host program
exists, so tests of the CUDA kernels get their pzrt-level module this way:
DIR/pipeline.txt with convert-pz-to-pzrt{target=cpu} made {target=cuda},
run by parallelize-opt on DIR/00-input.mlir. The memory plan is then the
CUDA target's (its workspaces: the GEMM's, attention's, the loss's).
"""
import os
import subprocess
import sys

ir_dir, out = sys.argv[1:3]
pipeline = open(os.path.join(ir_dir, "pipeline.txt")).read().strip()
assert "convert-pz-to-pzrt{target=cpu}" in pipeline, pipeline
pipeline = pipeline.replace("convert-pz-to-pzrt{target=cpu}", "convert-pz-to-pzrt{target=cuda}")
subprocess.run(["parallelize-opt", os.path.join(ir_dir, "00-input.mlir"),
                "--pass-pipeline=" + pipeline, "-o", out], check=True)
