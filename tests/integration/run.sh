#!/usr/bin/env bash
# Integration tests against real peers on loopback (pytest from Debian's python3-pytest).
#   SOVEREIGN_BIN=build/release/src/cli/sovereign tests/integration/run.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")"
export SOVEREIGN_BIN="${SOVEREIGN_BIN:-$(cd ../.. && pwd)/build/release/src/cli/sovereign}"
if [ $# -eq 0 ]; then set -- .; fi
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider "$@"
