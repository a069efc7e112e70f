"""Activation latency from what the camera gives: its event marker, else the audio onset of a
camera that keeps no audio in its buffer, else not measurable (never failed, never passed). Real
clips of the emulated camera in each configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks.preroll import NO_JOIN, join_source
from harness.core.measurement import NOT_MEASURABLE
from harness.core.paths import CAMERAS_DIR, SUITE_DIR
from harness.execution.runner import ScenarioResult, run_scenario
from harness.plan.profile import CameraProfile
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec
from tests.conftest import camera_variant

NO_METADATA = {"event_marker_key": None, "clock": {"metadata_key": None}}


def audio_policy_run(tmp_path: Path, **changes: object) -> tuple[ScenarioResult, CameraProfile, float]:
    """The audio policy scenario on a camera model; with the true latency (the emulated camera's
    activation against the press the harness timed)."""
    camera = camera_variant(tmp_path, "model", **changes)
    with open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path, camera=str(camera)) as rig:
        result = run_scenario(Scenario.load(SUITE_DIR / "audio_policy.yaml"), rig, tmp_path / "evidence")
        (truth,) = rig.emulator.camera.events  # type: ignore[union-attr]
    (press,) = result.timeline.gestures("start")
    return result, rig.profile, truth.activation_t - press.t


def latency(result: ScenarioResult):
    return next(m for m in result.measurements if m.name == "activation_latency_s[event 1]")


def test_join_source_follows_what_the_camera_gives() -> None:
    builtin = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    assert join_source(builtin) == "marker"
    bare = builtin.model_copy(update={"event_marker_key": None})
    assert join_source(bare) == "audio"
    with_buffer_audio = bare.model_copy(update={"audio": bare.audio.model_copy(update={"in_buffer": True})})
    assert join_source(with_buffer_audio) is None
    mute = bare.model_copy(update={"audio": bare.audio.model_copy(update={"enabled": False})})
    assert join_source(mute) is None


def test_the_event_marker_is_used_where_the_camera_writes_one(tmp_path: Path) -> None:
    result, _, _ = audio_policy_run(tmp_path)
    m = latency(result)
    assert m.outcome == "pass" and m.note.startswith("event marker in ") and abs(m.value) < 1 / 30


def test_without_a_marker_the_audio_onset_is_the_join(tmp_path: Path) -> None:
    """A silent buffer: the sound starts where the live recording starts, as the camera's own
    A/V offset (8 ms late on the emulated camera) shows it."""
    result, profile, true_latency = audio_policy_run(tmp_path, **NO_METADATA)
    m = latency(result)
    assert m.outcome == "pass" and "audio onset" in m.note, m
    expected = true_latency + profile.emulation.av_offset_ms / 1000
    assert m.value == pytest.approx(expected, abs=0.011)  # within one 10 ms envelope block
    assert not result.failed


def test_without_marker_and_with_buffer_audio_the_latency_is_not_measurable(tmp_path: Path) -> None:
    result, _, _ = audio_policy_run(tmp_path, **NO_METADATA, audio={"in_buffer": True})
    m = latency(result)
    assert m.outcome == NOT_MEASURABLE and m.value is None and m.not_measurable == NO_JOIN
    assert m.record()["outcome"] == "not measurable"
    assert not result.failed  # the scenario keeps its pass: nothing failed, the gap is reported
