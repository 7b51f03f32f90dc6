#!/usr/bin/env bash
# Installs everything remusd needs on a Debian/Ubuntu machine, idempotently: a C compiler (the bundled
# workload), CRIU >= 4.2 (scripts/install-criu.sh), etcd 3.4 for the fencing tests (scripts/install-etcd.sh),
# the npm dependencies, and the compiled CLI (dist/).
# Runs as root (CRIU needs it anyway). Each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
# Everything this prints goes to stderr: `bash scripts/demo.sh --json | jq` must see only remusd's JSON,
# also on the first run, when npm and the build have things to say.
exec 1>&2

log() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }

apt_updated=0
apt_install() {
  [[ $(id -u) -eq 0 ]] || die "need root to apt-get install $*"
  if [[ $apt_updated -eq 0 ]]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if (( $(node_major) < 20 )); then
  log "installing Node.js (need >= 20)"
  apt_install nodejs npm
  (( $(node_major) >= 20 )) || die "Node.js >= 20 is required; this distribution's nodejs is $(node --version 2>/dev/null || echo missing)"
fi

need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v getconf >/dev/null || need+=(libc-bin)
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
[[ -x /usr/bin/python3 ]] || need+=(python3) # the HTTP server of test/net/http-server.test.ts
command -v dd >/dev/null || need+=(coreutils) # drops a delta chain start's image from the page cache
command -v fincore >/dev/null || need+=(util-linux-extra) # the tests count a file's cached pages with it
if (( ${#need[@]} > 0 )); then log "installing ${need[*]}"; apt_install "${need[@]}"; fi

bash scripts/install-criu.sh >/dev/null
# CRIU 4.1.1 beside it: the tests show what it cannot do (network workloads on Linux >= 6.16).
bash scripts/install-criu.sh --legacy >/dev/null
# etcd 3.4 for the fencing tests (unpacked into /opt/remusd/etcd; no system service is started).
bash scripts/install-etcd.sh >/dev/null
# redis-server 7.0 for the network-service tests (unpacked into /opt/remusd/redis; no system service).
bash scripts/install-redis.sh >/dev/null

# npm ci when node_modules is missing or older than the lock file.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
# Rebuild dist/ when any source is newer than the last build.
if [[ ! -f dist/cli/main.js ]] || [[ -n $(find src -newer dist/cli/main.js -print -quit) ]]; then
  log "building"
  npm run --silent build
fi

# `remusd` on PATH: a symlink to this checkout's CLI (REMUSD_BIN_DIR, default /usr/local/bin).
bin_dir=${REMUSD_BIN_DIR:-/usr/local/bin}
cli="$PWD/dist/cli/main.js"
if [[ $(readlink "$bin_dir/remusd" 2>/dev/null) != "$cli" ]]; then
  log "linking $bin_dir/remusd -> $cli"
  mkdir -p "$bin_dir"
  ln -sfn "$cli" "$bin_dir/remusd"
fi
