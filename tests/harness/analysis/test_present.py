"""Reference time = present time: a clip's analysis moved onto a display's logged present times."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from harness.analysis.audio import AudioAnalysis, Chirp
from harness.analysis.clip import ClipAnalysis, Duplicate, Gap, set_reference_times
from harness.analysis.mapping import ClipMapping
from harness.analysis.present import at_present_times, fired_by_frame, to_present_times
from harness.analysis.timeline import TimelineBuilder
from harness.core.clock import VirtualClock
from harness.devices.display import EmulatedDisplay, PresentLog, RecordedPresentLog
from harness.scene.timecode import Reading

R = 60.0
CAM = 1 / 30  # camera frame period
OFFSET = 0.030  # the bench display shows every frame 30 ms after it is due ...
LATENCY = 0.008  # ... and its panel lights 8 ms after that (calibrated)


def _jitter(n: int) -> float:
    """A fixed, frame-dependent lateness of 0..4 ms (no RNG state)."""
    return ((n * 7919) % 41) / 10_000


def bench_log(frames: range, dropped: tuple[int, ...] = ()) -> RecordedPresentLog:
    log = RecordedPresentLog(R, latency_s=LATENCY)
    for n in frames:
        if n not in dropped:
            due = n / R
            log.record(n, due + OFFSET - 0.001, due + OFFSET + _jitter(n))
    return log


def clip(first: float = 10.0, frames: int = 90) -> ClipAnalysis:
    """A 3 s clip whose time code says it starts at ``first`` s of nominal scene time, with a gap,
    a repeat, an unreadable frame and two stimuli (one heard, one not)."""
    pts = [k * CAM for k in range(frames)]
    ref: list[float | None] = [first + 0.5 / R + k * CAM for k in range(frames)]
    ref[5] = None
    c = ClipAnalysis(
        path="clip.mp4",
        pts_s=pts,
        ref_s=ref,
        first_ref_s=first,
        last_ref_s=first + (frames - 1) * CAM,
        gaps=[Gap(after_ref_s=first + 1.0, missing_frames=2, missing_s=2 * CAM)],
        duplicates=[Duplicate(ref_s=first + 2.0, count=1)],
        preroll_s=1.5,
        chirps_expected=2,
        chirps_found=1,
    )
    events = [first + 0.75, first + 2.25]  # on display refreshes (multiples of 1/60)
    video = [e - ref[0] for e in events]  # where the time code puts them (pts_at)
    c.audio = AudioAnalysis(
        sample_rate=48000,
        chirps=[Chirp(events[0], video[0], video[0] + 0.012, 0.98), Chirp(events[1], video[1], None, 0.1)],
    )
    return c


def test_ideal_display_changes_nothing() -> None:
    """The emulated display (present time = n / refresh) leaves every figure exactly as analysed."""
    c = clip()
    before = copy.deepcopy(c)
    at_present_times([c], EmulatedDisplay(VirtualClock(), R).log, None, R)
    assert c.model_dump() == before.model_dump() and c.ref_s == before.ref_s
    assert [(x.ref_s, x.video_pts_s) for x in c.audio.chirps] == [(x.ref_s, x.video_pts_s) for x in before.audio.chirps]


def test_late_and_jittered_display_moves_every_reference_time() -> None:
    """Each nominal instant lands on the present time the log gives its display frame (+ panel latency)."""
    log = bench_log(range(500, 900))
    c = clip()
    nominal = copy.deepcopy(c)
    to_present_times(c, log)
    n_first = 600  # 10.0 s at 60 Hz
    assert c.first_ref_s == pytest.approx(n_first / R + OFFSET + _jitter(n_first) + LATENCY, abs=1e-9)
    for got, was in zip(c.ref_s, nominal.ref_s):
        if was is None:
            assert got is None
            continue
        n = int(np.floor(was * R + 1e-9))
        shown, next_shown = log.present_time(n), log.present_time(n + 1)
        assert shown <= got <= next_shown  # inside the interval the screen held frame n
        assert got - was == pytest.approx(OFFSET + LATENCY, abs=0.005)
    assert c.gaps[0].after_ref_s == pytest.approx(log.to_present(nominal.gaps[0].after_ref_s), abs=1e-12)
    assert c.duplicates[0].ref_s == pytest.approx(log.to_present(nominal.duplicates[0].ref_s), abs=1e-12)
    assert c.preroll_s == pytest.approx(1.5 - (c.first_ref_s - nominal.first_ref_s), abs=1e-12)
    assert c.audio.chirps[0].ref_s == pytest.approx(log.to_present(nominal.audio.chirps[0].ref_s), abs=1e-12)
    assert c.audio.chirps[0].video_pts_s == nominal.audio.chirps[0].video_pts_s  # no fired stimuli: kept
    assert not c.findings


def test_pre_roll_follows_the_present_time_of_the_first_frame() -> None:
    """Pre-roll = press - reference time of the first frame: 30 ms + 8 ms of display lateness shorten it."""
    press = 12.0
    c = clip()
    nominal_preroll = press - c.first_ref_s
    to_present_times(c, bench_log(range(500, 900)))
    assert press - c.first_ref_s == pytest.approx(nominal_preroll - OFFSET - LATENCY - _jitter(600), abs=1e-9)


def test_frames_before_and_after_the_log_are_extrapolated_at_the_display_pace() -> None:
    """A log covering only the middle of the clip: its ends run at slope 1 from the nearest logged frame."""
    log = bench_log(range(640, 700))
    c = clip()
    nominal = copy.deepcopy(c)
    to_present_times(c, log)
    first_logged, last_logged = log.present_time(640), log.present_time(699)
    assert c.first_ref_s == pytest.approx(first_logged - (640 / R - nominal.first_ref_s), abs=1e-9)
    assert c.last_ref_s == pytest.approx(last_logged + (nominal.last_ref_s - 699 / R), abs=1e-9)
    steps = np.diff([r for r in c.ref_s if r is not None])
    assert steps.min() > 0  # still strictly rising through the log's ends


def test_frames_the_display_dropped_are_reported_on_the_clip() -> None:
    """Display frames skipped while the clip was filmed become a finding that clears the camera."""
    c = clip()
    to_present_times(c, bench_log(range(500, 900), dropped=(650, 651, 790)))
    (finding,) = c.findings
    assert "dropped 2 display frame(s)" in finding and "650, 651" in finding and "not a fault of the camera" in finding
    other = clip(first=20.0)  # filmed elsewhere: the drops are not its concern
    to_present_times(other, bench_log(range(1100, 1400), dropped=(650, 651)))
    assert other.findings == []


def test_fired_stimuli_move_the_video_instant_to_when_the_speaker_fired() -> None:
    """The A/V offset is measured against the instant the controller fired the speaker: firing 5 ms after
    the flash strip lit moves the video instant 5 ms on; an event the controller never fired is left out."""
    log = bench_log(range(500, 900))
    c = clip()
    nominal = copy.deepcopy(c)
    e0 = nominal.audio.chirps[0].ref_s
    fired = fired_by_frame([(e0, log.to_present(e0) + 0.005)], R)
    to_present_times(c, log, fired)
    (kept,) = c.audio.chirps
    on_t = fired[round(e0 * R)]
    assert kept.video_pts_s == pytest.approx(ClipMapping(c).pts_at(on_t), abs=1e-12)
    # 5 ms on, give or take how unevenly the neighbouring frames were presented (the log's jitter)
    assert kept.video_pts_s == pytest.approx(nominal.audio.chirps[0].video_pts_s + 0.005, abs=5e-4)
    assert kept.audio_pts_s == nominal.audio.chirps[0].audio_pts_s
    assert (c.chirps_expected, c.chirps_found) == (1, 1)
    assert any("1 stimulus instant(s) in this clip were not fired" in f for f in c.findings)
    # the A/V check's figure: audio - video - air; 12 ms as recorded, 7 ms once the late speaker is accounted for
    assert (kept.audio_pts_s - kept.video_pts_s) * 1000 == pytest.approx(7.0, abs=0.5)


def test_fired_stimuli_on_a_nominal_display_still_correct_the_video_instant() -> None:
    """A bench without the harness's display (a player shows the scene): reference time stays nominal,
    the controller's fire times still count."""
    c = clip()
    e0 = c.audio.chirps[0].ref_s
    at_present_times([c], None, [(e0, e0 + 0.002)], R)
    assert c.first_ref_s == 10.0
    assert c.audio.chirps[0].video_pts_s == pytest.approx(e0 - c.ref_s[0] + 0.002, abs=1e-9)


def test_a_clip_without_time_code_is_left_alone() -> None:
    """A clip the analysis could not place is left as it is; the others are mapped; with an empty
    list of fired stimuli nothing was fired, so no stimulus is measured."""
    empty = ClipAnalysis(path="empty.mp4", error="no frame carries a readable time code")
    good = clip()
    at_present_times([empty, good], bench_log(range(500, 900)), [], R)
    assert empty.first_ref_s is None and empty.findings == []
    assert good.first_ref_s > 10.0
    assert good.audio.chirps == [] and good.chirps_expected == 0


def test_ideal_log_with_latency_is_a_shift() -> None:
    """A display without a log but with a calibrated latency: every instant moves by that latency."""
    c = clip()
    to_present_times(c, PresentLog(R, latency_s=0.01))
    assert c.first_ref_s == pytest.approx(10.01) and c.ref_s[0] == pytest.approx(10.0 + 0.5 / R + 0.01)


class _MeasuredLog(RecordedPresentLog):
    """The same log, as if measured at the panel (a photodiode's)."""

    measured = True


def _with_readings(first_frame: int = 600, frames: int = 300) -> ClipAnalysis:
    """A clip whose analysis kept its readings: a 30 fps camera on the 60 Hz display, each frame
    reading a clean display frame."""
    builder = TimelineBuilder(R)
    for k in range(frames):
        builder.add(k / 30, Reading("clean", first_frame + 2 * k))
    c = ClipAnalysis(path="clip.mp4", pts_s=[k / 30 for k in range(frames)], ref_s=[None] * frames)
    c.frame_period_s = 1 / 30
    set_reference_times(c, builder.fit())
    c.timeline = builder
    return c


def test_a_measured_log_fits_the_time_code_again_a_software_log_maps_the_fit() -> None:
    """Through measured present times the readings are fitted again; through a software log the
    nominal fit's times are mapped (its per-frame errors would otherwise narrow the fit onto noise)."""
    frames = range(500, 1400)
    software, measured = bench_log(frames), _MeasuredLog(R, latency_s=LATENCY)
    for n in frames:
        measured.record(n, n / R + OFFSET - 0.001, n / R + OFFSET + _jitter(n))
    mapped, refitted = _with_readings(), _with_readings()
    nominal = mapped.first_ref_s
    assert nominal is not None and mapped.timeline is not None
    to_present_times(mapped, software)
    to_present_times(refitted, measured)
    assert mapped.first_ref_s == pytest.approx(software.to_present(nominal), abs=1e-12)
    refit = refitted.timeline.fit(measured.to_present_many) if refitted.timeline is not None else None
    assert refit is not None and refitted.first_ref_s == pytest.approx(refit.first_ref_s, abs=1e-12)
    assert refitted.first_ref_s != pytest.approx(mapped.first_ref_s, abs=1e-6)
    assert refitted.grid_ref_s[-1] == pytest.approx(refit.grid_ref_s[-1], abs=1e-12)
