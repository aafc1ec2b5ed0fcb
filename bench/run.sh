#!/usr/bin/env bash
# Benchmark: the same SMTP load against Sovereign and Postfix+Dovecot (bench/README.md).
#   sudo bench/run.sh --quick          smoke run, well under a minute
#   sudo bench/run.sh --out r.json     full matrix (~10 minutes)
#   sudo bench/run.sh imap [--messages 2000] [--out r.json]   IMAP vs Dovecot (bench/imap_bench.py)
#   sudo bench/run.sh --workload smtp-submission [--messages 500]   submission + DKIM vs
#        Postfix+OpenDKIM, relayed to one peer Postfix (needs opendkim, nsd, ldnsutils)
# Builds build/bench (RelWithDebInfo: sovereign and the load tool) if missing, then runs the driver.
# Whatever happens, every process the run started is gone afterwards (trap below).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${SOV_BENCH_BUILD:-$root/build/bench}"

if [ "$(id -u)" -ne 0 ]; then
    echo "bench/run.sh: needs root (cgroups, perf, Postfix master)" >&2
    exit 2
fi
# `run.sh imap ...` runs the IMAP benchmark (bench/imap_bench.py) instead of run.py.
script="$here/run.py"
tool=smtp_load
if [ "${1:-}" = "imap" ]; then
    shift
    script="$here/imap_bench.py"
    tool=imap_load
fi
# Builds only what is missing: rebuild explicitly (ninja -C build/bench sovereign smtp_load
# imap_load) to measure a newer tree, so a benchmark never waits on (or fails with) a half-edited
# tree.
if [ ! -x "$build/src/cli/sovereign" ] || [ ! -x "$build/bench/$tool" ]; then
    if [ ! -f "$build/build.ninja" ]; then
        cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
    ninja -C "$build" -j2 sovereign "$tool"
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
"$python" "$script" --sovereign "$build/src/cli/sovereign" \
    "--${tool/_/-}" "$build/bench/$tool" "$@" &
driver=$!
status=0
wait "$driver" || status=$?
driver=""
exit "$status"
