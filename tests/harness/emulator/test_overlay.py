"""Tests for the emulated camera's burned-in text overlay: its text, where it sits, and that it is in the clips."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest

from harness.analysis.clip import analyze_clip
from harness.core.clock import VirtualClock
from harness.core.paths import CAMERAS_DIR
from harness.emulator.camera import EmulatedCamera
from harness.emulator.camera_parts import EventTruth
from harness.emulator.faults import Behaviour
from harness.emulator.overlay import BOX_LEVEL, TEXT_LEVEL, TextOverlayDrawer, overlay_text
from harness.plan.profile import CameraProfile, TextOverlay, VideoSpec
from harness.scene.compose import Scene
from harness.scene.timecode.layout import CodeLayout
from tests.harness.emulator.test_camera import double_press, press

CORNERS = ["top-left", "top-right", "bottom-left", "bottom-right"]


def overlay_camera(
    folder: Path,
    size: tuple[int, int],
    overlay: TextOverlay,
    clock_offset_s: float = 7.0,
    capture: str = "moderate",
    seed: int = 7,
    video: VideoSpec | None = None,
    serial: str | None = None,
) -> EmulatedCamera:
    """The emulated camera printing its clock as text (``clock_offset_s`` ahead), with no machine-readable time.

    No bit strip, no container time, no JSON start time: the overlay is the only clock the clips carry.
    ``video`` (frame rate, codec, bitrate) and ``serial`` replace the emulated camera's, e.g. a persona's.
    """
    base = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    width, height = size
    video = (video or base.video).model_copy(update={"width": width, "height": height})
    clock = base.clock.model_copy(
        update={"burned_in": "text", "overlay": overlay, "container_time": False, "metadata_key": None}
    )
    emulation = base.emulation.model_copy(
        update={
            "clock_offset_s": clock_offset_s,
            "capture": base.emulation.capture.model_copy(update={"level": capture}),
        }
    )
    profile = base.model_copy(
        update={
            "video": video,
            "pre_event_buffer_s": 1.0,
            "clock": clock,
            "emulation": emulation,
            "event_marker_key": None,
            "serial": serial or base.serial,
        }
    )
    return EmulatedCamera(
        profile, Behaviour.from_profile(profile), VirtualClock(), Scene(width, height, 60.0), folder / "DCIM", seed=seed
    )


def record(cam: EmulatedCamera, seconds: float = 1.5) -> tuple[EventTruth, np.ndarray]:
    """Boot, start, record ``seconds``, stop (the 3 s hold adds to the clip); the event and its frame times."""
    cam.set_power(True)
    cam.clock.sleep(cam.profile.boot_s + 1.2)
    double_press(cam)
    cam.clock.sleep(seconds)
    press(cam, 3.1)
    ev = cam.events[-1]
    assert ev.stop_t is not None
    return ev, np.array(cam.frame_times(ev.clip_start_t, ev.stop_t))


def test_text_is_whole_seconds_then_serial():
    """Cameras truncate to the second; the serial follows the time when the camera prints it."""
    when = datetime(2026, 12, 5, 20, 11, 3, 999_000, tzinfo=UTC)
    assert overlay_text(TextOverlay(), when, "AXN-123") == "2026-12-05 20:11:03"
    spec = TextOverlay(format="%m/%d/%Y %H:%M:%S", device_id=True)
    assert overlay_text(spec, when, "AXN-123") == "12/05/2026 20:11:03  AXN-123"


def test_text_is_local_time_in_the_overlays_zone():
    """A camera set to an agency's zone prints its local time, summer time included."""
    winter = datetime(2026, 1, 5, 20, 11, 3, tzinfo=UTC)
    summer = datetime(2026, 7, 5, 20, 11, 3, tzinfo=UTC)
    spec = TextOverlay(time_zone="America/Chicago")
    assert overlay_text(spec, winter, None) == "2026-01-05 14:11:03"  # UTC-6
    assert overlay_text(spec, summer, None) == "2026-07-05 15:11:03"  # UTC-5
    assert overlay_text(TextOverlay(time_zone="Asia/Kolkata"), winter, None) == "2026-01-06 01:41:03"


def test_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        TextOverlay(time_zone="Mars/Olympus")


@pytest.mark.parametrize("size", [(640, 360), (1920, 1080)])
@pytest.mark.parametrize("corner", CORNERS)
def test_overlay_stays_in_its_corner_clear_of_the_time_code(size, corner):
    """The box is drawn in its corner, as tall as asked, and never reaches the display's code zone."""
    width, height = size
    spec = TextOverlay(format="%d.%m.%Y %H:%M:%S", corner=corner, device_id=True)
    frame = np.full((height, width), 128, np.uint8)
    out = TextOverlayDrawer(spec).draw(frame, datetime(2026, 12, 5, 20, 11, 3, tzinfo=UTC), "AXN-123")
    rows, cols = np.nonzero(out != frame)
    assert rows.size
    top = corner.startswith("top")
    left = corner.endswith("left")
    assert (rows.max() < height / 2) if top else (rows.min() > height / 2)
    assert (cols.max() < width * 0.8) if left else (cols.min() > width * 0.2)
    layout = CodeLayout()
    assert rows.max() < layout.quiet_y0 * height or rows.min() > layout.quiet_y1 * height
    bright = np.nonzero(out == TEXT_LEVEL)[0]
    assert bright.max() - bright.min() + 1 == pytest.approx(spec.height_frac * height, rel=0.35)
    assert np.mean(out[rows, cols] == BOX_LEVEL) > 0.4  # white on a dark box


def test_overlay_sized_from_the_image_not_the_profile():
    """A clip written smaller than the camera's own size still gets a box of the same share of the frame."""
    drawer = TextOverlayDrawer(TextOverlay())
    when = datetime(2026, 12, 5, 20, 11, 3, tzinfo=UTC)
    small = drawer.draw(np.zeros((360, 640), np.uint8), when)
    large = drawer.draw(np.zeros((1080, 1920), np.uint8), when)
    assert np.count_nonzero(large) / large.size == pytest.approx(np.count_nonzero(small) / small.size, rel=0.25)


def test_clip_carries_the_cameras_own_clock_as_text(tmp_path):
    """Each encoded frame shows the camera clock (7 s ahead) at its exposure; the time code still decodes."""
    spec = TextOverlay(corner="top-right", device_id=True)
    cam = overlay_camera(tmp_path, (640, 360), spec)
    ev, times = record(cam)
    drawer = TextOverlayDrawer(spec)
    with av.open(str(ev.path)) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert len(frames) == len(times)
    blank = np.zeros_like(frames[0])
    for k in (0, len(frames) // 2, len(frames) - 1):
        shown = cam.rtc(times[k])
        assert (shown - cam.clock.utc(times[k])).total_seconds() == pytest.approx(7.0, abs=1e-3)
        expected = drawer.draw(blank, shown, cam.serial)
        box = expected > 0
        agree = (frames[k][box] > 128) == (expected[box] > 128)  # white text where it is drawn, dark box elsewhere
        assert agree.mean() > 0.95
    clip = analyze_clip(ev.path, 60.0)
    assert clip.error is None and clip.decoded == len(times)
    assert "camera_start_utc" not in (clip.tags.get("comment") or "")
