#!/usr/bin/env bash
# Benchmark: the same SMTP load against Sovereign and Postfix+Dovecot (bench/README.md).
#   sudo bench/run.sh --quick          smoke run, well under a minute
#   sudo bench/run.sh --out r.json     full matrix (~10 minutes)
# Builds build/bench (RelWithDebInfo: sovereign, smtp_load) if missing, then runs bench/run.py.
# Whatever happens, every process the run started is gone afterwards (trap below).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${SOV_BENCH_BUILD:-$root/build/bench}"

if [ "$(id -u)" -ne 0 ]; then
    echo "bench/run.sh: needs root (cgroups, perf, Postfix master)" >&2
    exit 2
fi
# Builds only what is missing: rebuild explicitly (ninja -C build/bench sovereign smtp_load) to
# measure a newer tree, so a benchmark never waits on (or fails with) a half-edited tree.
if [ ! -x "$build/src/cli/sovereign" ] || [ ! -x "$build/bench/smtp_load" ]; then
    if [ ! -f "$build/build.ninja" ]; then
        cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
    ninja -C "$build" -j2 sovereign smtp_load
fi

driver=""
cleanup() {
    # run.py stops its servers itself; this catches what a killed driver leaves behind. Its cgroups
    # are named <system>-<part>-<driver pid> and hold only processes it started.
    if [ -n "$driver" ]; then
        kill "$driver" 2>/dev/null && wait "$driver" 2>/dev/null || true
        for group in /sys/fs/cgroup/cpuacct/sovbench/*-"$driver"; do
            [ -d "$group" ] || continue
            for pid in $(cat "$group/cgroup.procs"); do kill -9 "$pid" 2>/dev/null || true; done
            sleep 0.2
            rmdir "$group" "/sys/fs/cgroup/memory/sovbench/$(basename "$group")" 2>/dev/null || true
        done
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" "$here/run.py" --sovereign "$build/src/cli/sovereign" \
    --smtp-load "$build/bench/smtp_load" "$@" &
driver=$!
status=0
wait "$driver" || status=$?
driver=""
exit "$status"
