#!/usr/bin/env bash
# Installs redis-server 7.0 (Debian 12's package) into /opt/remusd/redis for the network-service tests,
# idempotently.
#
# Debian's redis-server package starts and enables a system redis on 127.0.0.1:6379 from its postinst; the
# tests start their own servers inside network namespaces instead, so the .debs (redis-server, redis-tools
# and the two libraries they need beyond a base system, libjemalloc2 and liblzf1) are only unpacked
# (`apt-get download` + `dpkg -x`), never installed: no service, no user, no port taken.
# $PREFIX/bin/redis-server and $PREFIX/bin/redis-cli are wrappers that set LD_LIBRARY_PATH and exec the
# program (same pid).
#
# Prints the wrapper's path on its last line of stdout.
set -euo pipefail
# shellcheck source=lib/unpack-debs.sh
source "$(dirname "$0")/lib/unpack-debs.sh"

PREFIX="${REMUSD_REDIS_PREFIX:-/opt/remusd/redis}"
SERVER="$PREFIX/bin/redis-server"
PACKAGES=(redis-server redis-tools libjemalloc2 liblzf1)

log() { echo "install-redis: $*" >&2; }
die() { echo "install-redis: error: $*" >&2; exit 1; }

works() { [[ -x "$SERVER" ]] && "$SERVER" --version 2>/dev/null | grep -q '^Redis server v=7\.' && "$PREFIX/bin/redis-cli" --version >/dev/null 2>&1; }

if works; then
  echo "$SERVER"; exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root to install redis (apt-get download); or unpack ${PACKAGES[*]} into $PREFIX"
command -v apt-get >/dev/null || die "no apt-get: put a redis-server 7.x at $SERVER yourself"

log "downloading Debian's ${PACKAGES[*]}"
unpack_debs "$PREFIX.new" "${PACKAGES[@]}"
mkdir -p "$PREFIX.new/bin"
libs="$PREFIX/usr/lib/$(uname -m)-linux-gnu"
for program in redis-server redis-cli; do
  cat > "$PREFIX.new/bin/$program" <<WRAPPER
#!/bin/sh
# $program from Debian's package, unpacked here by scripts/install-redis.sh; exec keeps the pid.
LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$PREFIX/usr/bin/$program" "\$@"
WRAPPER
  chmod 755 "$PREFIX.new/bin/$program"
done
missing=$(LD_LIBRARY_PATH="${libs/$PREFIX/$PREFIX.new}" ldd "$PREFIX.new/usr/bin/redis-check-rdb" | sed -n 's/^\s*\(\S*\) => not found/\1/p' | tr '\n' ' ')
[[ -z $missing ]] || die "redis-server needs libraries this system lacks: $missing(apt-get install the packages that provide them)"
rm -rf "$PREFIX"
mv "$PREFIX.new" "$PREFIX"
works || die "the unpacked redis-server does not run: $("$SERVER" --version 2>&1 | head -n1)"
log "$("$SERVER" --version) installed at $SERVER"
echo "$SERVER"
