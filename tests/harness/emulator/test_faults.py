"""The fault matrix: every emulated fault is caught by its own check, at its own size."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.paths import CAMERAS_DIR, SUITE_DIR
from harness.emulator.faults import FAULTS, SHRUNK_STORAGE, Behaviour, UnknownFault, apply_faults
from harness.execution.matrix import prove
from harness.plan.profile import CameraProfile
from harness.plan.scenario import Scenario
from tests.conftest import camera_variant

# Faults that mean nothing on the built-in camera are proven on a model they apply to.
ON_MODEL: dict[str, dict] = {
    # no event marker, no buffer audio: the audio onset marks the live recording
    "late-join-audio": {"event_marker_key": None, "clock": {"metadata_key": None}},
    # a camera with a post-record time (generic cameras offer 3, 5 or 15 s)
    "short-post-record": {"post_record_s": 5.0},
}

EMULATED = CameraProfile.load(SUITE_DIR / "cameras" / "emulated.yaml")
#: a test camera with a power button and a stop confirmation (tests/data)
BUTTON_CAMERA = Path(__file__).resolve().parents[2] / "data" / "button_camera.yaml"


@pytest.mark.parametrize("fault", sorted(f for f in FAULTS if FAULTS[f].applies(EMULATED)))
def test_fault_is_caught_by_its_check_with_the_measured_size(fault: str, tmp_path) -> None:
    """The fault's scenario fails on the named measurement, measured within the stated accuracy."""
    camera = str(camera_variant(tmp_path, fault, **ON_MODEL[fault])) if fault in ON_MODEL else None
    profile = CameraProfile.load(camera or SUITE_DIR / "cameras" / "emulated.yaml")
    assert FAULTS[fault].applies(profile), f"{fault} is proven on a camera it does not apply to"
    result = prove(fault, tmp_path, camera=camera)
    assert result.outcome == "fail", result
    assert result.caught, f"{fault}: measured {result.measured}, expected {result.expected} +/- {result.tolerance}"
    assert result.measurement in result.failed_measurements


@pytest.mark.parametrize("fault", ["stop-unconfirmed", "slow-boot"])
def test_faults_caught_on_a_camera_with_a_power_button(fault: str, tmp_path) -> None:
    """On a camera switched on by its button, with a stop confirmation: a stop at the first press
    shows as a stop 1.5 s before the confirming press; a slow boot in the measured boot time."""
    result = prove(fault, tmp_path, camera=str(BUTTON_CAMERA))
    assert result.outcome == "fail", result
    assert result.caught, f"{fault}: measured {result.measured}, expected {result.expected} +/- {result.tolerance}"
    assert result.measurement in result.failed_measurements


def test_a_stop_confirmation_fault_applies_only_to_cameras_that_ask_for_confirmation() -> None:
    button_camera = CameraProfile.load(BUTTON_CAMERA)
    assert not FAULTS["stop-unconfirmed"].applies(EMULATED)
    assert FAULTS["stop-unconfirmed"].applies(button_camera)
    assert FAULTS["stop-unconfirmed"].proof.expected_for(button_camera) == pytest.approx(-1.5)


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


def test_faults_apply_where_they_mean_something_with_figures_of_the_profile() -> None:
    """buffer-default only where the vendor default differs, buffer-shrinks only with buffer
    storage, a marker fault only with a marker; proofs take the profile's buffer and frame."""
    axon, axis = (
        CameraProfile.load(CAMERAS_DIR / "axon-body-4.yaml"),
        CameraProfile.load(CAMERAS_DIR / "axis-w110.yaml"),
    )
    emulated = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    assert FAULTS["buffer-default"].applies(axon) and not FAULTS["buffer-default"].applies(emulated)
    assert FAULTS["buffer-shrinks"].applies(axis) and not FAULTS["buffer-shrinks"].applies(axon)
    assert FAULTS["late-marker"].applies(emulated) and not FAULTS["late-marker"].applies(axon)
    assert not FAULTS["segment-gap"].applies(axis)
    assert FAULTS["buffer-default"].proof.expected_for(axon) == 30.0
    assert FAULTS["short-buffer"].proof.expected_for(axis) == 85.0
    assert FAULTS["buffer-shrinks"].proof.expected_for(axis) == pytest.approx(SHRUNK_STORAGE * 90)
    assert FAULTS["short-buffer"].proof.tolerance_for(axis) == pytest.approx(1 / 25)
    assert FAULTS["clock-offset"].proof.tolerance_for(axon) == 1.0  # an overlay read by OCR
    assert FAULTS["clock-offset"].proof.expected_for(axon) == pytest.approx(axon.emulation.clock_offset_s + 5)
    # power_cutoff.yaml records across the warning's start: its beeps time it on a camera without a log
    assert FAULTS["late-warning"].applies(emulated) and FAULTS["late-warning"].applies(axon)
    with pytest.raises(ValueError, match="does not apply"):
        prove("buffer-shrinks")


@pytest.mark.parametrize(
    ("fault", "persona"),
    [
        ("buffer-default", "axon-body-4"),
        ("buffer-shrinks", "axis-w110"),
        ("drop-mid", "generic-mass-storage"),
        ("late-stop", "generic-mass-storage"),
    ],
)
def test_persona_fault_is_caught_on_its_persona(fault: str, persona: str, tmp_path) -> None:
    """The agency's 120 s not applied (Axon still at 30 s), and the Axis buffer storage too small
    for the busy scene (76.5 s of 90 s): each caught with its measured pre-roll. Frames lost mid-way
    through the live recording are not taken for the join (40 s of buffer, 40 s live); a late stop
    is measured on top of the generic camera's 5 s post-record."""
    result = prove(fault, tmp_path, camera=persona)
    assert result.caught, f"{fault}: measured {result.measured}, expected {result.expected} +/- {result.tolerance}"
    assert result.failed_measurements == (result.measurement,)


def test_faults_of_other_models_do_not_apply_to_the_builtin_camera() -> None:
    """The matrix skips a fault on a camera it means nothing to (no post-record to shorten)."""
    profile = CameraProfile.load(SUITE_DIR / "cameras" / "emulated.yaml")
    assert not FAULTS["short-post-record"].applies(profile)
    assert not FAULTS["late-join-audio"].applies(profile)  # it has an event marker
    assert FAULTS["late-marker"].applies(profile)
