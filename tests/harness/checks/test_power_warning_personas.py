"""The low-battery warning on a camera that writes no log into its files (a real-model persona)."""

from __future__ import annotations

import pytest
import yaml

from harness.core.measurement import NOT_MEASURABLE
from harness.core.paths import SUITE_DIR
from harness.execution.runner import run_scenario
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec


def _run(tmp_path, scenario: Scenario, faults: tuple[str, ...] = ()):
    with open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path, camera="axon-body-4", faults=faults) as rig:
        result = run_scenario(scenario, rig, tmp_path / "evidence")
        lead = rig.emulator.camera.power.warning_lead_s
    return {m.name: m for m in result.measurements}, result, lead


def test_warning_lead_timed_from_the_first_beep_when_the_recording_spans_the_warning(tmp_path) -> None:
    """power_cutoff.yaml on the Axon persona: the recording starts minutes before the warning, so
    the first beep heard is the warning's start and times the lead (shutdown minus that beep) with
    no log entry; the log itself is not measurable (no metadata tag)."""
    by_name, result, lead = _run(tmp_path, Scenario.load(SUITE_DIR / "power_cutoff.yaml"))
    measured = by_name["warning_lead_min"]
    assert measured.outcome == "pass" and measured.value is not None
    # the camera warns `lead` before its cut-off and shuts down its reserve earlier than that
    assert measured.value == pytest.approx(lead / 60, abs=0.5)
    assert "first beep heard" in (measured.note or "")
    assert by_name["warning_logged"].outcome == NOT_MEASURABLE
    assert by_name["warning_beeps_heard[event 1]"].outcome == "pass"
    assert not result.failed


def test_a_warning_that_may_have_begun_before_the_recording_is_not_measurable(tmp_path) -> None:
    """The same camera restarted and recording only after its warning began: the first beep heard
    comes right after the recording's audio starts, so the lead is not measurable (neither pass
    nor fail); the beeps heard are still counted."""
    text = (SUITE_DIR / "power_cutoff.yaml").read_text()
    data = yaml.safe_load(text)
    data["steps"] = [
        {"battery": {"soc": 5.0, "monitor_s": 0.5}},
        {"power": "on"},
        {"wait": {"seconds": 470, "since": "buffering"}},
        {"power": "off"},
        {"power": "on"},
        {"wait": {"seconds": 10, "since": "buffering"}},
        {"gesture": "start"},
        {"wait": {"until": "shutdown", "seconds": 1800}},
        {"power": "off"},
    ]
    by_name, result, _ = _run(tmp_path, Scenario.model_validate(data))
    assert by_name["warning_lead_min"].outcome == NOT_MEASURABLE
    assert "may have begun before" in (by_name["warning_lead_min"].not_measurable or "")
    assert by_name["warning_beeps_heard[event 1]"].outcome == "pass"
    assert not result.failed
