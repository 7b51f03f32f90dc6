#!/usr/bin/env bash
# One real run behind the README's probe numbers (Policies, "remusd run --duration 75s"): `remusd run` of
# predictive v2 with the dirty-size probe, mode delta, band [1, 4] MiB, interval [200 ms, 8 s] from 500 ms,
# on the bundled dirtier (16 MiB, a 7.5x step and a 1500 pages/s burst; --report-ms 1000000 because each
# report reads every page), then `remusd score` of its records. Interleave runs of two checkouts to compare
# them. Root, CRIU installed, after `npm run build` in ROOT.
#   usage: bash scripts/probe-real-run.sh OUT_DIR NAME [SECONDS [ROOT]]   (ROOT: default this checkout)
set -euo pipefail
out=$(realpath -m "${1:?usage: bash scripts/probe-real-run.sh OUT_DIR NAME [SECONDS [ROOT]]}")
name=${2:?usage: bash scripts/probe-real-run.sh OUT_DIR NAME [SECONDS [ROOT]]}
seconds=${3:-75}
cd "${4:-$(dirname "$0")/..}"
phases=300:8,40:5,1500:0.6,40:5
mkdir -p "$out"
work=$(mktemp -d /tmp/remusd-probe-run-XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/remusd.yaml" <<EOF
thresholds: { lmin: 1MiB, lmax: 4MiB }
interval: { initial: 500ms, min: 200ms, max: 8s }
policy: { kind: predictive }
checkpoint: { mode: delta, dir: images }
probe: { enabled: true }
EOF
dirtier=$(node --input-type=module -e \
  "const m = await import('./dist/workload/build.js'); console.log(await m.ensureDirtierBinary());")
echo "$name start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/load.txt" >&2
node dist/cli/main.js run --config "$work/remusd.yaml" --records "$out/$name.jsonl" --duration "${seconds}s" \
  --stop-workload -- "$dirtier" --mib 16 --phases "$phases" --report-ms 1000000 >"$out/$name.log" 2>&1
echo "$name end $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/load.txt" >&2
node dist/cli/main.js score "$out/$name.jsonl" --workload "$phases"
