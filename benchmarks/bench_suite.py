"""Wall time of the built-in suite (``bwc certify``) on the emulated camera, with each scenario's share.

Runs ``bwc certify --phase "Phase 1" --no-pdf`` ``--runs`` times in a fresh output folder each
time and prints, per run, the wall time, the CPU time of the run and its child processes (the
clip analysis process included), the load average before and after (other jobs on the machine
make wall time meaningless without it), and each scenario's duration from record.json; then the
median per scenario over the runs. The suite must stay under 2 minutes on a 2-core machine.

    .venv/bin/python benchmarks/bench_suite.py [--runs 3] [--profile P] [--phase "Phase 1"] [--workers N] [scenarios ...]

Without ``--workers`` the run takes ``bwc certify``'s default (one worker per CPU core on the
built-in emulated camera); ``--workers 0`` times it in one process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BWC = Path(sys.executable).with_name("bwc")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_once(out: Path, args: argparse.Namespace) -> tuple[float, float, dict[str, float], str]:
    """One certification run: (wall s, CPU s of the run and its children, scenario -> s, verdict)."""
    cmd = [str(BWC), "certify", "--phase", args.phase, "--out", str(out), "--no-pdf"]
    if args.profile:
        cmd += ["--profile", args.profile]
    if args.workers is not None:
        cmd += ["--workers", str(args.workers)]
    cmd += args.scenarios
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    record = out / "record.json"
    if not record.is_file():
        sys.exit(
            f"bwc certify wrote no record.json (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    tests = json.loads(record.read_text())["tests"]
    verdicts: dict[str, int] = {}
    for t in tests:
        verdicts[t["verdict"]] = verdicts.get(t["verdict"], 0) + 1
    status = f"{json.loads(record.read_text())['status']}, verdicts {verdicts}"
    return wall, cpu, {t["scenario"]: t["duration_s"] for t in tests}, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", help="camera profile (default: the built-in emulated camera)")
    parser.add_argument("--phase", default="Phase 1")
    parser.add_argument("--workers", type=int, help="bwc certify --workers (default: bwc certify's own default)")
    parser.add_argument("scenarios", nargs="*", help="scenario files (default: the built-in suite)")
    args = parser.parse_args()
    walls: list[float] = []
    per: dict[str, list[float]] = {}
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
            load_before = load()
            wall, cpu, durations, status = run_once(Path(tmp) / "out", args)
            load_after = load()
        walls.append(wall)
        for name, seconds in durations.items():
            per.setdefault(name, []).append(seconds)
        print(
            f"run {run}: {wall:6.1f} s wall, {cpu:6.1f} s CPU (run and children), {len(durations)} scenarios, "
            f"status {status}; load average {load_before} before, {load_after} after",
            flush=True,
        )
        for name, seconds in sorted(durations.items(), key=lambda kv: -kv[1]):
            print(f"    {name:26s} {seconds:6.1f} s")
    print(
        f"\nsuite wall time: median {statistics.median(walls):.1f} s, min {min(walls):.1f} s over {len(walls)} run(s)"
    )
    print("per scenario (median s):")
    for name, values in sorted(per.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"    {name:26s} {statistics.median(values):6.1f}")


if __name__ == "__main__":
    main()
