#!/usr/bin/env bash
# The real runs behind the default cost profile (config/cost-profile.json): `remusd run` on the bundled dirtier
# with a fixed 1 s interval, mode full at 1, 16, 64 and 256 MiB (8 checkpoints each), and mode delta at 16, 64
# and 256 MiB with the dirty rate stepping 10x every 4 s (16 checkpoints each, no compaction: nothing but the
# checkpoints runs), so that the fits see several memory sizes and several delta sizes. Then
#   node dist/cli/main.js calibrate OUT/*.records.jsonl --criu-version … --note … --out config/cost-profile.json
# Root, CRIU installed, after `npm run build`. Usage: bash scripts/calibration-runs.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash scripts/calibration-runs.sh OUT_DIR}
mkdir -p "$out"
dirtier=$(node --input-type=module -e \
  "const m = await import('./dist/workload/build.js'); console.log(await m.ensureDirtierBinary());")
work=$(mktemp -d /tmp/remusd-calibration-XXXXXX)
trap 'rm -rf "$work"' EXIT

# run MODE MIB CHECKPOINTS PHASES NAME
run() {
  local dir="$work/$5"
  mkdir -p "$dir"
  cat >"$dir/remusd.yaml" <<EOF
thresholds: { lmin: 1MiB, lmax: 8MiB }
interval: { initial: 1s, min: 1s, max: 1s }
policy: { kind: fixed }
checkpoint:
  mode: $1
  dir: images
  retention: { keep: 3, new_chain_every: 1000, compact: false }
EOF
  echo "calibration run $5 (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  node dist/cli/main.js run --config "$dir/remusd.yaml" --records "$out/$5.records.jsonl" \
    --max-checkpoints "$3" --stop-workload -- "$dirtier" --mib "$2" --phases "$4" >/dev/null
  rm -rf "$dir"
}

for mib in 1 16 64 256; do run full "$mib" 8 256:1000000 "full-${mib}mib"; done
for mib in 16 64 256; do run delta "$mib" 16 300:4,3000:4 "delta-${mib}mib"; done
