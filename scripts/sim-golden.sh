#!/usr/bin/env bash
# The simulator's outputs, for checking that a change to its speed changed none of them: runs `remusd
# simulate` (--records and --json for 5 seeds × fixed, threshold, predictive × modes delta and full),
# trace replays with each policy, `compare` (--json, the table, --csv, a trace compare) and `score`, with
# the package built at ROOT (dist/), into OUT (74 files). Run it for the code before and after, then
# `diff -r OUT1 OUT2`: no output means byte-identical.
#   usage: bash scripts/sim-golden.sh ROOT OUT
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: bash scripts/sim-golden.sh ROOT OUT  (ROOT: a checkout with dist/ built)" >&2
  exit 2
fi
ROOT=$1
OUT=$(realpath -m "$2")
mkdir -p "$OUT"
rm -f "$OUT"/*
C=(node "$ROOT/dist/cli/main.js")
W=(--workload '2000:20,200:20' --working-set 64MiB --noise 0.2 --bursts 4000:200ms:10s)
# Paths inside OUT are written as OUT, so that two runs into different directories compare equal.
strip() { sed "s#$OUT#OUT#g"; }
for seed in 1 2 3 4 5; do
  for pol in fixed threshold predictive; do
    for mode in delta full; do
      f=$OUT/sim-$pol-$mode-$seed
      "${C[@]}" simulate "${W[@]}" --seed "$seed" --duration 3m --policy "$pol" --mode "$mode" --records "$f.jsonl" --json |
        strip >"$f.json"
    done
  done
done
# A workload without noise or bursts, and the demo's default workload (text output).
"${C[@]}" simulate --workload '8000:10,200:10' --working-set 64MiB --duration 5m --policy predictive \
  --records "$OUT/plain.jsonl" | strip >"$OUT/plain.txt"
"${C[@]}" simulate --duration 2m --policy threshold | strip >"$OUT/demo.txt"
# Trace replays of a recorded simulated run.
for pol in fixed threshold predictive; do
  "${C[@]}" simulate --trace "$OUT/sim-predictive-delta-1.jsonl" --policy "$pol" --records "$OUT/trace-$pol.jsonl" \
    --json | strip >"$OUT/trace-$pol.json"
done
"${C[@]}" compare --trace "$OUT/sim-threshold-delta-2.jsonl" --json | strip >"$OUT/compare-trace.json"
"${C[@]}" compare "${W[@]}" --policies fixed,threshold,predictive --seeds 8 --duration 10m --json >"$OUT/compare.json"
"${C[@]}" compare "${W[@]}" --policies fixed,threshold,predictive --seeds 4 --duration 5m >"$OUT/compare.txt"
"${C[@]}" compare "${W[@]}" --policies threshold,predictive --seeds 3 --duration 2m --mode full \
  --csv "$OUT/compare.csv" >/dev/null
"${C[@]}" score "$OUT/sim-predictive-delta-1.jsonl" "$OUT/sim-threshold-full-2.jsonl" --json 2>&1 | strip >"$OUT/score.json"
echo "$(find "$OUT" -type f | wc -l) files in $OUT"
