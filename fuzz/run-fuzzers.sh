#!/usr/bin/env bash
# Runs the libFuzzer targets, one after another.
#
#   run-fuzzers.sh [--smoke] FUZZ_BUILD_DIR SECONDS WORK_DIR [TARGET...]
#
# FUZZ_BUILD_DIR is the nested fuzz tree (build/fuzz-tree: bin/pz-fuzz-*, seeds/).
# Each TARGET (default: all) runs for SECONDS over its corpus WORK_DIR/corpus/TARGET
# (new inputs land there), its seeds and the committed reproducers in
# fuzz/regressions/TARGET. Crash, leak, timeout and out-of-memory inputs are
# written to WORK_DIR/artifacts/TARGET/. --smoke starts from an empty corpus
# directory (the ctest runs). FUZZ_JOBS=N runs N processes per target.
# Exit status: non-zero if any target failed.
set -uo pipefail

smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
if [ $# -lt 3 ]; then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=$2
mkdir -p "$3" && work=$(cd "$3" && pwd) || exit 2
shift 3
src=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(onnx plan-yaml plan-flags npy checkpoint)
jobs=${FUZZ_JOBS:-1}

# Per-target options: input size limits that keep each target on inputs of
# the size its format uses, and its dictionary.
options() {
  case $1 in
    onnx)       echo "-max_len=16384 -dict=$src/dicts/onnx.dict" ;;
    plan-yaml)  echo "-max_len=32768 -dict=$src/dicts/plan-yaml.dict" ;;
    plan-flags) echo "-max_len=1024 -dict=$src/dicts/plan-flags.dict" ;;
    npy)        echo "-max_len=4096 -dict=$src/dicts/npy.dict" ;;
    checkpoint) echo "-max_len=8192 -dict=$src/dicts/checkpoint.dict" ;;
    *) echo "unknown fuzz target '$1'" >&2; return 1 ;;
  esac
}

passed=0 failed=0
for t in "${targets[@]}"; do
  bin=$build/bin/pz-fuzz-$t
  opts=$(options "$t") || { failed=$((failed + 1)); continue; }
  if [ ! -x "$bin" ]; then
    echo "fuzz $t: $bin is missing (build the main tree, or ninja -C $build pz-fuzzers)" >&2
    failed=$((failed + 1))
    continue
  fi
  corpus=$work/corpus/$t
  artifacts=$work/artifacts/$t
  log=$work/logs/$t.log
  [ $smoke -eq 1 ] && rm -rf "$corpus"
  mkdir -p "$corpus" "$artifacts" "$work/logs"
  dirs=("$corpus" "$build/seeds/$t")
  [ -d "$src/regressions/$t" ] && dirs+=("$src/regressions/$t")
  # shellcheck disable=SC2086
  (cd "$work" && "$bin" $opts -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
     -print_final_stats=1 -artifact_prefix="$artifacts/" \
     $([ "$jobs" -gt 1 ] && echo "-fork=$jobs") "${dirs[@]}") >"$log" 2>&1
  rc=$?
  stats=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    echo "fuzz $t: ok (${seconds} s) $stats"
  else
    failed=$((failed + 1))
    echo "fuzz $t: FAILED (exit $rc); log $log, inputs in $artifacts/" >&2
    grep -E -A30 '^==[0-9]+==ERROR|runtime error|pz-fuzz: invariant|^SUMMARY|ALARM|Test unit written' \
      "$log" | head -80 >&2
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
