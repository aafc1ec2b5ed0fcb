#!/usr/bin/env bash
# The README's test command: installs what is needed (Debian 12, as root), builds, and runs every
# test — unit, conformance, fuzz-corpus replay and integration against real peers on loopback.
#   sudo ./tools/test.sh            # everything
#   ./tools/test.sh --no-install    # skip apt-get (packages already there)
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
# -g puts the working directory into the object; without this ccache hashes it, and a clone at
# another path (every CI run) misses the whole cache.
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

install=1
for arg in "$@"; do
    case "$arg" in
        --no-install) install=0 ;;
        *) echo "usage: $0 [--no-install]" >&2; exit 2 ;;
    esac
done

if [ "$install" = 1 ]; then
    bash tools/install-deps.sh
fi

build=build/release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOV_WERROR=ON >/dev/null
ninja -C "$build"
# Unit, conformance and fuzz-replay tests, then the integration suites (real Postfix, swaks,
# smtplib), which need the built binary.
ctest --test-dir "$build" --output-on-failure -j2
# The imaptest runner's own tests (its parsing and matching, offline).
/usr/bin/python3 -m unittest discover -s tests/imap_conformance -p 'test_*.py' -q
SOVEREIGN_BIN="$PWD/$build/src/cli/sovereign" bash tests/integration/run.sh
