#!/usr/bin/env bash
# Installs a CRIU that works on this kernel, idempotently.
#
#   scripts/install-criu.sh              CRIU >= 4.2 into /opt/remusd/criu (the one remusd uses)
#   scripts/install-criu.sh --legacy     CRIU 4.1.1 into /opt/remusd/criu-4.1 (the tests use it to show
#                                        what an older CRIU cannot do; remusd never picks it by itself)
#
# Why a private prefix: Debian 12's CRIU 3.17 fails on kernels >= 6.13 ("Unexpected rt vDSO area bounds");
# CRIU 4.1.1 cannot dump a process holding an INET socket on Linux >= 6.16 ("Can't get 1:16 opt"); CRIU
# 4.2.x can, TCP connections included. 4.2 is in Debian forky (testing) and sid and needs a newer glibc than
# Debian 12's, so we unpack the .debs (CRIU and its libraries, glibc included) into PREFIX and run CRIU through
# that prefix's own dynamic loader: the system libc is never touched. See ../shared/notes/criu-facts.md.
#
# Order: a system `criu` that is new enough and passes `criu check` is used as it is; otherwise the prefix.
# Prints the command to run CRIU on its last line of stdout.
set -euo pipefail

log() { echo "install-criu: $*" >&2; }
die() { echo "install-criu: error: $*" >&2; exit 1; }

if [[ "${1:-}" == --legacy ]]; then
  PREFIX="${REMUSD_CRIU_LEGACY_PREFIX:-/opt/remusd/criu-4.1}"
  WANT_MAJOR=4 WANT_MINOR=1 MAX_MINOR=1
  SUITES=(trixie)
  PACKAGES=(criu libcompel1 libc6 libprotobuf-c1 libnet1 libnftables1 libbsd0 libuuid1 libgnutls30t64
    libnl-3-200 libmd0 libjansson4 libmnl0 libnftnl11 libxtables12 libgmp10 libhogweed6t64 libnettle8t64
    libidn2-0 libunistring5 libp11-kit0 libtasn1-6 libffi8 libedit2)
  USE_SYSTEM=0
elif [[ -z "${1:-}" ]]; then
  PREFIX="${REMUSD_CRIU_PREFIX:-/opt/remusd/criu}"
  WANT_MAJOR=4 WANT_MINOR=2 MAX_MINOR=999
  SUITES=(forky sid)
  PACKAGES=(criu libcompel1 libc6 libprotobuf-c1 libnet9 libnftables1 libbsd0 libuuid1 libgnutls30t64
    libnl-3-200 libmd0 libjansson4 libmnl0 libnftnl11 libxtables12 libgmp10 libhogweed6t64 libnettle8t64
    libidn2-0 libunistring5 libp11-kit0 libtasn1-6 libffi8 libedit2)
  USE_SYSTEM=1
else
  die "usage: install-criu.sh [--legacy]"
fi
WRAPPER="$PREFIX/bin/criu"
SOURCES_ENTRY=/etc/apt/sources.list.d/remusd-criu.sources

# version_in_range "4.2.1" → true when WANT_MAJOR.WANT_MINOR <= version's major.minor <= WANT_MAJOR.MAX_MINOR
version_in_range() {
  local major minor
  IFS=. read -r major minor _ <<<"$1"
  [[ "$major" =~ ^[0-9]+$ && "${minor:-0}" =~ ^[0-9]+$ ]] || return 1
  (( major > WANT_MAJOR || (major == WANT_MAJOR && ${minor:-0} >= WANT_MINOR) )) || return 1
  (( major == WANT_MAJOR && ${minor:-0} <= MAX_MINOR )) || (( MAX_MINOR == 999 ))
}

criu_version_of() { "$@" --version 2>/dev/null | sed -n 's/^Version: *//p' | head -n1; }

works() { # works CMD... → CRIU runs, is in the wanted range and `criu check` says it can checkpoint
  local v
  v=$(criu_version_of "$@") || return 1
  [[ -n "$v" ]] && version_in_range "$v" || return 1
  "$@" check >/dev/null 2>&1
}

if [[ -x "$WRAPPER" ]] && works "$WRAPPER"; then
  log "CRIU $(criu_version_of "$WRAPPER") already installed at $WRAPPER"
  echo "$WRAPPER"; exit 0
fi
if (( USE_SYSTEM )) && command -v criu >/dev/null 2>&1 && works criu; then
  log "system CRIU $(criu_version_of criu) works; using it"
  command -v criu; exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root to install CRIU (apt-get); or set REMUSD_CRIU to a working criu >= 4.2"
command -v apt-get >/dev/null || die "no apt-get: install CRIU >= 4.2 yourself and set REMUSD_CRIU"
[[ $(dpkg --print-architecture) == amd64 ]] || log "warning: only amd64 has been tried"

# Debian's archive key signs forky/sid/trixie; Ubuntu machines need the package that ships it.
if [[ ! -f /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
  log "installing debian-archive-keyring (to verify Debian's packages)"
  apt-get update -qq >/dev/null && apt-get install -y -qq debian-archive-keyring >/dev/null ||
    die "cannot install debian-archive-keyring; install CRIU >= 4.2 yourself and set REMUSD_CRIU"
fi

download_dir=$(mktemp -d)
cleanup() { rm -f "$SOURCES_ENTRY"; rm -rf "$download_dir"; }
trap cleanup EXIT

# Same mirror and keyring as the system's own entry; the entry exists only while we download (apt-get reads
# only it), so nothing else is ever upgraded from it.
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}
apt_only_ours=(-o Dir::Etc::sourcelist="$SOURCES_ENTRY" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0)

fetch_from() { # fetch_from SUITE → downloads every package from SUITE into download_dir, or fails
  local suite=$1 pkg
  cat >"$SOURCES_ENTRY" <<SRC
Types: deb
URIs: $mirror
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  log "fetching CRIU packages from $suite ($mirror)"
  apt-get update -qq "${apt_only_ours[@]}" >/dev/null || return 1
  rm -f "$download_dir"/*.deb
  (cd "$download_dir" && for pkg in "${PACKAGES[@]}"; do
    apt-get download -qq "${apt_only_ours[@]}" -o APT::Sandbox::User=root "$pkg/$suite" >/dev/null ||
      { log "apt-get download $pkg/$suite failed"; exit 1; }
  done)
}

fetched=""
for suite in "${SUITES[@]}"; do
  if fetch_from "$suite"; then fetched=$suite; break; fi
done
rm -f "$SOURCES_ENTRY"
[[ -n "$fetched" ]] || die "could not download CRIU from ${SUITES[*]}; install CRIU >= $WANT_MAJOR.$WANT_MINOR yourself and set REMUSD_CRIU"

staging="$PREFIX.staging.$$"
rm -rf "$staging"; mkdir -p "$staging"
for deb in "$download_dir"/*.deb; do dpkg -x "$deb" "$staging"; done

libdir="$staging/usr/lib/x86_64-linux-gnu"
[[ -x "$staging/usr/sbin/criu" && -x "$libdir/ld-linux-x86-64.so.2" ]] || die "unpacked packages lack criu or the loader"

mkdir -p "$staging/bin"
# The wrapper hard-codes the final prefix, not the staging one.
cat >"$staging/bin/criu" <<WRAP
#!/bin/sh
# CRIU from Debian $fetched, run with its own glibc (installed by remusd's scripts/install-criu.sh).
exec "$PREFIX/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$PREFIX/usr/lib/x86_64-linux-gnu" "$PREFIX/usr/sbin/criu" "\$@"
WRAP
chmod 755 "$staging/bin/criu"

rm -rf "$PREFIX"; mkdir -p "$(dirname "$PREFIX")"; mv "$staging" "$PREFIX"
works "$WRAPPER" || { "$WRAPPER" check >&2 || true; die "installed CRIU at $WRAPPER but 'criu check' fails"; }
log "installed CRIU $(criu_version_of "$WRAPPER") at $WRAPPER"
echo "$WRAPPER"
