#!/usr/bin/env bash
# The README's test command: installs what the tests need (scripts/setup.sh), then runs every test in the
# two vitest projects of vitest.config.ts: `unit` (pure, parallel) first, then `criu` (real CRIU, serial).
# Must run as root. `npm run test:unit` runs the unit project alone, without root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx vitest run "$@"
