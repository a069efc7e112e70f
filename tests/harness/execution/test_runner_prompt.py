"""A prompt nobody answers ends its scenario as an error with the power made safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.devices.operator import PromptUnanswered
from harness.emulator.camera_parts import CameraState
from harness.execution.runner import ScenarioResult, run_scenario
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec


def test_an_unanswered_prompt_ends_the_scenario_with_the_output_off(tmp_path: Path) -> None:
    scenario = Scenario.model_validate(
        {
            "id": "export",
            "title": "export",
            "requirements": ["BWC-EVT-01"],
            "steps": [
                {"power": "on"},
                {"wait": {"seconds": 12}},
                {"prompt": {"text": "Enter the export folder", "expect": "value", "key": "no_such_answer"}},
                {"wait": {"seconds": 30}},
            ],
            "expect": {"clips": 0, "checks": ["clip_count"]},
        }
    )
    with open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path) as rig:
        result = ScenarioResult(scenario)
        with pytest.raises(PromptUnanswered, match="declined by auto .the emulated rig has no answer"):
            run_scenario(scenario, rig, tmp_path / "evidence", result=result)
        assert rig.emulator is not None
        assert rig.emulator.supply.instrument.state.output is False
        assert rig.emulator.camera.state is CameraState.OFF
        (asked,) = [a for a in result.timeline.actions if a.kind == "operator"]
        assert asked.details()["outcome"] == "declined" and asked.t == pytest.approx(14, abs=0.5)
