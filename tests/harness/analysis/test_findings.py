"""Tests for the full clip analysis on a real emulated-camera clip: burned-in clock, chirps and flashes.

Each test runs on two clips of the same recording: one with the emulated camera's capture realism off
(the sensor sees the display image itself: exact ground truth for flash frames) and one with the
profile's default ``moderate`` capture model (off-axis, blurred, noisy, auto-exposure).
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.analysis.audio import AudioAnalysis
from harness.analysis.findings import analyse_clip_fully
from harness.checks import CHECKS, CheckInput
from harness.core.clock import VirtualClock
from harness.core.paths import CAMERAS_DIR
from harness.core.timeline import Action, Timeline
from harness.emulator.camera import EmulatedCamera
from harness.emulator.camera_parts import CameraState
from harness.emulator.faults import Behaviour
from harness.plan.profile import CameraProfile
from harness.scene.compose import Scene
from harness.scene.stimulus import FLASH_S, acoustic_delay_s, event_times
from tests.harness.emulator.test_camera import press

W, H, R = 640, 360, 60.0
BOOT = 8.0
SPEAKER_M = 0.5

LEVELS = ["off", "moderate"]
_RUNS: dict[str, tuple] = {}


def camera_run(level: str, tmp_path_factory):
    """The emulated camera at 640x360 with a 3 s buffer: activated at 11.9 s, recording ~4 s, then stopped.

    Stimuli at 10.4 s (pre-roll: the profile keeps no buffer audio) and 12.87, 16.37, 18.37 s (after the press).
    Returns (camera, event truth, activation, stop, frame times, clip analysis); one run per capture level.
    """
    if level in _RUNS:
        return _RUNS[level]
    base = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    video = base.video.model_copy(update={"width": W, "height": H})
    capture = base.emulation.capture.model_copy(update={"level": level})
    emulation = base.emulation.model_copy(update={"capture": capture, "speaker_distance_m": SPEAKER_M})
    profile = base.model_copy(update={"video": video, "pre_event_buffer_s": 3.0, "emulation": emulation})
    cam = EmulatedCamera(
        profile,
        Behaviour.from_profile(profile),
        VirtualClock(),
        Scene(W, H, R),
        tmp_path_factory.mktemp(f"findings-{level}") / "DCIM",
        seed=7,
    )
    cam.set_power(True)
    cam.clock.sleep(BOOT + 3.5)
    press(cam)
    cam.clock.sleep(0.25)
    activation = press(cam)
    assert cam.state is CameraState.RECORDING
    cam.clock.sleep(4.0)
    stop = press(cam, 3.5) + 3.0
    assert cam.state is CameraState.BUFFERING and len(cam.events) == 1
    ev = cam.events[0]
    times = cam.frame_times(ev.clip_start_t, ev.stop_t)
    assert len(times) == ev.frames and len(ev.segments) == 1
    clip = analyse_clip_fully(ev.path, R, "bits")
    _RUNS[level] = (cam, ev, activation, stop, np.array(times), clip)
    return _RUNS[level]


@pytest.fixture(scope="module", params=LEVELS)
def run(request, tmp_path_factory):
    return camera_run(request.param, tmp_path_factory)


def test_clip_is_analysed_without_error(run):
    """Every frame decoded, an audio stream present and analysed."""
    _, ev, _, _, _, clip = run
    assert clip.error is None
    assert clip.frames == clip.decoded == ev.frames
    assert clip.audio_stream is True
    assert isinstance(clip.audio, AudioAnalysis) and clip.audio.error is None


def test_burned_in_clock_read_on_every_frame(run):
    """One camera_utc sample per frame, each within 5 ms of the camera's RTC at that frame's exposure."""
    cam, ev, _, _, times, clip = run
    assert [i for i, _ in clip.camera_utc] == list(range(ev.frames))
    errors = [abs(utc - cam.rtc(times[i]).timestamp()) for i, utc in clip.camera_utc]
    assert max(errors) < 0.005
    # the strip carries the camera's own clock (0.15 s fast at power-on), not the reference
    offsets = [utc - cam.clock.utc(times[i]).timestamp() for i, utc in clip.camera_utc]
    assert np.median(offsets) == pytest.approx(0.15, abs=0.005)


def test_chirps_found_after_activation_only(run):
    """All stimuli after the press are heard; the one in the (muted) pre-roll is not; the counts agree."""
    _, _, activation, _, times, clip = run
    expected = event_times(times[0] + 0.3, times[-1] - 0.3, R)
    chirps = clip.audio.chirps
    assert [c.ref_s for c in chirps] == pytest.approx(expected, abs=1e-9)
    after = [c for c in chirps if c.ref_s > activation]
    before = [c for c in chirps if c.ref_s < activation]
    assert len(after) == 3 and len(before) == 1
    assert all(c.audio_pts_s is not None and c.score > 0.9 for c in after)
    assert all(c.audio_pts_s is None for c in before)
    assert clip.chirps_expected == 4
    assert clip.chirps_found == 3


def test_chirp_offsets_match_emulated_av_offset(run):
    """Audio - video pts is the same for every chirp (0.2 ms) and equals 8 ms + 0.5 m of air within 1/120 s.

    1/120 s: the video instant comes from the time code, which places a clean frame at the middle of the
    display refresh it saw (error up to half a refresh); the audio instant itself is sub-sample accurate,
    so the mapping error is one constant for the whole clip.
    """
    cam, _, _, _, _, clip = run
    truth = cam.behaviour.av_offset_ms / 1000 + acoustic_delay_s(SPEAKER_M)
    offsets = [c.audio_pts_s - c.video_pts_s for c in clip.audio.chirps if c.audio_pts_s is not None]
    assert len(offsets) == 3
    assert max(offsets) - min(offsets) < 0.2e-3
    for o in offsets:
        assert o == pytest.approx(truth, abs=1 / 120 + 0.5e-3)


def test_brightness_peaks_at_flash_frames(run):
    """Near each stimulus the brightest frame is exposed during its flash, and flash frames beat their neighbours."""
    _, ev, _, _, times, clip = run
    levels = np.array(clip.brightness)
    assert levels.size == ev.frames
    events = [e for e in event_times(times[0] - 1.0, times[-1] + 1.0, R) if times[0] + 0.5 < e < times[-1] - 0.5]
    assert len(events) == 4
    for e in events:
        near = np.nonzero(np.abs(times - e) < 0.5)[0]
        k = near[np.argmax(levels[near])]
        assert e <= times[k] <= e + FLASH_S + 1 / 60, (e, times[k])
        # frames whose exposure (<= 1.5 refreshes, plus rolling-shutter readout) lies inside the flash
        flashed = levels[(times >= e + 0.03) & (times <= e + 0.07)]
        neighbours = levels[(np.abs(times - e) < 0.3) & ((times < e - 0.05) | (times > e + 0.15))]
        assert flashed.size >= 1 and neighbours.size >= 4
        assert flashed.min() >= neighbours.max() + 1.0, (e, flashed, neighbours)


def test_flash_lift_without_capture_model(tmp_path_factory):
    """With the display image itself, frames exposed inside a flash are >= 15 levels above frames clear of it."""
    _, _ev, _, _, times, clip = camera_run("off", tmp_path_factory)
    levels = np.array(clip.brightness)
    half_exposure = 1 / 120  # the profile's exposure_s is 1/60
    lo, hi = times - half_exposure, times + half_exposure
    inside = np.zeros(times.size, bool)
    touched = np.zeros(times.size, bool)
    for e in event_times(times[0] - 1.0, times[-1] + 1.0, R):
        inside |= (lo >= e) & (hi <= e + FLASH_S)
        touched |= (hi > e - 1e-6) & (lo < e + FLASH_S + 1e-6)
    clear = ~touched
    assert inside.sum() >= 8 and clear.sum() > 250
    baseline = np.median(levels[clear])
    assert levels[inside].min() >= baseline + 15
    assert np.abs(levels[clear] - baseline).max() <= 5


@pytest.mark.parametrize(
    "level",
    [
        "off",
        "moderate",
    ],
)
def test_av_sync_pairs_flash_and_chirp(level, tmp_path_factory):
    """The av_sync check on the healthy clip pairs all 3 post-press stimuli and measures 8 ms within 1/120 s."""
    cam, _, activation, stop, _, clip = camera_run(level, tmp_path_factory)
    timeline = Timeline(
        [Action(0.0, "power", "on"), Action(activation, "gesture", "start"), Action(stop, "gesture", "stop")]
    )
    inp = CheckInput(cam.profile, timeline, [clip], 1, reference_utc=cam.clock.utc, speaker_distance_m=SPEAKER_M)
    m = {x.name: x for x in CHECKS["av_sync"](inp)}
    assert m["av_events_paired[event 1]"].value == 3
    offset = m["av_offset_ms[event 1]"]
    assert offset.value == pytest.approx(cam.behaviour.av_offset_ms, abs=1000 / 120 + 0.5)
    assert offset.passed and m["av_offset_extreme_ms[event 1]"].passed
