#!/usr/bin/env python3
"""DKIM signatures per second per core: Sovereign's signer (src/mailauth/dkim_bench.cpp, Google
Benchmark) next to `openssl speed rsa2048 ed25519` in the same run (bench/README.md, issue 5).

    bench/dkim_speed.py [--dkim-bench build/bench/bench/dkim_bench] [--seconds 3] [--cpu 1]
                        [--repeat 5]

Both signing rates are per user CPU second: `openssl speed` divides by user time (unless
-elapsed), and dkim_bench reports "sig/s user" from getrusage(RUSAGE_THREAD) the same way (the
body rows use Google Benchmark's CPU time). So a busy machine lowers both alike rather than the
ratio. `--repeat N` runs N signing rounds, alternating which side goes first, and shows the
median of the per-round ratios (a VM's CPU speed drifts between one run and the next). `--cpu N` pins this process and its children to one CPU (as
`taskset -c N` would). Printed: the signing table, then body canonicalisation throughput (MB/s of
body per CPU second: the canonicaliser alone, canonicaliser + SHA-256, SHA-256 alone); `--out
FILE` also writes the raw numbers as JSON. Standard library only; no root needed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (dkim_bench name, openssl key, what the row is)
# (dkim_bench name prefix, what the row is) for the body throughput table
BODY_ROWS = [
    ("canonicalise_body/relaxed", "relaxed canonicalisation alone"),
    ("canonicalise_body/simple", "simple canonicalisation alone"),
    ("hash_body/relaxed", "relaxed canonicalisation + SHA-256 (body hash)"),
    ("hash_body/simple", "simple canonicalisation + SHA-256 (body hash)"),
    ("sha256_only", "SHA-256 alone (the floor)"),
]

ROWS = [
    ("sign_digest_only/rsa2048", "rsa2048", "rsa2048: private-key operation only"),
    ("sign_message/rsa_sha256_4k", "rsa2048", "rsa-sha256: whole signer, 4 KB message"),
    ("sign_digest_only/ed25519", "ed25519", "ed25519: private-key operation only"),
    ("sign_message/ed25519_sha256_4k", "ed25519", "ed25519-sha256: whole signer, 4 KB message"),
]


def openssl_speed(seconds: int) -> dict:
    out = subprocess.run(["openssl", "speed", "-mr", "-seconds", str(seconds), "rsa2048",
                          "ed25519"], capture_output=True, text=True, timeout=600).stdout
    rates = {}
    for line in out.splitlines():
        fields = line.split(":")
        if line.startswith("+F2:") and fields[2] == "2048":  # +F2:n:bits:sign/s:verify/s
            rates["rsa2048"] = float(fields[3])
        elif line.startswith("+F6:") and fields[3].lower() == "ed25519":  # +F6:n:bits:name:...
            rates["ed25519"] = float(fields[4])
    if set(rates) != {"rsa2048", "ed25519"}:
        sys.exit(f"cannot parse `openssl speed -mr` output:\n{out}")
    return rates


def dkim_bench(binary: str, seconds: int, only: str | None = None) -> dict:
    extra = [f"--benchmark_filter={only}"] if only else []
    out = subprocess.run([binary, "--benchmark_format=json", f"--benchmark_min_time={seconds}"]
                         + extra,
                         capture_output=True, text=True, timeout=600, check=True).stdout
    rates = {}
    for b in json.loads(out)["benchmarks"]:
        # "sig/s user": per user CPU second, as `openssl speed` counts (dkim_bench.cpp).
        rate = (b.get("sig/s user") or b.get("sig/s") or b.get("msg/s")
                or b.get("bytes_per_second"))
        if rate:
            rates[b["name"]] = rate
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dkim-bench", default=str(ROOT / "build" / "bench" / "bench" /
                                                    "dkim_bench"))
    parser.add_argument("--seconds", type=int, default=3, help="per measurement (default 3)")
    parser.add_argument("--cpu", type=int, help="pin to this one CPU (default: not pinned)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="signing rounds, ours and openssl's alternating which goes first; "
                             "each row shows the median ratio of the rounds (default 1)")
    parser.add_argument("--out", help="write the raw numbers as JSON here")
    args = parser.parse_args()

    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    load_before = os.getloadavg()
    # The CPU speed of a VM drifts by 10-20% over minutes, which a single pair of runs reads as
    # a ratio. Rounds alternate which side goes first; each ratio is taken within its round.
    rounds = []
    for i in range(max(args.repeat, 1)):
        only = None if i == 0 else "sign_|both_"  # the body table needs one round only
        if i % 2 == 0:
            ours = dkim_bench(args.dkim_bench, args.seconds, only)
            theirs = openssl_speed(args.seconds)
        else:
            theirs = openssl_speed(args.seconds)
            ours = dkim_bench(args.dkim_bench, args.seconds, only)
        rounds.append((ours, theirs))
    ours = rounds[0][0]
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"({os.cpu_count()} CPUs); pinned to CPU {args.cpu}; {len(rounds)} round(s)\n")
    print("| operation | Sovereign sig/s per core | openssl speed sign/s | ratio (median) "
          "| ratios of the rounds |")
    print("|---|---|---|---|---|")
    for name, key, label in ROWS:
        if name not in ours:
            continue
        ratios = sorted(o[name] / t[key] for o, t in rounds)
        mine = statistics.median(o[name] for o, _ in rounds)
        raw = statistics.median(t[key] for _, t in rounds)
        print(f"| {label} | {mine:.0f} | {raw:.0f} | {statistics.median(ratios):.2f}x | "
              + ", ".join(f"{r:.2f}" for r in ratios) + " |")
    if "both_signatures" in ours:
        print(f"| both (rsa-sha256 + ed25519-sha256), 4 KB message | {ours['both_signatures']:.0f}"
              " msg/s | - | - |")
    if any(name.startswith(prefix) for prefix, _ in BODY_ROWS for name in ours):
        print("\n| body (76-column text, 2 trailing SP per line) | 4 KB: MB/s per core "
              "| 200 KB: MB/s per core |")
        print("|---|---|---|")
        for prefix, label in BODY_ROWS:
            cells = [ours.get(f"{prefix}/{size}") for size in (4096, 204800)]
            print(f"| {label} | " + " | ".join("-" if c is None else f"{c / 1e6:.0f}"
                                              for c in cells) + " |")
        if "canonicalise_and_hash_body" in ours:
            print(f"| whole 4 KB message as a relaxed body (`canonicalise_and_hash_body`) "
                  f"| {ours['canonicalise_and_hash_body'] / 1e6:.0f} | - |")
    if args.out:
        Path(args.out).write_text(json.dumps({"rounds": [{"dkim_bench": o, "openssl": t}
                                                          for o, t in rounds],
                                              "loadavg": [load_before, load_after]}, indent=2))


if __name__ == "__main__":
    main()
