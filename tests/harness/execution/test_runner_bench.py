"""The runner on a bench-like rig: reference time from the display's present log, stimuli from the controller.

Both tests run the emulated camera in virtual time and swap in what a bench adds: a display whose
log says when each frame was really shown, and a rig controller that fires the A/V stimulus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.analysis.findings import analyse_clip_fully
from harness.core.clock import Clock
from harness.core.timeline import FlashFired
from harness.devices.display import Display, PresentLog, RecordedPresentLog
from harness.execution.runner import run_scenario
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec
from harness.scene.stimulus import event_times

R = 60.0
LATE_S = 0.030  # the replayed display shows every frame 30 ms late ...
DROPPED = (660, 661)  # ... and skipped two frames 1 s into buffering


def _jitter(n: int) -> float:
    return ((n * 7919) % 41) / 10_000  # 0..4 ms, fixed per frame


class ReplayedDisplay(Display):
    """A display whose present log is given: frame n shown at n / 60 + 30 ms + jitter, two frames dropped."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self.clock = clock
        self.refresh_hz = R
        self.log = RecordedPresentLog(R)
        for n in range(round(seconds * R)):
            if n not in DROPPED:
                self.log.record(n, n / R + LATE_S - 0.002, n / R + LATE_S + _jitter(n))

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def describe(self) -> str:
        return "replayed present log"


def _scenario(record_s: float, checks: list[str], requirements: list[str]) -> Scenario:
    return Scenario.model_validate(
        {
            "id": "bench-like",
            "title": "one event",
            "requirements": requirements,
            "steps": [
                {"power": "on"},
                {"wait": {"seconds": 3, "since": "buffering"}},
                {"gesture": "start"},
                {"wait": {"seconds": record_s}},
                {"gesture": "stop"},
                {"power": "off"},
            ],
            "expect": {"clips": 1, "checks": checks},
        }
    )


def test_pre_roll_is_measured_from_the_present_time_of_the_first_frame(tmp_path: Path) -> None:
    """With a display 30 ms late (jittered), the clip's reference times are the logged present times:
    the first frame's is the log's time for the frame the time code names, so the pre-roll is 30-34 ms
    shorter than the nominal scene time says; the frames the display dropped are reported on the clip."""
    with open_rig(EmulatedRigSpec(kind="emulated", refresh_hz=R), workdir=tmp_path) as rig:
        rig.display = ReplayedDisplay(rig.clock, 60.0)
        result = run_scenario(
            _scenario(2.0, ["clip_count", "preroll"], ["BWC-PRE-02", "BWC-EVT-01"]), rig, tmp_path / "evidence"
        )
        burned_in = rig.profile.clock.burned_in
        log = rig.display.log
    (clip,) = result.analyses
    nominal = analyse_clip_fully(result.evidence[0].path, R, burned_in)
    assert clip.first_ref_s == pytest.approx(log.to_present(nominal.first_ref_s), abs=1e-9)
    assert clip.first_ref_s - nominal.first_ref_s == pytest.approx(LATE_S + 0.002, abs=0.0021)
    press = result.timeline.gestures("start")[0].t
    preroll = next(m for m in result.measurements if m.name.startswith("preroll_s"))
    assert preroll.value == pytest.approx(press - clip.first_ref_s, abs=1e-9)
    assert press - nominal.first_ref_s - preroll.value == pytest.approx(LATE_S + 0.002, abs=0.0021)
    assert any("dropped 2 display frame(s)" in f and "660, 661" in f for f in clip.findings), clip.findings
    assert (tmp_path / "evidence" / "display_present_log.csv").is_file()


def test_a_controller_stimulus_is_fired_on_schedule_and_measured_against_its_fire_time(tmp_path: Path) -> None:
    """The rig controller fires every stimulus of the schedule over its serial line at the instant the
    display (20 ms latency) shows it; the A/V offset then still comes out as the camera's own 8 ms,
    neither the display latency nor the controller's timing leaking into it."""
    with open_rig(EmulatedRigSpec(kind="emulated", refresh_hz=R), workdir=tmp_path) as rig:
        rig.stimulus = True
        rig.display.log = PresentLog(R, latency_s=0.020)
        result = run_scenario(
            _scenario(10.0, ["clip_count", "av_sync"], ["BWC-AV-01", "BWC-AV-02", "BWC-EVT-01"]),
            rig,
            tmp_path / "evidence",
        )
        truth_ms = rig.emulator.camera.behaviour.av_offset_ms
        fired_hw = [t for t, on in rig.emulator.controller.stimuli if on]
    flashes = [a for a in result.timeline.actions if a.kind == "stimulus"]
    assert len(flashes) >= 8 and [a.t for a in flashes] == pytest.approx(fired_hw, abs=2e-6)
    power_on = result.timeline.last_before(1e9, "power", "on").t
    fired = [a.detail for a in flashes]
    assert all(isinstance(d, FlashFired) for d in fired)
    assert [d.event_s for d in fired] == event_times(fired[0].event_s, flashes[-1].t, R)  # type: ignore[union-attr]
    assert flashes[0].t - power_on < 3.0  # from the first step on
    for a in flashes:
        assert isinstance(a.detail, FlashFired) and a.t == pytest.approx(a.detail.event_s + 0.020, abs=2e-6)
    by_name = {m.quantity: m for m in result.measurements}
    assert by_name["av_events_paired"].passed and by_name["av_events_paired"].value >= 3
    assert by_name["av_offset_ms"].value == pytest.approx(truth_ms, abs=1000 / 120 + 0.5)
    assert by_name["av_offset_ms"].passed and by_name["av_offset_extreme_ms"].passed
