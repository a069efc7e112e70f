"""Bad input files: a long seeded mutation fuzz of the shipped scenario, rig and camera profile YAML.

Damages the shipped files (byte flips, deleted or doubled lines, renamed keys, values of the wrong
type, deep nesting, huge numbers, bytes that are not UTF-8, alias bombs) and loads each result as
the harness does. Prints the outcomes per class (loaded OK / rejected with a clear error /
contract violation), per kind of damage and per kind of file, the time per input and the slowest
input with its seed and iteration. The contract: no traceback, no hang, every error names the file.

    .venv/bin/python benchmarks/bench_bad_inputs.py [--iterations N] [--seed S] [--timeout S]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from harness.core.paths import CAMERAS_DIR, CATALOGUE, RIGS_DIR, SUITE_DIR
from harness.core.yaml_fuzz import LOADED, REJECTED, VIOLATION, fuzz
from harness.plan.profile import CameraProfile
from harness.plan.requirements import Catalogue
from harness.plan.scenario import Scenario
from harness.rig.kinds import load_rig_spec

OUTCOMES = (LOADED, REJECTED, VIOLATION)


def sources(kind: str) -> list[tuple[Path, Callable[[Path], object]]]:
    """The shipped files of one kind, each with the loader the harness uses for it."""
    if kind == "scenario":
        catalogue = Catalogue.load(CATALOGUE)
        profile = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
        return [
            (p, lambda q: Scenario.load(q, catalogue, profile))
            for p in sorted(SUITE_DIR.glob("*.yaml"))
            if p != CATALOGUE
        ]
    if kind == "profile":
        return [(p, CameraProfile.load) for p in sorted(CAMERAS_DIR.glob("*.yaml"))]
    return [(p, load_rig_spec) for p in sorted(RIGS_DIR.glob("*.yaml"))]


def row(label: str, counts: Counter) -> str:
    return f"  {label:16s} " + "".join(f"{counts[o]:9d} " for o in OUTCOMES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10_000, help="inputs in all (shared by the file kinds)")
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--timeout", type=float, default=10.0, help="time bound per input (s): beyond it, a hang")
    args = parser.parse_args()
    # as many inputs per kind of file: the scenarios are many files, the profile and rigs few
    shares = {"scenario": args.iterations // 2, "profile": args.iterations // 4}
    shares["rig"] = args.iterations - sum(shares.values())
    reports = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for offset, (kind, n) in enumerate(shares.items()):
            reports[kind] = fuzz(sources(kind), Path(tmp) / kind, n, args.seed + offset, args.timeout)
    wall = time.perf_counter() - t0
    outcomes = sum((r.outcomes for r in reports.values()), Counter())
    by_kind: dict[str, Counter] = {}
    for r in reports.values():
        for kind, counts in r.by_kind.items():
            by_kind.setdefault(kind, Counter()).update(counts)
    times = sorted(t for r in reports.values() for t in r.seconds)
    slowest = max(reports.values(), key=lambda r: r.slowest_s)
    print(
        f"inputs: {sum(r.iterations for r in reports.values())} (seeds {args.seed}..{args.seed + 2}; "
        f"1-3 kinds of damage each), wall time {wall:.1f} s"
    )
    print(f"  {'':16s}   loaded  rejected  violation   ({' / '.join(OUTCOMES)})")
    print(row("all", outcomes))
    print("by file:")
    for kind, r in reports.items():
        print(row(kind, r.outcomes))
    print("by kind of damage (an input with several kinds counts under each):")
    for kind in sorted(by_kind):
        print(row(kind, by_kind[kind]))
    print(
        f"time per input: mean {1000 * statistics.fmean(times):.1f} ms, median {1000 * times[len(times) // 2]:.1f} ms, "
        f"p99 {1000 * times[int(len(times) * 0.99)]:.1f} ms"
    )
    print(f"slowest input: {1000 * slowest.slowest_s:.0f} ms ({slowest.slowest})")
    violations = [v for r in reports.values() for v in r.violations]
    print(f"contract violations: {len(violations)}")
    for line in violations:
        print("  " + line)


if __name__ == "__main__":
    main()
