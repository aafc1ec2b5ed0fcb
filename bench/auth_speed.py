#!/usr/bin/python3
"""Mail authentication per core (issue 6): DKIM verifications/s and SPF evaluations/s with a warm
resolver cache, Sovereign next to the raw `openssl speed` rate and next to dkimpy / pyspf on the
same inputs (bench/README.md, "Mail authentication (issue 6)").

    bench/auth_speed.py --dkim-bench build/authbench/bench/dkim_bench \\
                        --spf-bench build/authbench/bench/spf_bench --seconds 3 --cpu 1

Everything runs pinned to one CPU (--cpu, as `taskset -c 1` would: the affinity is set on this
process and inherited by every child). Rates are per CPU second:
* Sovereign: src/mailauth/dkim_bench.cpp and spf_bench.cpp (Google Benchmark, kIsRate counters
  divided by the benchmark's CPU time). DKIM: verify_dkim over a StaticDns holding the key record
  (the whole path: signature parse, key record parse, canonicalisation, hashes, public-key
  operation). SPF: check_host over a StaticDns holding the zone.
* openssl speed -mr -seconds N rsa2048 ed25519: the "verify/s" column (per CPU user second).
* dkimpy (python3-dkim): dkim.verify(message, dnsfunc=...) on the very files dkim_bench verified
  (written by its --write-corpus), the key record served from a dict; CPU time of this process
  (time.process_time) over a loop of at least N seconds.
* pyspf (python3-spf): spf.query(i, s, h, receiver=...).check() with spf.DNSLookup replaced by a
  lookup in the zone spf_bench wrote (--write-zone): the module-level hook pyspf's own test suite
  uses. pyspf caches answers inside one query object only, so each evaluation starts cold, as
  ours does (our check_host has no cache of its own; StaticDns answers every lookup).

Prints Markdown tables; --out FILE also writes the raw numbers as JSON. No root needed. Run it
with /usr/bin/python3 (Debian's python3-dkim / python3-spf live there).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = [2048, 20480, 204800]
ALGORITHMS = [("rsa-sha256", "rsa2048"), ("ed25519-sha256", "ed25519")]


def google_benchmark(argv: list[str], seconds: int) -> dict:
    out = subprocess.run(argv + ["--benchmark_format=json", f"--benchmark_min_time={seconds}"],
                         capture_output=True, text=True, timeout=1800, check=True).stdout
    result = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit(f"{b['name']}: {b.get('error_message')}")
        result[b["name"]] = b
    return result


def openssl_speed(seconds: int) -> dict:
    out = subprocess.run(["openssl", "speed", "-mr", "-seconds", str(seconds), "rsa2048",
                          "ed25519"], capture_output=True, text=True, timeout=600).stdout
    rates = {}
    for line in out.splitlines():
        fields = line.split(":")
        if line.startswith("+F2:") and fields[2] == "2048":  # +F2:n:bits:sign/s:verify/s
            rates["rsa2048"] = {"sign": float(fields[3]), "verify": float(fields[4])}
        elif line.startswith("+F6:") and fields[3].lower() == "ed25519":  # +F6:n:bits:name:s:v
            rates["ed25519"] = {"sign": float(fields[4]), "verify": float(fields[5])}
    if set(rates) != {"rsa2048", "ed25519"}:
        sys.exit(f"cannot parse `openssl speed -mr` output:\n{out}")
    return rates


def cpu_rate(once, seconds: float) -> float:
    """Calls per CPU second of this process, over at least `seconds` of CPU time."""
    once()  # warm-up (imports, caches)
    n = 0
    start = time.process_time()
    while True:
        for _ in range(10):
            once()
        n += 10
        spent = time.process_time() - start
        if spent >= seconds:
            return n / spent


def dkimpy_rates(corpus: Path, seconds: int) -> dict:
    import dkim  # python3-dkim

    rates = {}
    for algorithm, _ in ALGORITHMS:
        record = (corpus / f"{algorithm}.txt").read_bytes()

        def dnsfunc(name, timeout=5, record=record):
            name = name.decode() if isinstance(name, bytes) else name
            return record if name.rstrip(".") == "bench._domainkey.example.test" else None

        for size in SIZES:
            message = (corpus / f"{algorithm}_{size}.eml").read_bytes()
            if not dkim.verify(message, dnsfunc=dnsfunc):
                sys.exit(f"dkimpy does not verify {algorithm}_{size}.eml")
            rates[f"{algorithm}/{size}"] = cpu_rate(
                lambda: dkim.verify(message, dnsfunc=dnsfunc), seconds)
    return rates


def pyspf_rates(zone: dict, seconds: int) -> dict:
    import spf  # python3-spf

    table: dict = {}
    for name, rrtype, value in zone["records"]:
        if rrtype == "TXT":
            data = [value.encode()]
        elif rrtype == "MX":
            preference, host = value.split(" ", 1)
            data = (int(preference), host)
        else:
            data = value
        table.setdefault((name.lower(), rrtype), []).append(((name.lower(), rrtype), data))
    lookups = [0]

    def lookup(name, qtype, strict=True, timeout=None):
        lookups[0] += 1
        return table.get((name.lower().rstrip("."), qtype), [])

    spf.DNSLookup = lookup
    rates = {}
    for case in zone["cases"]:
        def once(case=case):
            return spf.query(i=case["ip"], s=case["sender"], h=zone["helo"],
                             receiver=zone["receiver"]).check()

        lookups[0] = 0
        result = once()[0]
        if result != case["expect"]:
            sys.exit(f"pyspf: {case['name']}: {result}, expected {case['expect']}")
        per_eval = lookups[0]
        rates[case["name"]] = {"eval/s": cpu_rate(once, seconds), "lookups": per_eval}
    return rates


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    default_bin = ROOT / "build" / "authbench" / "bench"
    parser.add_argument("--dkim-bench", default=str(default_bin / "dkim_bench"))
    parser.add_argument("--spf-bench", default=str(default_bin / "spf_bench"))
    parser.add_argument("--seconds", type=int, default=3, help="per measurement (default 3)")
    parser.add_argument("--cpu", type=int, default=1, help="the one CPU to run on (default 1)")
    parser.add_argument("--out", help="write the raw numbers as JSON here")
    args = parser.parse_args()

    os.sched_setaffinity(0, {args.cpu})
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="authbench-") as tmp:
        corpus = Path(tmp) / "dkim"
        zone_file = Path(tmp) / "spf-zone.json"
        ours_dkim = google_benchmark([args.dkim_bench, f"--write-corpus={corpus}",
                                      "--benchmark_filter=^verify_"], args.seconds)
        theirs_openssl = openssl_speed(args.seconds)
        theirs_dkimpy = dkimpy_rates(corpus, args.seconds)
        ours_spf = google_benchmark([args.spf_bench, f"--write-zone={zone_file}"], args.seconds)
        zone = json.loads(zone_file.read_text())
        theirs_pyspf = pyspf_rates(zone, args.seconds)
    load_after = os.getloadavg()

    print(f"{started}, pinned to CPU {args.cpu}, {args.seconds} s per measurement; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"({os.cpu_count()} CPUs); {platform.python_implementation()} "
          f"{platform.python_version()}\n")

    print("| DKIM, one signature, key from memory | Sovereign verify/s | openssl speed verify/s "
          "| dkimpy verify/s | Sovereign / openssl | Sovereign / dkimpy |")
    print("|---|---|---|---|---|---|")
    for algorithm, key in ALGORITHMS:
        raw = theirs_openssl[key]["verify"]
        for size in SIZES:
            name = f"verify_message/{algorithm.replace('-', '_')}/{size}"
            ours = ours_dkim[name]["verify/s"]
            py = theirs_dkimpy[f"{algorithm}/{size}"]
            print(f"| {algorithm}, {size // 1024} KB message | {ours:.0f} | {raw:.0f} | {py:.0f} "
                  f"| {ratio(ours, raw)} | {ratio(ours, py)} |")
        digest = ours_dkim[f"verify_digest_only/{key}"]["verify/s"]
        print(f"| {key}: public-key operation only | {digest:.0f} | {raw:.0f} | - "
              f"| {ratio(digest, raw)} | - |")

    print("\n| SPF check_host, zone from memory | DNS lookups per evaluation (ours / pyspf) "
          "| Sovereign eval/s | pyspf eval/s | Sovereign / pyspf |")
    print("|---|---|---|---|---|")
    for case in zone["cases"]:
        b = ours_spf[f"check_host/{case['name']}"]
        py = theirs_pyspf[case["name"]]
        print(f"| {case['name']} ({case['expect']}) | {b['lookups']:.0f} / {py['lookups']} "
              f"| {b['eval/s']:.0f} | {py['eval/s']:.0f} | {ratio(b['eval/s'], py['eval/s'])} |")

    if args.out:
        Path(args.out).write_text(json.dumps({
            "started": started, "cpu": args.cpu, "seconds": args.seconds,
            "loadavg_before": load_before, "loadavg_after": load_after,
            "dkim_bench": ours_dkim, "openssl": theirs_openssl, "dkimpy": theirs_dkimpy,
            "spf_bench": ours_spf, "pyspf": theirs_pyspf, "spf_zone": zone}, indent=2))


if __name__ == "__main__":
    main()
