"""A vendor export as the clip source: files are placed by the time code in their pictures (run id and
scene time), never by their names or dates. Renamed files of the scenario are its clips; a file of
another run is ignored with a finding; an event with no file is named as missing from the export."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import yaml

from harness.core.timeline import OperatorAnswered
from harness.devices.clip_source_export import ExportClipSource, ExportManifest
from harness.devices.operator import Prompt
from harness.emulator.operator import AutoOperator
from harness.execution.runner import run_scenario
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec
from tests.fixtures.test_plugin import QUICK

TWO_EVENTS = """\
id: two-events
title: Two short events
requirements: [BWC-EVT-01]
steps:
  - power: "on"
  - wait: {seconds: 3, since: buffering}
  - gesture: start
  - wait: {seconds: 2}
  - gesture: stop
  - wait: {seconds: 4}
  - gesture: start
  - wait: {seconds: 2}
  - gesture: stop
  - power: "off"
expect:
  clips: 2
  checks: [clip_count]
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_renamed_files_a_file_of_another_run_and_a_missing_clip_give_exactly_those_findings(tmp_path: Path) -> None:
    with open_rig(EmulatedRigSpec(kind="emulated", run_id=101), workdir=tmp_path / "a") as rig:
        earlier = run_scenario(Scenario.model_validate(yaml.safe_load(QUICK)), rig, tmp_path / "a" / "evidence")
    (old,) = earlier.evidence

    export = tmp_path / "export"
    export.mkdir()
    with open_rig(EmulatedRigSpec(kind="emulated", run_id=202), workdir=tmp_path / "b") as rig:
        rig.clips = ExportClipSource(tmp_path / "default", ".mp4", ExportManifest("*.sha256"), settle_s=0.0)
        rig.operator = operator = AutoOperator(rig.emulator)

        def operator_exports(bench: object, prompt: Prompt) -> str:
            """The vendor's names; the first event's clip left out; an event of another run in."""
            rig.clock.sleep(1.0)  # the camera finishes its files before it is docked
            first, second = sorted(rig.emulator.clip_folder.rglob("*.mp4"))
            assert first.name < second.name
            shutil.copy(second, export / "Evidence_A7F3.mp4")
            shutil.copy(old.path, export / "Evidence_0B12.mp4")
            (export / "export.sha256").write_text(
                "".join(f"{_sha(export / n)}  {n}\n" for n in ("Evidence_A7F3.mp4", "Evidence_0B12.mp4"))
            )
            return str(export)

        operator.answer_with("export_folder", operator_exports)
        result = run_scenario(Scenario.model_validate(yaml.safe_load(TWO_EVENTS)), rig, tmp_path / "b" / "evidence")
        untaken = rig.clips.last_wait.untaken
    starts = [a.t for a in result.timeline.gestures("start")]
    assert [Path(a.path).name for a in result.analyses] == ["Evidence_A7F3.mp4"]  # the renamed clip is the run's
    assert result.analyses[0].run_id == 202 and result.analyses[0].first_ref_s is not None
    assert result.analyses[0].first_ref_s < starts[1] < result.analyses[0].last_ref_s  # it is the second event's
    findings = [f"{e.camera_path}: {e.finding}" for e in result.evidence if e.finding] + untaken + result.findings
    assert findings == [
        "Evidence_0B12.mp4: from another run (its time code shows run 101, this run is 202); "
        "ignored, not this scenario's footage",
        f"event 1 (start gesture at {starts[0]:.1f} s of the run): no file in the export shows "
        f"{starts[0]:.1f}..{starts[1]:.1f} s in its time code; the clip of the run is missing from the export",
    ]
    assert len(result.evidence) == 2  # the other run's file stays in the evidence, with its finding
    (asked,) = [a.detail for a in result.timeline.actions if isinstance(a.detail, OperatorAnswered)]
    assert asked.key == "export_folder" and asked.value == str(export) and asked.by == "auto"
    saved = next(m for m in result.measurements if m.name.startswith("events_saved"))
    foreign = next(m for m in result.measurements if m.name == "foreign_files")
    assert saved.value == 1 and not saved.passed  # the missing clip fails the scenario
    assert foreign.value == 0 and foreign.passed  # the ignored file is no foreign footage of this scenario
