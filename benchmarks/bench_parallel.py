"""Wall time of the built-in certification suite on the emulated camera with 1 and 2 xdist workers.

Each run is a fresh ``bwc certify`` subprocess (as a user starts it), so the figures include
start-up, every worker's own emulated rig, the merge of the workers' records and the report.
Prints the wall time per worker count, the speed-up against one process and the verdicts (the
same in every run, or the figure is void).

    .venv/bin/python benchmarks/bench_parallel.py [--workers 0 2] [--repeat N]

``0`` is one process without pytest-xdist. ``--tests`` times the project's own test suite instead
(``pytest -n N``; several minutes a run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def certify(workers: int, out: Path) -> tuple[float, dict[str, str]]:
    """Wall time of one certification and each scenario's verdict."""
    cmd = [sys.executable, "-m", "harness.cli", "certify", "--out", str(out), "--no-pdf", "--phase", "bench"]
    if workers:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    record = out / "record.json"
    if not record.exists():
        raise SystemExit(
            f"certify with {workers} worker(s) wrote no record (exit {proc.returncode}):\n"
            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return wall, {t["scenario"]: t["verdict"] for t in json.loads(record.read_text())["tests"]}


def tests(workers: int) -> tuple[float, dict[str, str]]:
    """Wall time of the project's own test suite and its summary line."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    return wall, {"summary": proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else f"exit {proc.returncode}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="worker counts to compare")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count (median is printed)")
    parser.add_argument("--tests", action="store_true", help="time the project's test suite, not the certification")
    args = parser.parse_args()
    walls: dict[int, float] = {}
    verdicts: dict[int, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            times = []
            for i in range(args.repeat):
                wall, seen = tests(workers) if args.tests else certify(workers, Path(tmp) / f"w{workers}-{i}")
                times.append(wall)
                verdicts[workers] = seen
            walls[workers] = statistics.median(times)
    what = (
        "project test suite" if args.tests else f"certification suite ({len(next(iter(verdicts.values())))} scenarios)"
    )
    print(f"{what}, emulated camera, median of {args.repeat}:")
    base = walls[args.workers[0]]
    for workers, wall in walls.items():
        label = "1 process (no xdist)" if workers == 0 else f"{workers} xdist worker(s)"
        print(f"  {label:24s} {wall:7.1f} s   speed-up x{base / wall:.2f}")
    for workers, seen in verdicts.items():
        summary = (
            seen["summary"]
            if args.tests
            else ", ".join(f"{v}: {sum(1 for x in seen.values() if x == v)}" for v in sorted(set(seen.values())))
        )
        print(f"  {'outcome' if args.tests else 'verdicts'} with {workers} worker(s): {summary}")
    if not args.tests and len({json.dumps(v, sort_keys=True) for v in verdicts.values()}) > 1:
        print("  WARNING: the verdicts differ between worker counts")


if __name__ == "__main__":
    main()
