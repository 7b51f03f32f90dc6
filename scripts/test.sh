#!/usr/bin/env bash
# The README's test command: installs what the tests need (scripts/setup.sh), then runs every test,
# real-CRIU ones included. Must run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx vitest run "$@"
