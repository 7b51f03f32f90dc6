# Sourced by scripts/install-{redis,etcd}.sh: unpacks Debian packages of the system's own archive into a
# directory without installing them. Services whose postinst would start and enable a daemon (redis,
# etcd) are only unpacked (`apt-get download` + `dpkg -x`): no service, no user, no port taken.
#
#   unpack_debs DIR PACKAGE...   → DIR holds the packages' files (created; emptied first)
#
# The caller defines die() (its own prefix in messages).

unpack_debs() {
  local target=$1 work deb
  shift
  work=$(mktemp -d)
  chmod 755 "$work" # apt's download user (_apt) must be able to write here
  # A stale package list is the usual reason a download fails on a fresh machine: update once, then retry.
  if ! (cd "$work" && apt-get download -qq "$@" >/dev/null 2>&1); then
    apt-get update -qq >/dev/null
    (cd "$work" && apt-get download -qq "$@" >/dev/null) || { rm -rf "$work"; die "apt-get download $* failed"; }
  fi
  rm -rf "$target"
  mkdir -p "$target"
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$target"; done
  rm -rf "$work"
}
