#!/usr/bin/env python3
"""Per-command times of BODY.PEEK[] by message size, for one or more latency files of
bench/imap_load (`--latencies`, or `bench/run.sh imap --latencies DIR`): one line per command,
"<literal bytes> <microseconds>".

    bench/peek_latency.py DIR/sovereign.txt DIR/dovecot.txt

prints, per size bucket, each file's command count and median time, and the ratio of the last
file's median to the first's (Dovecot / Sovereign when given in that order)."""
import statistics
import sys
from pathlib import Path

BUCKETS = [0, 4 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 1 << 62]


def load(path: Path) -> list[tuple[int, float]]:
    rows = []
    for line in path.read_text().splitlines():
        size, micros = line.split()
        rows.append((int(size), float(micros)))
    return rows


def label(lo: int, hi: int) -> str:
    return f">= {lo >> 10} KB" if hi == BUCKETS[-1] else f"{lo >> 10}-{hi >> 10} KB"


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    files = [Path(p) for p in sys.argv[1:]]
    data = {f: load(f) for f in files}
    header = ["size"] + [f"{f.stem} n / median µs" for f in files]
    if len(files) > 1:
        header.append(f"{files[-1].stem} / {files[0].stem}")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))

    def row(name: str, pick) -> None:
        medians = []
        cells = [name]
        for f in files:
            times = [t for size, t in data[f] if pick(size)]
            med = statistics.median(times) if times else float("nan")
            medians.append(med)
            cells.append(f"{len(times)} / {med:.1f}")
        if len(files) > 1:
            cells.append(f"{medians[-1] / medians[0]:.2f}x")
        print("| " + " | ".join(cells) + " |")

    for lo, hi in zip(BUCKETS, BUCKETS[1:]):
        row(label(lo, hi), lambda size, lo=lo, hi=hi: lo <= size < hi)
    row("all", lambda size: True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
