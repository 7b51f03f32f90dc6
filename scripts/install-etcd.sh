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

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # apt's download user (_apt) must be able to write here
log "downloading Debian's etcd-server and etcd-client"
if ! (cd "$work" && apt-get download -qq etcd-server etcd-client >/dev/null 2>&1); then
  apt-get update -qq >/dev/null
  (cd "$work" && apt-get download -qq etcd-server etcd-client >/dev/null) || die "apt-get download etcd-server etcd-client failed"
fi
rm -rf "$PREFIX.new"
mkdir -p "$PREFIX.new"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$PREFIX.new"; done
rm -rf "$PREFIX"
mv "$PREFIX.new" "$PREFIX"
works || die "the unpacked etcd does not run: $("$ETCD" --version 2>&1 | head -n1)"
log "etcd $(etcd_version) installed at $ETCD"
echo "$ETCD"
