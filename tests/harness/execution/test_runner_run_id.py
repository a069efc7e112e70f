"""The scenario runner and the run id: each run's id goes from the rig's display into the time code
and back through the analysis, so a clip filmed in another run is named and fails."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import yaml

from harness.execution.runner import run_scenario
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec
from tests.fixtures.test_plugin import QUICK


def test_a_clip_filmed_in_another_run_gets_a_finding_and_fails(tmp_path: Path) -> None:
    scenario = Scenario.model_validate(yaml.safe_load(QUICK))
    with open_rig(EmulatedRigSpec(kind="emulated", run_id=101), workdir=tmp_path / "a") as rig:
        earlier = run_scenario(scenario, rig, tmp_path / "a" / "evidence")
    (old,) = earlier.analyses
    assert earlier.failed == [] and old.run_id == 101 and old.error is None  # the display showed run 101

    rigs: list = []

    @contextlib.contextmanager
    def stale_clip_appears(step: str):
        if step == "collect clips":  # the earlier run's clip turns up on the camera's storage
            shutil.copy(old.path, rigs[0].emulator.clip_folder / "EMU-0001_stale.mp4")
        yield

    with open_rig(EmulatedRigSpec(kind="emulated", run_id=202), workdir=tmp_path / "b") as rig:
        rigs.append(rig)
        result = run_scenario(scenario, rig, tmp_path / "b" / "evidence", step_hook=stale_clip_appears)
    stale = next(a for a in result.analyses if a.path.endswith("stale.mp4"))
    own = next(a for a in result.analyses if a is not stale)
    assert stale.error == "time code from another run: run id 101, expected 202" and stale.error in stale.findings
    assert own.run_id == 202 and own.error is None
    foreign = next(m for m in result.measurements if m.name == "foreign_files")
    assert foreign.value == 1 and not foreign.passed and foreign.requirement == "BWC-EVT-01"
    assert "EMU-0001_stale.mp4: shows the time code of run 101 (camera under test EMU-0001, run 202)" in foreign.note
    assert foreign in result.failed
