"""The fault matrix: every emulated fault is caught by its own check, at its own size."""

from __future__ import annotations

import pytest

from harness.core.paths import SUITE_DIR
from harness.emulator.faults import FAULTS, Behaviour, UnknownFault, apply_faults
from harness.execution.matrix import prove
from harness.plan.profile import CameraProfile
from harness.plan.scenario import Scenario


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_caught_by_its_check_with_the_measured_size(fault: str, tmp_path) -> None:
    """The fault's scenario fails on the named measurement, measured within the stated accuracy."""
    result = prove(fault, tmp_path)
    assert result.outcome == "fail", result
    assert result.caught, f"{fault}: measured {result.measured}, expected {result.expected} +/- {result.tolerance}"
    assert result.measurement in result.failed_measurements


def test_every_fault_names_a_shipped_scenario_and_a_check_it_runs() -> None:
    """Each proof points at a scenario of the suite that runs the check said to catch the fault."""
    for fault in FAULTS.values():
        scenario = Scenario.load(SUITE_DIR / fault.proof.scenario)
        assert fault.caught_by in scenario.expect.checks, fault.name


def test_healthy_behaviour_is_the_profile_and_faults_compose() -> None:
    """No fault: behaviour is the profile's; two faults change two things; a typo is refused."""
    profile = CameraProfile.load(SUITE_DIR / "cameras" / "emulated.yaml")
    healthy = Behaviour.from_profile(profile)
    assert healthy.buffer_s == profile.pre_event_buffer_s and healthy.drop_after_activation == 0
    both = apply_faults(healthy, ["short-buffer", "drop-at-join"])
    assert both.buffer_s == profile.pre_event_buffer_s - 5 and both.drop_after_activation == 10
    with pytest.raises(UnknownFault, match="known faults"):
        apply_faults(healthy, ["shrot-buffer"])
