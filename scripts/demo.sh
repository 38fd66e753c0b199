#!/usr/bin/env bash
# The main job on the shipped example. Today the compiler stops at the IR:
# it parses examples/mlp/mlp.mlir, attaches a plan, runs the pass pipeline
# that exists and writes the IR after every pass to BUILD/demo/ir/.
set -euo pipefail
BUILD=${1:-build}
PZ=$BUILD/bin/parallelize
OUT=$BUILD/demo

echo "== parallelize compile examples/mlp/mlp.mlir (plan: dp_replicate=2, tp=2, sp)"
$PZ compile examples/mlp/mlp.mlir --emit ir -o "$OUT/out" \
    --input-shape x=8x64 --input-shape labels=8 \
    --dp-replicate 2 --tp 2 --sp --dump-ir "$OUT/ir"
echo
echo "== IR after each pass ($OUT/ir)"
for f in "$OUT"/ir/*.mlir; do
  printf '  %-40s %5d lines\n' "$(basename "$f")" "$(wc -l < "$f")"
done
echo
echo "== parallelize inspect $OUT/out/model.mlir"
$PZ inspect "$OUT/out/model.mlir"
echo
echo "== plan as applied ($OUT/out/plan.yaml)"
sed 's/^/  /' "$OUT/out/plan.yaml"
