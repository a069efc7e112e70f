"""The fault matrix: each emulated fault run on the scenario that must catch it, and the healthy camera
run on every scenario. A tester that cannot show this has not been tested."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.core.paths import SUITE_DIR, camera_profile_path
from harness.emulator.faults import FAULTS
from harness.execution.runner import run_scenario
from harness.plan.profile import CameraProfile
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec


@dataclass(frozen=True)
class ProofResult:
    fault: str
    scenario: str
    measurement: str
    expected: float
    tolerance: float
    measured: float | None
    outcome: str
    failed_measurements: tuple[str, ...]

    @property
    def caught(self) -> bool:
        """The right measurement failed, at the fault's size within the stated accuracy."""
        return (
            self.outcome == "fail"
            and self.measured is not None
            and abs(self.measured - self.expected) <= self.tolerance + 1e-9
        )


def load_profile(profile: str | None) -> CameraProfile:
    """A camera profile by built-in name or file (None: the built-in emulated camera)."""
    return CameraProfile.load(camera_profile_path(profile or EmulatedRigSpec(kind="emulated").camera))


def applicable(profile: str | None = None) -> list[str]:
    """The faults that mean something on a camera with ``profile`` (None: the emulated camera)."""
    p = load_profile(profile)
    return [name for name, f in FAULTS.items() if f.applies(p)]


def prove(fault: str, workdir: Path | None = None, camera: str | None = None) -> ProofResult:
    """Run the fault's scenario on an emulated camera with profile ``camera`` (a persona, by name
    or file; None: the built-in emulated camera) with only that fault switched on."""
    spec = FAULTS[fault]
    if not spec.applies(load_profile(camera)):
        raise ValueError(f"fault {fault!r} does not apply to camera profile {camera}")
    proof = spec.proof
    scenario = Scenario.load(SUITE_DIR / proof.scenario)
    with tempfile.TemporaryDirectory() as tmp:
        out = workdir or Path(tmp)
        with open_rig(EmulatedRigSpec(kind="emulated"), faults=(fault,), workdir=out, camera=camera) as rig:
            result = run_scenario(scenario, rig, out / "evidence")
    found = next((m for m in result.measurements if m.name == proof.measurement), None)
    return ProofResult(
        fault=fault,
        scenario=scenario.id,
        measurement=proof.measurement,
        expected=proof.expected_for(rig.profile),
        tolerance=proof.tolerance_for(rig.profile),
        measured=None if found is None else found.value,
        outcome="missing" if found is None else found.outcome,
        failed_measurements=tuple(m.name for m in result.failed),
    )


def healthy(scenario_files: list[Path] | None = None, profile: str | None = None) -> dict[str, list[str]]:
    """Every scenario that applies, on the healthy camera with ``profile`` (None: the built-in
    emulated camera): scenario id -> names of failed measurements (none expected)."""
    files = scenario_files or sorted(p for p in SUITE_DIR.glob("*.yaml") if p.name != "requirements.yaml")
    failures: dict[str, list[str]] = {}
    spec = EmulatedRigSpec(kind="emulated")
    with tempfile.TemporaryDirectory() as tmp, open_rig(spec, workdir=Path(tmp), camera=profile) as rig:
        for path in files:
            scenario = Scenario.load(path)
            if scenario.not_applicable(rig.profile) is not None:
                continue
            result = run_scenario(scenario, rig, Path(tmp) / scenario.id)
            failures[scenario.id] = [str(m) for m in result.failed]
    return failures
