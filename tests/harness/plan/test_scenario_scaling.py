"""Scenarios that scale to the camera: waits that add a profile figure, scenarios that do not
apply to a camera, the expected bench duration, and the scene a scenario shows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from harness.core.paths import CAMERAS_DIR, SUITE_DIR
from harness.plan.profile import CameraProfile
from harness.plan.scenario import Scenario, Step


def profile(name: str) -> CameraProfile:
    return CameraProfile.load(CAMERAS_DIR / f"{name}.yaml")


def test_wait_adds_the_profiles_split_length() -> None:
    step = Step.model_validate({"wait": {"seconds": 40, "plus": "segment_s"}})
    assert step.wait is not None
    assert step.wait.total_s(profile("emulated")) == 140
    assert step.wait.total_s(profile("axon-body-4")) == 40 + 4 * 3600
    assert step.describe() == "wait 40 s + segment_s"
    with pytest.raises(ValueError, match="has no segment_s"):
        step.wait.total_s(profile("axis-w110"))
    with pytest.raises(ValidationError):
        Step.model_validate({"wait": {"seconds": 40, "plus": "segment_length"}})


def test_segments_scenario_applies_only_to_cameras_that_split() -> None:
    segments = Scenario.load(SUITE_DIR / "segments.yaml")
    assert segments.not_applicable(profile("axon-body-4")) is None
    why = segments.not_applicable(profile("axis-w110"))
    assert why is not None and "segment_s" in why and "steps#5" in why
    assert "continuity" not in segments.expect.checks  # a thinned multi-hour file would show holes


def test_expected_duration_sums_waits_gestures_boot_and_clip_wait() -> None:
    """stop.yaml on the emulated camera: settle 2, boot 8 + 20 s since buffering, double press
    0.55 s, 20 s, hold 3.5 s, 10 s, clip wait 10 s."""
    stop = Scenario.load(SUITE_DIR / "stop.yaml")
    emulated = profile("emulated")
    assert stop.expected_duration_s(emulated, settle_s=2, clip_wait_s=10) == pytest.approx(
        2 + 8 + 20 + 0.55 + 20 + 3.5 + 10 + 10
    )
    axon = profile("axon-body-4")  # power button held 2.5 s, then a 12 s boot
    assert stop.expected_duration_s(axon) == pytest.approx(2.5 + 12 + 20 + 0.55 + 20 + 3.5 + 10)
    segments = Scenario.load(SUITE_DIR / "segments.yaml")
    assert segments.expected_duration_s(axon) > 4 * 3600


def test_scene_variant_of_a_scenario() -> None:
    assert Scenario.load(SUITE_DIR / "preroll_busy_scene.yaml").scene == "busy"
    assert Scenario.load(SUITE_DIR / "preroll_full_buffer.yaml").scene == "standard"
    data = {
        "id": "x",
        "title": "x",
        "requirements": ["BWC-PRE-01"],
        "steps": [{"power": "on"}],
        "expect": {"clips": 0, "checks": ["preroll"]},
    }
    with pytest.raises(ValidationError, match="scene"):
        Scenario.model_validate({**data, "scene": "noisy"})
