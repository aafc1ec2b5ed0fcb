#!/usr/bin/env bash
# Runs the Dovecot imaptest scripts (tests/conformance/imap/dovecot-imaptest) against a fresh
# `sovereign serve` on loopback and exits with the runner's status.
#
#   SOVEREIGN_BIN=build/release/src/cli/sovereign tests/imap_conformance/run_against_sovereign.sh \
#       [runner arguments, e.g. script names, -v, --transcripts DIR]
#
# A new data directory (quickstart, two accounts) in a temporary directory; all listeners on
# port 0, the IMAP port read from the server log (`event=listener.ready listener=imap ... port=N`).
# The runner uses STARTTLS: the server refuses LOGIN before TLS. KEEP=1 keeps the directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${SOVEREIGN_BIN:?set SOVEREIGN_BIN to the sovereign binary}"
SOVEREIGN_BIN=$(realpath "$SOVEREIGN_BIN")
python=/usr/bin/python3
[ -x "$python" ] || python=python3

work=$(mktemp -d /tmp/sov-imaptest-XXXXXX)
server_pid=""

stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" || true
    fi
    server_pid=""
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    stop_server
    if [ -n "${KEEP:-}" ]; then
        echo "# kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

domain=example.test
user=postmaster@$domain
user2=imaptest2@$domain
password='correct horse battery staple'
password2='second account password'
printf '%s\n' "$password" >"$work/password"
printf '%s\n' "$password2" >"$work/password2"

"$SOVEREIGN_BIN" quickstart --domain "$domain" --hostname mail.example.test --data "$work/data" \
    --run-as "" --password-file "$work/password" >"$work/quickstart.log" 2>&1 ||
    { cat "$work/quickstart.log" >&2; exit 2; }
"$SOVEREIGN_BIN" user add "$user2" --password-file "$work/password2" --data "$work/data" \
    >>"$work/quickstart.log" 2>&1 || { cat "$work/quickstart.log" >&2; exit 2; }
# Ephemeral ports: the server reports what it bound.
sed -i -E 's/^port = [0-9]+$/port = 0/' "$work/data/sovereign.toml"

: >"$work/server.log"  # before the loop below reads it: the child opens it only when it runs
"$SOVEREIGN_BIN" serve --data "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!

imap_port=""
deadline=$((SECONDS + 30))
while [ -z "$imap_port" ]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "sovereign serve exited early:" >&2
        cat "$work/server.log" >&2
        server_pid=""
        exit 2
    fi
    if grep -q 'event=server.ready' "$work/server.log"; then
        imap_port=$(sed -nE 's/.*event=listener\.ready listener=imap .*port=([0-9]+).*/\1/p' \
            "$work/server.log" | head -n 1)
        if [ -z "$imap_port" ]; then
            echo "server ready but no IMAP listener in its log:" >&2
            grep -E 'listener=imap ' "$work/server.log" >&2 || true
            exit 2
        fi
        break
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "timed out waiting for event=server.ready" >&2
        exit 2
    fi
    sleep 0.05
done

status=0
"$python" "$here/imaptest_runner.py" --host 127.0.0.1 --port "$imap_port" --starttls \
    --user "$user" --password "$password" --user2 "$user2" --password2 "$password2" \
    "$@" || status=$?

stop_server
if grep -qE 'level=(error|fatal)|Sanitizer|runtime error' "$work/server.log"; then
    echo "# server log has errors:" >&2
    grep -E 'level=(error|fatal)|Sanitizer|runtime error' "$work/server.log" | head -n 20 >&2
fi
exit "$status"
