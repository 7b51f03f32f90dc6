#!/usr/bin/env bash
# Installs a CRIU that works on this kernel, idempotently.
#
# Why a private prefix: Debian 12's CRIU 3.17 fails on kernels >= 6.13 ("Unexpected rt vDSO area bounds"),
# and CRIU 4.1.1 from Debian 13 needs glibc >= 2.38. We unpack the trixie .debs (CRIU and its libraries,
# glibc included) into PREFIX and run CRIU through that prefix's own dynamic loader, so the system libc is
# never touched. See ../shared/notes/criu-facts.md.
#
# Order: a system `criu` that is >= 4.1 and passes `criu check` is used as it is; otherwise the prefix.
# Prints the command to run CRIU on its last line of stdout.
set -euo pipefail

PREFIX="${REMUSD_CRIU_PREFIX:-/opt/remusd/criu}"
WRAPPER="$PREFIX/bin/criu"
SOURCES_ENTRY=/etc/apt/sources.list.d/remusd-trixie.sources
PACKAGES=(criu libcompel1 libc6 libprotobuf-c1 libnet1 libnftables1 libbsd0 libuuid1 libgnutls30t64
  libnl-3-200 libmd0 libjansson4 libmnl0 libnftnl11 libxtables12 libgmp10 libhogweed6t64 libnettle8t64
  libidn2-0 libunistring5 libp11-kit0 libtasn1-6 libffi8 libedit2)

log() { echo "install-criu: $*" >&2; }
die() { echo "install-criu: error: $*" >&2; exit 1; }

# version_at_least "4.1.1" 4 1 → true when the dotted version is >= major.minor
version_at_least() {
  local major minor
  IFS=. read -r major minor _ <<<"$1"
  [[ "$major" =~ ^[0-9]+$ ]] || return 1
  (( major > $2 || (major == $2 && ${minor:-0} >= $3) ))
}

criu_version_of() { "$@" --version 2>/dev/null | sed -n 's/^Version: *//p' | head -n1; }

works() { # works CMD... → CRIU runs, is >= 4.1 and `criu check` says it can checkpoint
  local v
  v=$(criu_version_of "$@") || return 1
  [[ -n "$v" ]] && version_at_least "$v" 4 1 || return 1
  "$@" check >/dev/null 2>&1
}

if [[ -x "$WRAPPER" ]] && works "$WRAPPER"; then
  log "CRIU $(criu_version_of "$WRAPPER") already installed at $WRAPPER"
  echo "$WRAPPER"; exit 0
fi
if command -v criu >/dev/null 2>&1 && works criu; then
  log "system CRIU $(criu_version_of criu) works; using it"
  command -v criu; exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root to install CRIU (apt-get); or set REMUSD_CRIU to a working criu >= 4.1"
command -v apt-get >/dev/null || die "no apt-get: install CRIU >= 4.1 yourself and set REMUSD_CRIU"
[[ $(dpkg --print-architecture) == amd64 ]] || log "warning: only amd64 has been tried"

# Debian's archive key signs trixie; Ubuntu machines need the package that ships it.
if [[ ! -f /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
  log "installing debian-archive-keyring (to verify Debian 13's packages)"
  apt-get update -qq >/dev/null && apt-get install -y -qq debian-archive-keyring >/dev/null ||
    die "cannot install debian-archive-keyring; install CRIU >= 4.1 yourself and set REMUSD_CRIU"
fi

cleanup_sources() { rm -f "$SOURCES_ENTRY"; }
trap cleanup_sources EXIT

# Same mirror and keyring as the system's own entry, suite trixie; removed again on exit so that nothing
# else is ever upgraded from it.
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}
cat >"$SOURCES_ENTRY" <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
log "fetching CRIU 4.1.1 packages from trixie ($mirror)"
apt-get update -qq -o Dir::Etc::sourcelist="$SOURCES_ENTRY" -o Dir::Etc::sourceparts=- \
  -o APT::Get::List-Cleanup=0 >/dev/null

download_dir=$(mktemp -d)
(cd "$download_dir" && for pkg in "${PACKAGES[@]}"; do
  apt-get download -qq -o APT::Sandbox::User=root -t trixie "$pkg/trixie" >/dev/null || die "apt-get download $pkg/trixie failed"
done)
cleanup_sources
apt-get update -qq >/dev/null || log "warning: apt-get update after removing trixie failed"

staging="$PREFIX.staging.$$"
rm -rf "$staging"; mkdir -p "$staging"
for deb in "$download_dir"/*.deb; do dpkg -x "$deb" "$staging"; done
rm -rf "$download_dir"

libdir="$staging/usr/lib/x86_64-linux-gnu"
[[ -x "$staging/usr/sbin/criu" && -x "$libdir/ld-linux-x86-64.so.2" ]] || die "unpacked packages lack criu or the loader"

mkdir -p "$staging/bin"
# The wrapper hard-codes the final prefix, not the staging one.
cat >"$staging/bin/criu" <<WRAP
#!/bin/sh
# CRIU 4.1.1 from Debian 13, run with its own glibc (installed by remusd's scripts/install-criu.sh).
exec "$PREFIX/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$PREFIX/usr/lib/x86_64-linux-gnu" "$PREFIX/usr/sbin/criu" "\$@"
WRAP
chmod 755 "$staging/bin/criu"

rm -rf "$PREFIX"; mkdir -p "$(dirname "$PREFIX")"; mv "$staging" "$PREFIX"
works "$WRAPPER" || { "$WRAPPER" check >&2 || true; die "installed CRIU at $WRAPPER but 'criu check' fails"; }
log "installed CRIU $(criu_version_of "$WRAPPER") at $WRAPPER"
echo "$WRAPPER"
