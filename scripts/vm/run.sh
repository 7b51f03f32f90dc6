#!/usr/bin/env bash
# Runs a command inside a soft-dirty VM (qemu TCG, Debian 12 kernel); see README.md. All options: --help.
#   scripts/vm/run.sh [--timeout SEC] [--mem MIB] [--cwd DIR] [--share HOSTDIR] [--env K=V] -- COMMAND [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v node >/dev/null || { echo "vm: node is needed on the host to run $here/run.mjs" >&2; exit 125; }
exec node "$here/run.mjs" "$@"
