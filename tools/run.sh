#!/usr/bin/env bash
# The README's first command: installs what is needed (Debian 12, as root), builds, creates a data
# directory on first use, and runs the mail system in the foreground on loopback high ports.
set -euo pipefail
cd "$(dirname "$0")/.."
domain="${SOV_DOMAIN:-example.test}"
hostname="${SOV_HOSTNAME:-mail.$domain}"
data="${SOV_DATA:-$PWD/data}"

bash tools/install-deps.sh --build-only
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build/release sovereign
bin="$PWD/build/release/src/cli/sovereign"

if [ ! -f "$data/sovereign.toml" ]; then
    run_as=(--run-as "")
    if [ "$(id -u)" = 0 ]; then
        id sovereign >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin sovereign
        # The server drops root for this user after binding; it must be able to reach $data.
        mkdir -p "$(dirname "$data")"
        if runuser -u sovereign -- test -x "$(dirname "$data")"; then
            run_as=(--run-as sovereign)
        else
            echo "run.sh: user 'sovereign' cannot reach $(dirname "$data"); the server will keep" >&2
            echo "run.sh: running as root. Use SOV_DATA=/var/lib/sovereign to drop privileges." >&2
        fi
    fi
    "$bin" quickstart --domain "$domain" --hostname "$hostname" --data "$data" "${run_as[@]}"
fi
exec "$bin" serve --data "$data"
