"""The emulated camera behaving like real models: HEVC and 29.97 fps clips the analysis reads,
a pre-event buffer in storage of its own, a maximum recording length, thinned long footage."""

from __future__ import annotations

import itertools
from fractions import Fraction

import av
import pytest

from harness.analysis.clip import analyze_clip
from harness.core.clock import VirtualClock
from harness.core.paths import CAMERAS_DIR
from harness.emulator.camera import EmulatedCamera
from harness.emulator.camera_parts import CameraState
from harness.emulator.faults import Behaviour, apply_faults
from harness.plan.profile import CameraProfile
from harness.scene.busy import BITRATE_FACTOR
from harness.scene.compose import Scene

BOOT = 8.0


def camera(tmp_path, video=None, emulation=None, faults=(), **update) -> EmulatedCamera:
    """The built-in emulated camera (double press starts, hold 3 s stops) with changed settings,
    at 640x360 without capture realism, on a fresh VirtualClock."""
    base = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    emu = {"capture": base.emulation.capture.model_copy(update={"level": "off"}), **(emulation or {})}
    profile = base.model_copy(
        update={
            "video": base.video.model_copy(update=video or {}),
            "emulation": base.emulation.model_copy(update=emu),
            **update,
        }
    )
    behaviour = apply_faults(Behaviour.from_profile(profile), list(faults))
    scene = Scene(*profile.written_size, 60.0)
    return EmulatedCamera(profile, behaviour, VirtualClock(), scene, tmp_path / "DCIM", seed=3)


def press(cam, seconds=0.15) -> float:
    t = cam.clock.now()
    cam.button("event", True)
    cam.clock.sleep(seconds)
    cam.button("event", False)
    return t


def start(cam) -> float:
    press(cam)
    cam.clock.sleep(0.25)
    return press(cam)


def stop(cam) -> float:
    return press(cam, 3.5) + 3.0


def run(cam, idle_s: float, record_s: float) -> float:
    cam.set_power(True)
    cam.clock.sleep(BOOT + idle_s)
    activation = start(cam)
    cam.clock.sleep(record_s)
    stop(cam)
    assert cam.state is CameraState.BUFFERING
    return activation


@pytest.mark.parametrize(
    ("codec", "fps", "rate"),
    [("hevc", 25.0, Fraction(25)), ("h264", 29.97, Fraction(30000, 1001)), ("hevc", 29.97, Fraction(30000, 1001))],
)
def test_analysis_reads_hevc_and_ntsc_rates_with_the_right_frame_period_and_times(tmp_path, codec, fps, rate) -> None:
    """A clip in the profile's codec and rate: the stream says so, and the analysis finds the
    camera's exact frame period (1001/30000 s at 29.97), every frame, and first/last frame times
    within half a frame of the camera's ground truth."""
    cam = camera(tmp_path, video={"codec": codec, "fps": fps}, pre_event_buffer_s=3.0)
    run(cam, idle_s=5.0, record_s=2.0)
    event = cam.events[-1]
    clip = analyze_clip(event.path, 60.0)
    period = float(1 / rate)
    assert clip.error is None
    assert clip.codec == codec
    assert clip.frames == event.frames and clip.missing_frames == 0 and clip.duplicated_frames == 0
    assert clip.frame_period_s == pytest.approx(period, abs=1e-6)
    assert clip.first_ref_s == pytest.approx(event.first_frame_t, abs=period / 2)
    assert clip.last_ref_s == pytest.approx(event.last_frame_t, abs=period / 2)
    assert cam.profile.frame_period_s == pytest.approx(period, abs=1e-12)


def test_economy_size_is_what_the_camera_films_and_writes(tmp_path) -> None:
    """A 1080p profile with an economy resolution writes clips at that size."""
    cam = camera(tmp_path, video={"width": 1920, "height": 1080}, emulation={"resolution": (640, 360)})
    run(cam, idle_s=2.0, record_s=1.0)
    clip = analyze_clip(cam.events[-1].path, 60.0)
    assert (clip.width, clip.height) == (640, 360) and clip.error is None


def test_buffer_storage_holds_less_on_the_busy_scene(tmp_path) -> None:
    """Storage for 40 s at the standard bitrate: a 20 s buffer is full on the standard scene and
    holds 40 / BITRATE_FACTOR['busy'] s on the busy scene."""
    storage_mb = 40 * 1500 / 8000  # 40 s at 1500 kbit/s
    cam = camera(tmp_path, emulation={"buffer_storage_mb": storage_mb}, pre_event_buffer_s=20.0)
    assert cam.held_buffer_s() == pytest.approx(20.0)
    cam.scene.variant = "busy"
    assert cam.held_buffer_s() == pytest.approx(40 / BITRATE_FACTOR["busy"])
    activation = run(cam, idle_s=30.0, record_s=1.0)
    event = cam.events[-1]
    assert activation - event.first_frame_t == pytest.approx(
        40 / BITRATE_FACTOR["busy"], abs=cam.profile.frame_period_s
    )


def test_buffer_default_fault_keeps_the_vendor_buffer(tmp_path) -> None:
    """The agency's buffer not applied: the camera keeps its vendor default."""
    vendor = CameraProfile.load(CAMERAS_DIR / "emulated.yaml").vendor_default.model_copy(
        update={"pre_event_buffer_s": 4.0}
    )
    cam = camera(tmp_path, vendor_default=vendor, pre_event_buffer_s=10.0, faults=("buffer-default",))
    activation = run(cam, idle_s=15.0, record_s=1.0)
    assert activation - cam.events[-1].first_frame_t == pytest.approx(4.0, abs=cam.profile.frame_period_s)


def test_maximum_recording_length_ends_the_event_and_starts_the_next_at_once(tmp_path) -> None:
    """With max_recording_s 6 the event's file holds at most 6 s; the next recording starts with
    the very next sensor frame (no frame lost, none repeated), and the stop ends the last."""
    cam = camera(tmp_path, pre_event_buffer_s=2.0, max_recording_s=6.0, segment_s=6.0)
    run(cam, idle_s=3.0, record_s=10.0)
    events = cam.events
    assert len(events) == 3  # 2 s pre-roll + 13.5 s recorded (with the stop hold) = 6 + 6 + rest
    period = cam.profile.frame_period_s
    for a, b in itertools.pairwise(events):
        assert len(a.segments) == 1
        assert a.last_frame_t - a.first_frame_t < 6.0
        assert b.first_frame_t - a.last_frame_t == pytest.approx(period, abs=1e-6)


def test_long_footage_is_thinned_between_the_edges_of_each_file(tmp_path) -> None:
    """An event longer than long_footage_s keeps every frame of each file's first and last
    long_footage_edge_s and none between; the pts keep the hole, and it has no audio."""
    cam = camera(
        tmp_path,
        pre_event_buffer_s=2.0,
        segment_s=40.0,
        emulation={"long_footage_s": 30.0, "long_footage_edge_s": 2.0},
    )
    run(cam, idle_s=3.0, record_s=60.0)
    event = cam.events[-1]
    assert len(event.segments) == 2
    fps = cam.profile.video.fps
    for segment in event.segments:
        assert segment.frames <= 2 * 2 * fps + 2
        clip = analyze_clip(segment.path, 60.0)
        with av.open(str(segment.path)) as container:
            assert not container.streams.audio
        assert clip.first_ref_s == pytest.approx(segment.first_frame_t, abs=1 / fps / 2)
        assert clip.last_ref_s == pytest.approx(segment.last_frame_t, abs=1 / fps / 2)
        assert clip.missing_frames > 0  # the hole shows


def test_one_press_that_starts_a_recording_does_not_also_stop_it(tmp_path) -> None:
    """A camera whose start and stop are the same single press (many generic cameras): the press
    that starts the recording is not also taken as its stop; the next press stops it."""
    single = CameraProfile.load(CAMERAS_DIR / "emulated.yaml").gestures["start"].model_copy(update={"presses": 1})
    cam = camera(tmp_path, gestures={"start": single, "stop": single}, pre_event_buffer_s=2.0)
    cam.set_power(True)
    cam.clock.sleep(BOOT + 3.0)
    press(cam)
    assert cam.state is CameraState.RECORDING
    cam.clock.sleep(4.0)
    press(cam)
    cam.clock.sleep(0.5)
    assert cam.state is CameraState.BUFFERING and len(cam.events) == 1
