#!/usr/bin/env bash
# Smoke check of the soft-dirty VM (one boot, about 10-20 s): inside it, CRIU reports dirty-memory
# tracking, a pre-dump + incremental dump chain of a `sleep` works and restores, and node runs. The guest
# writes its timings to a --share directory, which this script reads back.
#   scripts/vm/smoke.sh            (REMUSD_CRIU overrides the CRIU path; default /opt/remusd/criu/bin/criu)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CRIU="${REMUSD_CRIU:-/opt/remusd/criu/bin/criu}"

die() { echo "vm-smoke: FAIL: $*" >&2; exit 1; }
[[ -x "$CRIU" ]] || die "no CRIU at $CRIU (run scripts/install-criu.sh, or set REMUSD_CRIU)"

results=$(mktemp -d /tmp/remusd-vm-smoke.XXXXXX)
trap 'rm -rf "$results"' EXIT

guest=$(cat <<'GUEST'
set -euo pipefail
now() { date +%s%N; }
ms() { echo $(( ($(now) - $1) / 1000000 )); }
fail() { echo "guest: FAIL: $*" >&2; exit 1; }
showlog() { [[ -f "$1" ]] && tail -n 20 "$1" | sed 's/^/  log: /' >&2; return 0; }
boot_s=$(cut -d' ' -f1 /proc/uptime)
echo "guest: kernel $(uname -r), up ${boot_s} s, cwd $(pwd)"

t=$(now)
out=$("$CRIU" check --feature mem_dirty_track 2>&1) || { echo "$out" >&2; fail "criu check --feature mem_dirty_track"; }
check_ms=$(ms "$t")
echo "guest: criu check: $(grep -i 'mem_dirty_track' <<<"$out")  (${check_ms} ms)"
grep -q 'mem_dirty_track is supported' <<<"$out" || fail "dirty tracking not supported: $out"

mkdir -p /tmp/p1 /tmp/d2
setsid sleep 1000 </dev/null >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do [[ "$(cat /proc/$pid/comm 2>/dev/null)" == sleep ]] && break; sleep 0.1; done
[[ "$(cat /proc/$pid/comm)" == sleep ]] || fail "no sleep process at pid $pid"

t=$(now)
"$CRIU" pre-dump -t "$pid" -D /tmp/p1 --track-mem -o pre-dump.log -v4 \
  || { showlog /tmp/p1/pre-dump.log; fail "criu pre-dump"; }
predump_ms=$(ms "$t")
t=$(now)
"$CRIU" dump -t "$pid" -D /tmp/d2 --prev-images-dir ../p1 --track-mem --leave-running -o dump.log -v4 \
  || { showlog /tmp/d2/dump.log; fail "criu dump --prev-images-dir"; }
dump_ms=$(ms "$t")
[[ "$(readlink /tmp/d2/parent)" == ../p1 ]] || fail "/tmp/d2/parent is not a link to ../p1"
kill -0 "$pid" || fail "the process did not survive dump --leave-running"
p1_pages=$(cat /tmp/p1/pages-*.img | wc -c)
d2_pages=$(cat /tmp/d2/pages-*.img | wc -c)
[[ -f /tmp/p1/stats-dump && -f /tmp/d2/stats-dump ]] || fail "no stats-dump written"
echo "guest: pre-dump ${predump_ms} ms (${p1_pages} bytes of pages), incremental dump ${dump_ms} ms (${d2_pages} bytes of pages; the rest is in ../p1)"
(( d2_pages < p1_pages )) || fail "the incremental dump is not smaller than the pre-dump"

# The incremental image must restore: kill the original, restore from /tmp/d2 (pages come from ../p1).
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
t=$(now)
"$CRIU" restore -D /tmp/d2 -d -o restore.log -v4 || { showlog /tmp/d2/restore.log; fail "criu restore"; }
restore_ms=$(ms "$t")
[[ "$(cat /proc/$pid/comm 2>/dev/null)" == sleep ]] || fail "restored process $pid is not running"
echo "guest: restore from the incremental chain ${restore_ms} ms: pid $pid running again"
kill -9 "$pid"

t=$(now)
node_v=$(node --version)
node_ms=$(ms "$t")
t=$(now)
node -e 'process.exit(0)'
node2_ms=$(ms "$t")
t=$(now)
node -e 'process.exit(0)'
node3_ms=$(ms "$t")
echo "guest: node $node_v: node --version ${node_ms} ms; node -e: first ${node2_ms} ms, again ${node3_ms} ms"

printf '{"boot_s":%s,"criu_check_ms":%s,"predump_ms":%s,"dump_ms":%s,"restore_ms":%s,"node_version_ms":%s,"node_e_first_ms":%s,"node_e_again_ms":%s,"p1_page_bytes":%s,"d2_page_bytes":%s}\n' \
  "$boot_s" "$check_ms" "$predump_ms" "$dump_ms" "$restore_ms" "$node_ms" "$node2_ms" "$node3_ms" "$p1_pages" "$d2_pages" \
  >"$RESULTS/smoke.json"
echo "guest: ok"
GUEST
)

start=$(date +%s%N)
set +e
"$here/run.sh" --timeout 300 --share "$results" --env "CRIU=$CRIU" --env "RESULTS=$results" -- bash -c "$guest"
rc=$?
set -e
total_ms=$(( ($(date +%s%N) - start) / 1000000 ))
(( rc == 0 )) || die "the guest script exited with $rc"
[[ -s "$results/smoke.json" ]] || die "no smoke.json came back through --share"
echo "vm-smoke: timings: $(cat "$results/smoke.json") total_wall_ms=$total_ms"
echo "vm-smoke: OK"
