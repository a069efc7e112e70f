"""The low-battery warning on a camera that writes no log into its files (a real-model persona)."""

from __future__ import annotations

from harness.core.measurement import NOT_MEASURABLE
from harness.core.paths import SUITE_DIR
from harness.execution.runner import run_scenario
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec


def test_warning_lead_and_log_are_not_measurable_without_a_log_and_a_recording_across_the_warning(tmp_path) -> None:
    """power_cutoff.yaml on the Axon persona: no log entry can exist (no metadata tag), and the
    first beep heard comes right after the recording's audio starts, so the warning may have begun
    before it: both are not measurable (neither pass nor fail); the beeps heard are still counted."""
    scenario = Scenario.load(SUITE_DIR / "power_cutoff.yaml")
    with open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path, camera="axon-body-4") as rig:
        result = run_scenario(scenario, rig, tmp_path / "evidence")
    by_name = {m.name: m for m in result.measurements}
    assert by_name["warning_lead_min"].outcome == NOT_MEASURABLE
    assert "may have begun before" in (by_name["warning_lead_min"].not_measurable or "")
    assert by_name["warning_logged"].outcome == NOT_MEASURABLE
    assert by_name["warning_beeps_heard[event 1]"].outcome == "pass"
    assert not result.failed
