#!/usr/bin/env bash
# The README's demo command: installs what remusd needs (scripts/setup.sh), then supervises the bundled
# workload with real CRIU for about 30 s (`remusd demo`). Must run as root. Extra arguments go to
# `remusd demo` (e.g. --seconds 60, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec dist/cli/main.js demo "$@"
