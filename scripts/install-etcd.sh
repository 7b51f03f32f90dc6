#!/usr/bin/env bash
# Installs etcd 3.4 (server and etcdctl) into /opt/remusd/etcd for the fencing tests, idempotently.
#
# Debian 12's etcd-server package would start and enable a system etcd on 127.0.0.1:2379 from its postinst;
# the tests start their own throwaway servers on free ports instead, so the .debs are only unpacked
# (`apt-get download` + `dpkg -x`), never installed: no service, no user, no port taken. etcd is a static Go
# binary, so it runs from the prefix as it is.
#
# Prints the etcd binary's path on its last line of stdout.
set -euo pipefail
# shellcheck source=lib/unpack-debs.sh
source "$(dirname "$0")/lib/unpack-debs.sh"

PREFIX="${REMUSD_ETCD_PREFIX:-/opt/remusd/etcd}"
ETCD="$PREFIX/usr/bin/etcd"

log() { echo "install-etcd: $*" >&2; }
die() { echo "install-etcd: error: $*" >&2; exit 1; }

etcd_version() { "$ETCD" --version 2>/dev/null | sed -n 's/^etcd Version: //p'; }
works() { [[ $(etcd_version) == 3.* ]] && "$PREFIX/usr/bin/etcdctl" version >/dev/null 2>&1; }

if [[ -x "$ETCD" ]] && works; then
  echo "$ETCD"; exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root to install etcd (apt-get download); or unpack etcd-server and etcd-client into $PREFIX"
command -v apt-get >/dev/null || die "no apt-get: unpack etcd >= 3.4 (etcd and etcdctl) into $PREFIX/usr/bin yourself"

log "downloading Debian's etcd-server and etcd-client"
unpack_debs "$PREFIX.new" etcd-server etcd-client
rm -rf "$PREFIX"
mv "$PREFIX.new" "$PREFIX"
works || die "the unpacked etcd does not run: $("$ETCD" --version 2>&1 | head -n1)"
log "etcd $(etcd_version) installed at $ETCD"
echo "$ETCD"
