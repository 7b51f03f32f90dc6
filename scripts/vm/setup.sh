#!/usr/bin/env bash
# Prepares what scripts/vm/run.sh boots: qemu, a Debian 12 kernel that has soft-dirty tracking, and a small
# initramfs (busybox-static + the virtio/9p/overlay modules + scripts/vm/init). Idempotent and quick when
# everything is in place. Prints the kernel and the initramfs paths (KERNEL=..., INITRD=..., KVER=...).
#
# Why: the host's kernel has no CONFIG_MEM_SOFT_DIRTY, so `criu pre-dump`/--track-mem cannot work on it;
# Debian 12's 6.1 kernel has it. See scripts/vm/README.md and shared/notes/criu-facts.md.
#
# The kernel package is NOT installed on the host: installing linux-image-* pulls initramfs-tools -> udev,
# which upgrades the host's systemd/libudev1. Instead the .deb is fetched with `apt-get download` and
# unpacked (dpkg -x) into the cache; the guest bind-mounts the unpacked /lib/modules/<ver> over its root.
#
# Environment:
#   REMUSD_VM_CACHE        cache dir (default /var/cache/remusd-vm)
#   REMUSD_VM_KERNEL_PKG   kernel package to use (default: what Debian 12's linux-image-amd64 depends on)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE="${REMUSD_VM_CACHE:-/var/cache/remusd-vm}"
INIT_SRC="$HERE/init"
# Modules the initramfs loads (with their dependencies, dependencies first, as modprobe --show-depends
# orders them). BOOT_MODULES are needed to mount the root; CRIU_MODULES are loaded too (a failure is only
# a warning): nf_tables because CRIU's kernel-feature detection fails without it, the *_diag modules
# because CRIU dumps sockets through sock_diag ("Diag module missing"), tun and veth for `criu check`,
# nf_conntrack_netlink because CRIU dumps a network namespace's conntrack table even when the namespace is
# external (--external net[…]): without it every dump of a network workload fails with "-22 reported by
# netlink: Invalid argument". The kernel would load it on demand, but its modprobe runs in the initramfs,
# which holds only the modules listed here.
# Loading them here with busybox insmod is much faster than a modprobe from the 9p root under TCG.
BOOT_MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet
  9pnet_virtio 9p overlay virtio_console)
CRIU_MODULES=(nfnetlink nf_tables unix_diag inet_diag tcp_diag udp_diag raw_diag netlink_diag af_packet_diag
  tun veth nf_conntrack_netlink)
# Host packages: qemu, busybox for the initramfs, kmod for depmod/modprobe here and for modprobe inside the
# guest (the guest's root file system is the host's), cpio/gzip to pack the initramfs.
# xz-utils to unpack the kernel ELF from the bzImage.
PACKAGES=(qemu-system-x86 busybox-static kmod cpio gzip xz-utils)

log() { echo "vm-setup: $*" >&2; }
die() { echo "vm-setup: error: $*" >&2; exit 1; }

[[ -f "$INIT_SRC" ]] || die "missing $INIT_SRC"
mkdir -p "$CACHE" || die "cannot create $CACHE (set REMUSD_VM_CACHE)"
CACHE=$(cd "$CACHE" && pwd -P)   # no symlinks: the guest's init walks this path from outside its chroot
# One setup at a time (run.sh calls this before every boot).
exec 9>>"$CACHE/.lock"
flock 9 || die "cannot lock $CACHE/.lock"
[[ $(uname -m) == x86_64 ]] || die "only x86_64 hosts are supported"

codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
# Pin to this release: scripts/install-criu.sh briefly adds a trixie source, and nothing here may come from it.
[[ -n "$codename" ]] && APT_OPTS+=(-t "$codename")

APT_LOG=$(mktemp /tmp/remusd-vm-apt.XXXXXX.log)
trap 'rm -f "$APT_LOG"' EXIT
# apt_q ARGS... : runs apt-get quietly; on failure shows the end of its output and returns non-zero.
apt_q() {
  if ! apt-get "${APT_OPTS[@]}" "$@" >"$APT_LOG" 2>&1; then
    tail -n 20 "$APT_LOG" | sed 's/^/  apt: /' >&2
    return 1
  fi
}
apt_updated=0
apt_update_once() {
  if (( apt_updated == 0 )); then
    log "apt-get update"
    apt_q update || die "apt-get update failed"
    apt_updated=1
  fi
}

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root to $1"; }

# ---- 1. host packages -------------------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
  need_root "install ${missing[*]}"
  command -v apt-get >/dev/null || die "no apt-get; install ${missing[*]} yourself"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt_q install -y --no-install-recommends "${missing[@]}"; then
    apt_update_once
    apt_q install -y --no-install-recommends "${missing[@]}" || die "apt-get install ${missing[*]} failed"
  fi
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found after installing qemu-system-x86"
BUSYBOX=/bin/busybox
[[ -x "$BUSYBOX" ]] || die "$BUSYBOX not found (busybox-static)"

# elf_ok FILE: an ELF file that is at least as long as its section header table says.
elf_ok() {
  local f=$1 shoff shentsize shnum size
  [[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" == '177ELF' ]] || return 1
  shoff=$(od -An -t u8 -j 40 -N 8 "$f" | tr -d ' ')
  shentsize=$(od -An -t u2 -j 58 -N 2 "$f" | tr -d ' ')
  shnum=$(od -An -t u2 -j 60 -N 2 "$f" | tr -d ' ')
  size=$(stat -c %s "$f")
  (( shoff > 0 && size >= shoff + shentsize * shnum ))
}
# extract_vmlinux BZIMAGE OUT: the kernel ELF inside an xz-compressed bzImage (as scripts/extract-vmlinux).
extract_vmlinux() {
  local off
  for off in $(LC_ALL=C grep -abo $'\xfd7zXZ' "$1" | cut -d: -f1); do
    # xz complains about the bytes after the stream; the ELF check decides.
    tail -c +$((off + 1)) "$1" | xz -dc >"$2" 2>/dev/null || true
    if elf_ok "$2"; then return 0; fi
  done
  rm -f "$2"
  return 1
}

# ---- 2. the kernel ----------------------------------------------------------------------------------------
# Which package: the linux-image-6.1.*-amd64 that Debian 12's linux-image-amd64 depends on (highest ABI).
resolve_kernel_pkg() {
  apt-cache show linux-image-amd64 2>/dev/null \
    | sed -n 's/^Depends: *//p' | tr ',' '\n' | sed 's/^ *//; s/ .*//' \
    | grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -t- -k4,4n | tail -n1
}
kpkg="${REMUSD_VM_KERNEL_PKG:-}"
if [[ -z "$kpkg" ]]; then
  kpkg=$(resolve_kernel_pkg || true)
  if [[ -z "$kpkg" ]]; then
    # No apt lists (fresh machine)? Use what the cache has, or update and ask again.
    cached=$(cat "$CACHE/kernel.current" 2>/dev/null || true)
    if [[ -n "$cached" && -f "$CACHE/kernel-$cached/.complete" ]]; then
      kpkg="linux-image-$cached"
    else
      need_root "run apt-get update"
      apt_update_once
      kpkg=$(resolve_kernel_pkg || true)
    fi
  fi
fi
[[ "$kpkg" =~ ^linux-image-(.+)$ ]] || die "cannot find Debian 12's linux-image-6.1.*-amd64 package (apt-cache show linux-image-amd64)"
KVER=${BASH_REMATCH[1]}
KDIR="$CACHE/kernel-$KVER"
KERNEL="$KDIR/boot/vmlinux-$KVER"

if [[ ! -f "$KDIR/.complete" ]]; then
  tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
  trap 'rm -rf "$tmp" "$APT_LOG"' EXIT
  log "downloading $kpkg (about 70 MB)"
  # -o APT::Sandbox::User=root: the download dir is not the _apt user's (else a warning, same result).
  if ! (cd "$tmp" && apt_q download -o APT::Sandbox::User=root "$kpkg"); then
    need_root "run apt-get update"
    apt_update_once
    (cd "$tmp" && apt_q download -o APT::Sandbox::User=root "$kpkg") || die "apt-get download $kpkg failed"
  fi
  deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n1)
  [[ -n "$deb" ]] || die "apt-get download $kpkg produced no .deb"
  log "unpacking $(basename "$deb")"
  mkdir "$tmp/root"
  dpkg-deb -x "$deb" "$tmp/root"
  [[ -f "$tmp/root/boot/vmlinuz-$KVER" ]] || die "$deb has no boot/vmlinuz-$KVER"
  grep -q '^CONFIG_MEM_SOFT_DIRTY=y' "$tmp/root/boot/config-$KVER" \
    || die "$kpkg is built without CONFIG_MEM_SOFT_DIRTY"
  # Debian 12 ships plain .ko files; later kernels compress them. Decompress so that both busybox insmod
  # (initramfs) and any kmod inside the guest can load them.
  while IFS= read -r -d '' f; do xz -d "$f"; done < <(find "$tmp/root/lib/modules" -name '*.ko.xz' -print0)
  if find "$tmp/root/lib/modules" -name '*.ko.zst' | grep -q .; then
    command -v zstd >/dev/null || die "the kernel's modules are zstd-compressed: apt-get install zstd"
    find "$tmp/root/lib/modules" -name '*.ko.zst' -exec zstd -q -d --rm {} +
  fi
  while IFS= read -r -d '' f; do gzip -d "$f"; done < <(find "$tmp/root/lib/modules" -name '*.ko.gz' -print0)
  depmod -b "$tmp/root" "$KVER" || die "depmod failed"
  rm -rf "$KDIR"
  mv "$tmp/root" "$KDIR"
  touch "$KDIR/.complete"
  rm -rf "$tmp"; trap 'rm -f "$APT_LOG"' EXIT
  # Drop older unpacked kernels and their initramfs.
  for old in "$CACHE"/kernel-*; do
    [[ "$old" == "$KDIR" || ! -d "$old" ]] || { log "removing old $old"; rm -rf "$old"; }
  done
fi
# An uncompressed ELF vmlinux boots straight into the kernel through its PVH entry point (CONFIG_PVH=y):
# about 2 s faster under TCG than the bzImage (SeaBIOS + xz decompression in emulation).
if [[ ! -f "$KDIR/boot/vmlinux-$KVER" && ! -f "$KDIR/.no-vmlinux" ]]; then
  if extract_vmlinux "$KDIR/boot/vmlinuz-$KVER" "$KDIR/boot/vmlinux-$KVER.tmp"; then
    mv "$KDIR/boot/vmlinux-$KVER.tmp" "$KDIR/boot/vmlinux-$KVER"
  else
    log "warning: cannot extract an ELF vmlinux from the bzImage; booting the bzImage (slower)"
    touch "$KDIR/.no-vmlinux"
  fi
fi
echo "$KVER" >"$CACHE/kernel.current.tmp" && mv "$CACHE/kernel.current.tmp" "$CACHE/kernel.current"

# ---- 3. the initramfs -------------------------------------------------------------------------------------
INITRD="$CACHE/initramfs-$KVER.cpio.gz"
STAMP="$CACHE/initramfs-$KVER.stamp"
stamp=$( { echo "kver=$KVER cache=$CACHE modules=${BOOT_MODULES[*]} ${CRIU_MODULES[*]} format=3";
           sha256sum "$INIT_SRC" "$BUSYBOX" "$HERE/setup.sh"; } | sha256sum | cut -d' ' -f1)
if [[ ! -f "$INITRD" || "$(cat "$STAMP" 2>/dev/null)" != "$stamp" ]]; then
  log "building $INITRD"
  work=$(mktemp -d "$CACHE/.initramfs.XXXXXX")
  trap 'rm -rf "$work" "$APT_LOG"' EXIT
  mkdir -p "$work"/{bin,sbin,dev,proc,sys,tmp,lower,rw,newroot,etc}
  cp "$BUSYBOX" "$work/bin/busybox"
  for a in $("$BUSYBOX" --list); do
    [[ "$a" == busybox || -e "$work/bin/$a" ]] || ln -s busybox "$work/bin/$a"
  done
  # Modules with their paths kept, listed in load order in /etc/modules.load as "req|opt PATH".
  : >"$work/etc/modules.load"
  add_modules() { # add_modules req|opt MODULE...
    local kind=$1 m deps what path rel
    shift
    for m in "$@"; do
      deps=$(modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" 2>&1) || die "module $m: $deps"
      while read -r what path _; do
        [[ "$what" == insmod ]] || continue   # "builtin X" needs nothing
        rel=${path#"$KDIR"}
        awk -v r="$rel" '$2 == r { found = 1 } END { exit !found }' "$work/etc/modules.load" && continue
        mkdir -p "$work$(dirname "$rel")"
        cp "$path" "$work$rel"
        echo "$kind $rel" >>"$work/etc/modules.load"
      done <<<"$deps"
    done
  }
  add_modules req "${BOOT_MODULES[@]}"
  add_modules opt "${CRIU_MODULES[@]}"
  {
    echo "KVER='$KVER'"
    echo "CACHE='$CACHE'"
  } >"$work/etc/remusd-vm.conf"
  cp "$INIT_SRC" "$work/init"
  chmod 755 "$work/init"
  (cd "$work" && find . -print0 | sort -z | cpio --null -o -H newc --quiet | gzip -6) >"$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"
  echo "$stamp" >"$STAMP"
  rm -rf "$work"; trap 'rm -f "$APT_LOG"' EXIT
  for old in "$CACHE"/initramfs-*.cpio.gz; do
    [[ "$old" == "$INITRD" || ! -f "$old" ]] || rm -f "$old" "${old%.cpio.gz}.stamp"
  done
fi

[[ -f "$KERNEL" ]] || KERNEL="$KDIR/boot/vmlinuz-$KVER"
echo "KVER=$KVER"
echo "KERNEL=$KERNEL"
echo "INITRD=$INITRD"
