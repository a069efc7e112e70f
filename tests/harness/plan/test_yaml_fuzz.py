"""Seeded mutation fuzz of the shipped scenario, rig and camera profile files: every damaged file
is loaded or refused with one line naming it; never a traceback, never a hang.
benchmarks/bench_bad_inputs.py runs the same fuzz for 10,000 inputs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from harness.core.paths import CAMERAS_DIR, CATALOGUE, RIGS_DIR, SUITE_DIR
from harness.core.yaml_fuzz import KINDS, LOADED, REJECTED, VIOLATION, fuzz
from harness.plan.profile import CameraProfile
from harness.plan.requirements import Catalogue
from harness.plan.scenario import Scenario
from harness.rig.kinds import load_rig_spec

ITERATIONS = 400  # a few seconds; the benchmark runs 10,000
SEED = 20261205
PER_INPUT_S = 5.0


def shipped_sources() -> list[tuple[Path, Callable[[Path], object]]]:
    """Each shipped scenario (resolved against the emulated profile), camera profile and rig file."""
    catalogue = Catalogue.load(CATALOGUE)
    profile = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    sources: list[tuple[Path, Callable[[Path], object]]] = [
        (p, lambda q: Scenario.load(q, catalogue, profile)) for p in sorted(SUITE_DIR.glob("*.yaml")) if p != CATALOGUE
    ]
    sources += [(p, CameraProfile.load) for p in sorted(CAMERAS_DIR.glob("*.yaml"))]
    sources += [(p, load_rig_spec) for p in sorted(RIGS_DIR.glob("*.yaml"))]
    return sources


def test_damaged_yaml_files_are_loaded_or_refused_naming_the_file(tmp_path: Path) -> None:
    start = time.perf_counter()
    report = fuzz(shipped_sources(), tmp_path, ITERATIONS, SEED, timeout_s=PER_INPUT_S)
    wall = time.perf_counter() - start
    print(
        f"{report.iterations} inputs in {wall:.1f} s: {dict(report.outcomes)}; "
        f"slowest {report.slowest_s * 1000:.0f} ms ({report.slowest})"
    )
    assert report.violations == [] and report.outcomes[VIOLATION] == 0
    assert report.outcomes[LOADED] > 0 and report.outcomes[REJECTED] > ITERATIONS // 2  # the damage bites
    assert set(report.by_kind) == set(KINDS)
    assert report.slowest_s < PER_INPUT_S
