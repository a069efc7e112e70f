"""Accuracy of the issue-4 measurements against the emulator's ground truth, and suite wall time.

For A/V offset, A/V drift, clock drift and gap size, the emulated camera is given known values
(through a camera profile written for the run, or a fault) and several sensor phases (seeds);
the script prints each measured value, its error, and the mean and worst error per quantity.
Then it times the whole built-in suite on the healthy emulated camera.

    .venv/bin/python benchmarks/bench_checks.py [--seeds N] [--no-suite]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from harness.core.paths import CAMERAS_DIR, SUITE_DIR
from harness.execution.matrix import healthy
from harness.execution.runner import run_scenario
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec


def measure(
    scenario: str, name: str, seed: int, tmp: Path, emulation: dict | None = None, faults: tuple[str, ...] = ()
) -> float | None:
    """Run one scenario on an emulated camera with ``emulation`` overrides; return one measurement."""
    profile = yaml.safe_load((CAMERAS_DIR / "emulated.yaml").read_text())
    profile["emulation"] = {**profile.get("emulation", {}), **(emulation or {})}
    path = tmp / f"camera-{seed}.yaml"
    path.write_text(yaml.safe_dump(profile))
    with open_rig(
        EmulatedRigSpec(kind="emulated", seed=seed), camera=str(path), faults=faults, workdir=tmp / "run"
    ) as rig:
        result = run_scenario(Scenario.load(SUITE_DIR / scenario), rig, tmp / "evidence")
    found = next((m for m in result.measurements if m.name == name), None)
    return None if found is None else found.value


def report(quantity: str, unit: str, rows: list[tuple[str, float, float | None]]) -> None:
    errors = [m - truth for _, truth, m in rows if m is not None]
    for label, truth, m in rows:
        shown = "not measured" if m is None else f"{m:10.3f} {unit}  error {m - truth:+8.3f} {unit}"
        print(f"  {quantity:14s} {label:26s} truth {truth:10.3f} {unit}  measured {shown}")
    if errors:
        print(
            f"  => {quantity}: mean error {statistics.mean(errors):+.3f} {unit}, "
            f"max |error| {max(abs(e) for e in errors):.3f} {unit} over {len(errors)} runs"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-suite", action="store_true", help="skip timing the whole suite")
    args = parser.parse_args()
    seeds = range(1, args.seeds + 1)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rows = [
            (
                f"offset {ms:+g} ms, seed {s}",
                ms + 0.0,
                measure("av_sync.yaml", "av_offset_ms[event 1]", s, tmp, {"av_offset_ms": ms}),
            )
            for ms in (-30.0, 8.0, 150.0)
            for s in seeds
        ]
        report("A/V offset", "ms", rows)
        rows = [
            (
                f"drift {ppm:g} ppm, seed {s}",
                ppm,
                measure("av_sync.yaml", "av_drift_ppm[event 1]", s, tmp, {"av_drift_ppm": ppm}),
            )
            for ppm in (0.0, 200.0, 1000.0)
            for s in seeds
        ]
        report("A/V drift", "ppm", rows)
        rows = [
            (
                f"clock {ppm:g} ppm, seed {s}",
                ppm,
                measure("clock_shift.yaml", "clock_drift_ppm", s, tmp, {"clock_drift_ppm": ppm}),
            )
            for ppm in (3.0, 100.0)
            for s in seeds
        ]
        report("clock drift", "ppm", rows)
        rows = [
            (
                f"6 frames dropped, seed {s}",
                6.0,
                measure("continuity_join.yaml", "missing_frames[event 1]", s, tmp, faults=("drop-mid",)),
            )
            for s in seeds
        ]
        report("gap size", "frames", rows)
    if not args.no_suite:
        t0 = time.perf_counter()
        failures = healthy()
        wall = time.perf_counter() - t0
        bad = {k: v for k, v in failures.items() if v}
        print(
            f"\nwhole built-in suite ({len(failures)} scenarios) on the healthy emulated camera: {wall:.1f} s wall, "
            f"{'no false alarm' if not bad else f'FALSE ALARMS: {bad}'}"
        )


if __name__ == "__main__":
    main()
