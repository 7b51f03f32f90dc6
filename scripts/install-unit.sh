#!/usr/bin/env bash
# Installs the systemd unit remusd@.service (and `remusd` on PATH, via scripts/setup.sh), after checking
# the unit with `systemd-analyze verify`. Idempotent. UNIT_DIR overrides /etc/systemd/system (tests); then
# the host is left alone: no /etc/remusd (the configs' directory) and no daemon-reload.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 1>&2
unit_dir=${UNIT_DIR:-/etc/systemd/system}
[[ -x ${REMUSD_BIN_DIR:-/usr/local/bin}/remusd ]] || bash scripts/setup.sh
if command -v systemd-analyze >/dev/null; then
  # verify wants an instance name and the binary the unit runs.
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp config/remusd@.service "$tmp/remusd@check.service"
  systemd-analyze verify "$tmp/remusd@check.service"
fi
mkdir -p "$unit_dir"
install -m 0644 config/remusd@.service "$unit_dir/remusd@.service"
if [[ -z ${UNIT_DIR:-} ]]; then
  mkdir -p /etc/remusd
  if [[ -d /run/systemd/system ]]; then systemctl daemon-reload; fi
fi
echo "install-unit: $unit_dir/remusd@.service installed; put a config in /etc/remusd/NAME.yaml, then: systemctl enable --now remusd@NAME"
