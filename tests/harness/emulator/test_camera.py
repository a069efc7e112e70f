"""Tests for the emulated camera on virtual time: states, gestures, pre-event buffer and faults."""

from __future__ import annotations

import pytest

from harness.analysis.clip import analyze_clip
from harness.analysis.container import finalisation
from harness.core.clock import VirtualClock
from harness.core.paths import CAMERAS_DIR
from harness.emulator.camera import EmulatedCamera
from harness.emulator.camera_parts import CameraState
from harness.emulator.faults import Behaviour, apply_faults
from harness.plan.profile import CameraProfile, Gesture, Press
from harness.scene.compose import Scene

PERIOD = 1 / 30
HALF = PERIOD / 2
EPS = 1e-9
BOOT = 8.0


def make_camera(tmp_path, faults=(), seed=7, **profile_update):
    """The built-in emulated camera at 320x180 with a 5 s buffer (overridable), on a fresh VirtualClock."""
    base = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    video = base.video.model_copy(update={"width": 320, "height": 180})
    # capture realism is tested in tests/harness/emulator/test_capture.py; at 320x180 the code is too small
    emulation = base.emulation.model_copy(
        update={"capture": base.emulation.capture.model_copy(update={"level": "off"})}
    )
    profile = base.model_copy(
        update={"video": video, "pre_event_buffer_s": 5.0, "emulation": emulation, **profile_update}
    )
    behaviour = apply_faults(Behaviour.from_profile(profile), list(faults))
    scene = Scene(video.width, video.height, 60.0)
    return EmulatedCamera(profile, behaviour, VirtualClock(), scene, tmp_path / "DCIM", seed=seed)


def press(cam, seconds=0.15):
    """Press the event button for ``seconds``; returns the down-edge time."""
    t = cam.clock.now()
    cam.button("event", True)
    cam.clock.sleep(seconds)
    cam.button("event", False)
    return t


def double_press(cam):
    """The start gesture (2 x 0.15 s, 0.25 s apart); returns the activation time (second down edge)."""
    press(cam)
    cam.clock.sleep(0.25)
    return press(cam)


def stop(cam, hold=3.5):
    """The stop gesture as the rig makes it (hold 3 s plus margin); returns when the hold reached 3 s."""
    return press(cam, hold) + 3.0


def booted(cam):
    cam.set_power(True)
    cam.clock.sleep(BOOT)
    assert cam.state is CameraState.BUFFERING
    return cam


def record(cam, idle_s, record_s=2.0):
    """Wait ``idle_s`` buffering, start, record ``record_s``, stop; returns (activation, event)."""
    cam.clock.sleep(idle_s)
    activation = double_press(cam)
    assert cam.state is CameraState.RECORDING
    cam.clock.sleep(record_s)
    stop(cam)
    assert cam.state is CameraState.BUFFERING
    return activation, cam.events[-1]


def assert_frames_consistent(ev):
    """Frame count, first/last frame and stop agree with a 30 fps grid."""
    assert ev.path is not None and ev.path.exists()
    assert ev.first_frame_t >= ev.clip_start_t - EPS
    assert ev.last_frame_t <= ev.stop_t + EPS < ev.last_frame_t + PERIOD
    span = round((ev.last_frame_t - ev.first_frame_t) / PERIOD) + 1
    assert ev.frames == span - len(ev.dropped)


# --------------------------------------------------------------------------- states and gestures


def test_power_on_boots_to_buffering_after_boot_time(tmp_path):
    """OFF -> BOOTING at power-on -> BUFFERING exactly boot_s later."""
    cam = make_camera(tmp_path)
    assert cam.state is CameraState.OFF
    cam.set_power(True)
    assert cam.state is CameraState.BOOTING
    cam.clock.sleep(BOOT - 0.01)
    assert cam.state is CameraState.BOOTING
    cam.clock.sleep(0.01)
    assert cam.state is CameraState.BUFFERING
    assert cam.log == [(0.0, "state booting"), (pytest.approx(BOOT), "state buffering")]


def test_power_cycle_during_boot_restarts_boot(tmp_path):
    """Power off while booting cancels the boot; the next power-on boots from scratch."""
    cam = make_camera(tmp_path)
    cam.set_power(True)
    cam.clock.sleep(4.0)
    cam.set_power(False)
    assert cam.state is CameraState.OFF
    cam.clock.sleep(1.0)
    cam.set_power(True)
    cam.clock.sleep(BOOT - 0.1)  # t = 12.9: the first boot would have finished at 8
    assert cam.state is CameraState.BOOTING
    cam.clock.sleep(0.1)
    assert cam.state is CameraState.BUFFERING


def test_buttons_ignored_while_booting(tmp_path):
    """A double press during boot does nothing, nor does it count towards a press straddling boot end."""
    cam = make_camera(tmp_path)
    cam.set_power(True)
    cam.clock.sleep(6.0)
    double_press(cam)  # 6.0 .. 6.55, booting
    cam.clock.sleep(BOOT - 0.25 - cam.clock.now())
    press(cam)  # down at 7.75, still booting
    cam.clock.sleep(0.1)  # 8.0: booted
    assert cam.state is CameraState.BUFFERING
    press(cam)  # down at 8.0, 0.25 s after the ignored press: inside the double-press window
    cam.clock.sleep(2.0)
    assert cam.state is CameraState.BUFFERING
    assert not any("gesture" in what for _, what in cam.log)


def test_double_press_starts_recording(tmp_path):
    """The start gesture while buffering starts recording at the second press."""
    cam = booted(make_camera(tmp_path))
    cam.clock.sleep(3.0)
    activation = double_press(cam)
    assert cam.state is CameraState.RECORDING
    assert (activation, "gesture start") in cam.log


@pytest.mark.parametrize("gap_s", [None, 1.0], ids=["single-press", "presses-too-far-apart"])
def test_single_press_does_not_start(tmp_path, gap_s):
    """One press, or two presses farther apart than the gesture window, leave the camera buffering."""
    cam = booted(make_camera(tmp_path))
    press(cam)
    if gap_s is not None:
        cam.clock.sleep(gap_s)
        press(cam)
    cam.clock.sleep(5.0)
    assert cam.state is CameraState.BUFFERING
    assert cam.events == []


def test_hold_stops_only_after_three_seconds(tmp_path):
    """A 1 s hold does not stop a recording; a 3 s hold stops it exactly when the hold reaches 3 s."""
    cam = booted(make_camera(tmp_path))
    cam.clock.sleep(6.0)
    double_press(cam)
    press(cam, 1.0)
    cam.clock.sleep(3.0)
    assert cam.state is CameraState.RECORDING and cam.events == []
    down = cam.clock.now()
    cam.button("event", True)
    cam.clock.sleep(2.99)
    assert cam.state is CameraState.RECORDING
    cam.clock.sleep(0.01)
    assert cam.state is CameraState.BUFFERING
    cam.button("event", False)
    assert len(cam.events) == 1
    assert cam.events[0].stop_t == pytest.approx(down + 3.0)


# --------------------------------------------------------------------------- buffer and clip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_full_buffer_clip_starts_buffer_before_activation(tmp_path, seed):
    """With a full buffer the first frame is within half a frame of activation - 5 s; the clip agrees."""
    cam = booted(make_camera(tmp_path, seed=seed))
    activation, ev = record(cam, idle_s=10.0)
    assert ev.activation_t == pytest.approx(activation)
    assert abs(ev.first_frame_t - (activation - 5.0)) <= HALF + EPS
    assert ev.dropped == []
    assert_frames_consistent(ev)
    a = analyze_clip(ev.path, refresh_hz=60.0, press_at=activation)
    assert a.error is None
    assert (a.frames, a.decoded, a.gaps, a.duplicates) == (ev.frames, ev.frames, [], [])
    assert a.first_ref_s == pytest.approx(ev.first_frame_t, abs=1 / 60)
    assert a.preroll_s == pytest.approx(activation - ev.first_frame_t, abs=1 / 60)


def test_sensor_phase_is_seeded(tmp_path):
    """The random frame phase is reproducible for a seed and differs between seeds."""
    firsts = []
    for i, seed in enumerate([5, 5, 6]):
        cam = booted(make_camera(tmp_path / str(i), seed=seed))
        firsts.append(cam.frame_times(BOOT, BOOT + 1.0)[0])
    assert firsts[0] == firsts[1] != firsts[2]
    assert all(BOOT <= t < BOOT + PERIOD for t in firsts)


def test_early_activation_clip_starts_at_buffering_start(tmp_path):
    """Activated 2 s after boot (buffer 5 s), the clip starts with the first frame after buffering began."""
    cam = booted(make_camera(tmp_path))
    activation, ev = record(cam, idle_s=1.6)
    assert activation == pytest.approx(BOOT + 2.0)
    assert ev.clip_start_t == pytest.approx(BOOT)
    assert BOOT <= ev.first_frame_t < BOOT + PERIOD
    assert_frames_consistent(ev)


def test_clip_file_name_and_no_partial_left(tmp_path):
    """The clip is named serial_camera-clock-at-first-frame_event_segment and no .partial file remains."""
    cam = booted(make_camera(tmp_path))
    _, ev = record(cam, idle_s=6.0)
    _, ev2 = record(cam, idle_s=1.0)
    start = cam.rtc(ev.first_frame_t)
    assert ev.path.name == f"EMU-0001_{start:%Y%m%d_%H%M%S}_0001_01.mp4"
    assert ev2.path.name.endswith("_0002_01.mp4")
    assert sorted(p.name for p in ev.path.parent.iterdir()) == sorted([ev.path.name, ev2.path.name])


@pytest.mark.parametrize(
    "after_stop, faults, refills",
    [
        ("refill", (), True),
        ("refill", ("no-refill",), False),
        ("continuous", (), False),
        ("continuous", ("no-refill",), True),
    ],
)
def test_buffer_after_stop(tmp_path, after_stop, faults, refills):
    """'refill' restarts the buffer at the stop; 'continuous' (or the no-refill fault) keeps old footage."""
    cam = booted(make_camera(tmp_path, faults=faults, buffer_after_stop=after_stop))
    _, first = record(cam, idle_s=6.0)
    activation, second = record(cam, idle_s=2.0)
    if refills:
        assert first.stop_t <= second.first_frame_t < first.stop_t + PERIOD
    else:
        assert abs(second.first_frame_t - (activation - 5.0)) <= HALF + EPS
        assert second.first_frame_t < first.stop_t - 2.0  # repeats footage of the first clip
    assert_frames_consistent(second)


# --------------------------------------------------------------------------- faults and power


def test_drop_at_join_drops_ten_frames_after_activation(tmp_path):
    """drop-at-join loses exactly the 10 grid frames from activation on; the analysis sees a gap of 10."""
    cam = booted(make_camera(tmp_path, faults=("drop-at-join",)))
    activation, ev = record(cam, idle_s=6.0)
    assert len(ev.dropped) == 10
    assert 0 <= ev.dropped[0] - activation < PERIOD
    assert [b - a for a, b in zip(ev.dropped, ev.dropped[1:])] == pytest.approx([PERIOD] * 9)
    assert_frames_consistent(ev)
    a = analyze_clip(ev.path, refresh_hz=60.0)
    assert a.error is None and a.frames == ev.frames
    assert [g.missing_frames for g in a.gaps] == [10]
    assert a.gaps[0].after_ref_s == pytest.approx(ev.dropped[0] - PERIOD, abs=1 / 60)


def test_short_buffer_keeps_five_seconds_less(tmp_path):
    """short-buffer with an 8 s buffer keeps 3 s: first frame within half a frame of activation - 3 s."""
    cam = booted(make_camera(tmp_path, faults=("short-buffer",), pre_event_buffer_s=8.0))
    activation, ev = record(cam, idle_s=10.0, record_s=1.0)
    assert abs(ev.first_frame_t - (activation - 3.0)) <= HALF + EPS
    a = analyze_clip(ev.path, refresh_hz=60.0, press_at=activation)
    assert a.preroll_s == pytest.approx(3.0, abs=HALF + 1 / 60)


def test_healthy_eight_second_buffer(tmp_path):
    """Without the fault the same profile keeps the full 8 s (the short-buffer test's control)."""
    cam = booted(make_camera(tmp_path, pre_event_buffer_s=8.0))
    activation, ev = record(cam, idle_s=10.0, record_s=1.0)
    assert abs(ev.first_frame_t - (activation - 8.0)) <= HALF + EPS


def test_late_stop_ends_recording_later(tmp_path):
    """late-stop keeps recording 2.5 s past the stop gesture."""
    cam = booted(make_camera(tmp_path, faults=("late-stop",)))
    cam.clock.sleep(6.0)
    double_press(cam)
    cam.clock.sleep(1.0)
    stop_at = press(cam, 3.2) + 3.0
    assert cam.state is CameraState.RECORDING
    cam.clock.sleep(stop_at + 2.5 - cam.clock.now())
    assert cam.state is CameraState.BUFFERING
    assert cam.events[0].stop_t == pytest.approx(stop_at + 2.5)


def test_power_off_while_recording_keeps_the_durable_fragments(tmp_path):
    """Cutting power mid-recording leaves the clip as far as the camera had made it durable: the
    fragments (power.fragment_s) finished before the cut, readable but not finalised.

    The supply calls set_power from its own thread, so the file is written on the clock's thread."""
    cam = booted(make_camera(tmp_path))
    cam.clock.sleep(6.0)
    activation = double_press(cam)
    cam.clock.sleep(1.5)
    off_at = cam.clock.now()
    cam.set_power(False)
    assert cam.state is CameraState.OFF
    assert not list(cam.storage.iterdir())
    cam.clock.sleep(0.1)
    assert len(cam.events) == 1
    ev = cam.events[0]
    assert ev.stop_t == off_at and ev.cut_t == off_at and ev.activation_t == activation
    fragment = cam.profile.power.fragment_s
    assert off_at - fragment - PERIOD <= ev.last_frame_t < off_at
    assert [p.name for p in ev.path.parent.iterdir()] == [ev.path.name]
    assert not finalisation(ev.path).finalised and finalisation(ev.path).layout == "fragmented"
    a = analyze_clip(ev.path, refresh_hz=60.0)
    assert a.error is None and a.frames == ev.frames and a.gaps == []
    assert a.last_ref_s == pytest.approx(ev.last_frame_t, abs=1 / 60)


def test_stale_stop_timer_does_not_end_next_recording(tmp_path):
    """A stop gesture pending post-record, then a power cycle: the next recording must not be stopped by it."""
    cam = booted(make_camera(tmp_path, post_record_s=20.0))
    cam.clock.sleep(6.0)
    double_press(cam)
    stop(cam)  # finalise scheduled 20 s after the hold
    cam.set_power(False)  # finalises now
    cam.set_power(True)
    cam.clock.sleep(BOOT + 0.5)
    double_press(cam)  # second recording, no stop gesture ever given
    cam.clock.sleep(20.0)
    assert cam.state is CameraState.RECORDING, f"second recording stopped at {cam.events[-1].stop_t:.2f}"


# --------------------------------------------------------------------------- power button and stop confirmation

POWER_ON = Gesture(button="power", hold_s=2.0)
POWER_OFF = Gesture(button="power", hold_s=3.0)
CONFIRMED_STOP = Gesture(sequence=(Press(button="event"), Press(button="event", at_s=1.5)), confirm_within_s=5.0)


def button_camera(tmp_path, faults=()):
    """The built-in camera with a power button (hold 2 s on, 3 s off) and a stop to confirm."""
    base = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    gestures = {**base.gestures, "power_on": POWER_ON, "power_off": POWER_OFF, "stop": CONFIRMED_STOP}
    return make_camera(tmp_path, faults, switch_on="button", gestures=gestures)


def hold_power(cam, seconds):
    """Hold the power button; returns the down-edge time."""
    t = cam.clock.now()
    cam.button("power", True)
    cam.clock.sleep(seconds)
    cam.button("power", False)
    return t


def test_button_camera_stays_off_on_a_live_supply_until_its_power_gesture(tmp_path):
    cam = button_camera(tmp_path)
    cam.button("power", True)  # no supply: the button does nothing
    cam.clock.sleep(3.0)
    cam.button("power", False)
    cam.set_power(True)
    cam.clock.sleep(20.0)
    assert cam.state is CameraState.OFF and cam.power.draw() == cam.profile.power.draw_a.off
    pressed = hold_power(cam, 2.5)
    assert cam.state is CameraState.BOOTING
    cam.clock.sleep(BOOT - 0.5)
    assert cam.state is CameraState.BUFFERING
    assert ("state buffering" in [m for _, m in cam.log]) and cam.log[-1][0] == pytest.approx(pressed + 2.0 + BOOT)


def test_power_off_gesture_shuts_down_while_buffering_not_while_recording(tmp_path):
    cam = button_camera(tmp_path)
    cam.set_power(True)
    hold_power(cam, 2.5)
    cam.clock.sleep(BOOT + 2.0)
    double_press(cam)
    assert cam.state is CameraState.RECORDING
    hold_power(cam, 3.5)  # power_off does not apply while recording
    assert cam.state is CameraState.RECORDING
    press(cam)
    cam.clock.sleep(1.35)
    press(cam)  # confirms the stop
    assert cam.state is CameraState.BUFFERING and len(cam.events) == 1
    cam.clock.sleep(4.0)
    pressed = hold_power(cam, 3.5)
    assert cam.state is CameraState.OFF
    (shutdown,) = cam.power.shutdowns
    assert shutdown.kind == "graceful" and shutdown.t == pytest.approx(pressed + 3.0)
    hold_power(cam, 2.5)  # and the power button switches it on again
    assert cam.state is CameraState.BOOTING


def test_stop_needs_its_confirmation_within_the_window(tmp_path):
    """The first press only arms the stop; without the confirming press in 5 s it keeps recording."""
    cam = button_camera(tmp_path)
    cam.set_power(True)
    hold_power(cam, 2.5)
    cam.clock.sleep(BOOT + 2.0)
    double_press(cam)
    press(cam)
    cam.clock.sleep(6.0)  # no confirmation: the arm lapses
    assert cam.state is CameraState.RECORDING
    press(cam)
    cam.clock.sleep(1.0)
    confirm = press(cam)
    assert cam.state is CameraState.BUFFERING and cam.events[-1].stop_t == pytest.approx(confirm)


def test_stop_unconfirmed_fault_stops_at_the_first_press(tmp_path):
    cam = button_camera(tmp_path, faults=("stop-unconfirmed",))
    cam.set_power(True)
    hold_power(cam, 2.5)
    cam.clock.sleep(BOOT + 2.0)
    double_press(cam)
    cam.clock.sleep(1.0)
    first = press(cam)
    assert cam.state is CameraState.BUFFERING and cam.events[-1].stop_t == pytest.approx(first)
    cam.clock.sleep(1.35)
    press(cam)  # the confirmation belongs to the stop: it does not start a new recording
    cam.clock.sleep(1.0)
    assert cam.state is CameraState.BUFFERING and len(cam.events) == 1


def test_slow_boot_fault_buffers_six_seconds_late(tmp_path):
    cam = make_camera(tmp_path, faults=("slow-boot",))
    cam.set_power(True)
    cam.clock.sleep(BOOT + 5.9)
    assert cam.state is CameraState.BOOTING
    cam.clock.sleep(0.1)
    assert cam.state is CameraState.BUFFERING
