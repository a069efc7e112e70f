"""Stop with a post-record time: the clip must run the whole post-record after the stop gesture
(less at most one frame), so a camera that records less than configured fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.analysis.clip import ClipAnalysis
from harness.checks import CHECKS, CheckInput
from harness.core.paths import CAMERAS_DIR, SUITE_DIR
from harness.core.timeline import Action, Timeline
from harness.execution.runner import run_scenario
from harness.plan.profile import CameraProfile
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec
from tests.conftest import camera_variant

PERIOD = 1 / 30


def ending_at(last_ref: float) -> ClipAnalysis:
    n = 60
    ref = [last_ref - (n - 1 - k) * PERIOD for k in range(n)]
    return ClipAnalysis(
        path="/clips/a.mp4",
        pts_s=[k * PERIOD for k in range(n)],
        ref_s=ref,
        first_ref_s=ref[0],
        last_ref_s=ref[-1],
        frames=n,
        decoded=n,
    )


@pytest.mark.parametrize(
    ("recorded_post_s", "outcome"),
    [(5.0, "pass"), (5.0 - PERIOD, "pass"), (3.0, "fail"), (0.0, "fail")],
    ids=["full", "one-frame-short", "two-seconds-short", "none"],
)
def test_the_clip_runs_the_configured_post_record(recorded_post_s: float, outcome: str) -> None:
    profile = CameraProfile.load(CAMERAS_DIR / "emulated.yaml").model_copy(update={"post_record_s": 5.0})
    timeline = Timeline(
        [Action(0.0, "power", "on"), Action(200.0, "gesture", "start"), Action(230.0, "gesture", "stop")]
    )
    # the last frame's exposure ends (last_ref + period) when the camera stops
    clip = ending_at(230.0 + recorded_post_s - PERIOD + 1e-6)
    lag, _ = CHECKS["stop"](CheckInput(profile, timeline, [clip], 1))
    assert lag.value == pytest.approx(recorded_post_s, abs=1e-5)
    assert (lag.low, lag.high) == pytest.approx((5.0 - PERIOD, 6.0))
    assert lag.outcome == outcome


def test_a_healthy_camera_with_post_record_passes_stop(tmp_path: Path) -> None:
    """Real clips: 5 s of post-record recorded, stop_lag_s about 5 s."""
    camera = camera_variant(tmp_path, "post5", post_record_s=5.0)
    with open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path, camera=str(camera)) as rig:
        result = run_scenario(Scenario.load(SUITE_DIR / "stop.yaml"), rig, tmp_path / "evidence")
    assert not result.failed, [str(m) for m in result.failed]
    lag = next(m for m in result.measurements if m.name == "stop_lag_s[event 1]")
    assert 5.0 <= lag.value <= 5.0 + PERIOD + 1e-6
