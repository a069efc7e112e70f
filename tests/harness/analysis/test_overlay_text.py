"""Tests for reading the camera clock and serial from a burned-in text overlay (OCR with Tesseract).

Real encoded clips from the emulated camera printing its own clock 7 s ahead as text, with no other
clock in the file (no bit strip, no container time, no JSON): the clock check must see the 7 s from
the overlay alone, to a frame or two.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import numpy as np
import pytest

from harness.analysis.bounded import analyse_clip_bounded
from harness.analysis.clip import analyze_clip
from harness.analysis.findings import analyse_clip_fully
from harness.analysis.overlay_text import OverlayFormat, OverlayTextProbe, burned_in_spec
from harness.checks import CHECKS, CheckInput
from harness.checks.identity import canonical_serial
from harness.core.paths import CAMERAS_DIR
from harness.core.timeline import Action, Timeline
from harness.emulator.camera import FOREIGN_SERIAL
from harness.emulator.overlay import TextOverlayDrawer
from harness.plan.profile import CameraProfile, ClockSpec, TextOverlay
from tests.harness.emulator.test_overlay import overlay_camera, record

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract (tesseract-ocr) not installed")

OFFSET_S = 7.0
FRAME = 1 / 30


def offset_measurement(cam, ev, clip):
    """The clock check's burned-in offset for the clip, judged against the profile's limit."""
    timeline = Timeline(
        [Action(0.0, "power", "on"), Action(ev.activation_t, "gesture", "start"), Action(ev.stop_t, "gesture", "stop")]
    )
    inp = CheckInput(cam.profile, timeline, [clip], 1, reference_utc=cam.clock.utc)
    found = {m.name: m for m in CHECKS["clock"](inp)}
    return found["clock_offset_s[event 1][burned-in]"], found


def truth_offset(cam, times) -> float:
    return (cam.rtc(times[0]) - cam.clock.utc(times[0])).total_seconds()


class GarbledOverlay(TextOverlayDrawer):
    """The camera's overlay, with noise instead of text in the box while ``garbled(camera time)`` holds."""

    def __init__(self, spec, garbled) -> None:
        super().__init__(spec)
        self.garbled = garbled
        self.rng = np.random.default_rng(3)

    def draw(self, gray, when, serial=None):
        out = super().draw(gray, when, serial)
        if self.garbled(when):
            assert self._cache is not None
            _, box, (x, y) = self._cache
            out[y : y + box.shape[0], x : x + box.shape[1]] = self.rng.integers(0, 256, box.shape, dtype=np.uint8)
        return out


@pytest.mark.parametrize(
    "size, spec",
    [
        ((640, 360), TextOverlay(format="%Y-%m-%d %H:%M:%S", corner="top-left", device_id=True)),
        ((1920, 1080), TextOverlay(format="%d.%m.%Y %H:%M:%S", corner="bottom-right", device_id=True)),
    ],
    ids=["640x360", "1920x1080"],
)
def test_clock_7s_ahead_read_from_the_overlay_alone(tmp_path, size, spec):
    """Through the bounded (child-process) analysis: offset 7 s to two frames, the check fails it, serial read."""
    large = size[0] > 1000  # at 1080p (1.5 Mbit/s: coarse compression) without capture realism, to stay fast
    cam = overlay_camera(tmp_path, size, spec, capture="off" if large else "moderate")
    ev, times = record(cam, seconds=0.5 if large else 1.5)
    clip = analyse_clip_bounded(ev.path, 60.0, burned_in_spec(cam.profile.clock))
    assert clip.error is None, clip.error
    assert clip.creation_time is None or not cam.profile.clock.container_time
    offset, found = offset_measurement(cam, ev, clip)
    assert offset.value == pytest.approx(OFFSET_S, abs=1.0)
    assert offset.value == pytest.approx(truth_offset(cam, times), abs=2 * FRAME)
    assert not offset.passed  # 7 s is far over the 1 s limit: the check catches the clock error
    assert set(found) == {"clock_offset_s[event 1][burned-in]"}  # the overlay is the only source
    errors = [abs(utc - cam.rtc(times[i]).timestamp()) for i, utc in clip.camera_utc]
    assert max(errors) <= FRAME
    assert clip.overlay_serial == cam.serial


def text_overlay_profiles() -> list[CameraProfile]:
    """The camera profiles whose clock is printed as text (the vendor personas)."""
    profiles = [CameraProfile.load(p) for p in sorted(CAMERAS_DIR.glob("*.yaml"))]
    return [p for p in profiles if p.clock.burned_in == "text" and p.clock.overlay is not None]


@pytest.mark.parametrize("persona", text_overlay_profiles(), ids=lambda p: p.model)
def test_each_personas_overlay_read_7s_ahead(tmp_path, persona):
    """Each text-overlay profile's layout, size, frame rate, codec and serial, printed 7 s ahead: read to two frames."""
    assert persona.clock.overlay is not None
    cam = overlay_camera(
        tmp_path, persona.written_size, persona.clock.overlay, capture="off", video=persona.video, serial=persona.serial
    )
    ev, times = record(cam, seconds=0.5)
    clip = analyse_clip_fully(ev.path, 60.0, burned_in_spec(cam.profile.clock))
    offset, _ = offset_measurement(cam, ev, clip)
    assert offset.value == pytest.approx(truth_offset(cam, times), abs=2 / persona.video.fps)
    assert clip.overlay_serial == (persona.serial if persona.clock.overlay.device_id else None)


@pytest.mark.parametrize("persona", text_overlay_profiles(), ids=lambda p: p.model)
def test_each_personas_serial_read_back_exactly(tmp_path, persona):
    """A short real clip of each persona that prints its device id: the id read by OCR is the persona's
    serial (canonical form), and no other persona's; a unit printing another serial is read as that one."""
    assert persona.clock.overlay is not None
    if not persona.clock.overlay.device_id:
        pytest.skip("the persona prints no device id")
    others = {canonical_serial(p.serial) for p in text_overlay_profiles()} - {canonical_serial(persona.serial)}
    for serial in (persona.serial, FOREIGN_SERIAL):
        spec, size, video = persona.clock.overlay, persona.written_size, persona.video
        # capture realism on, seed 1: a clip where reading the id with the date once misread it
        cam = overlay_camera(tmp_path / serial, size, spec, capture="moderate", seed=1, video=video, serial=serial)
        ev, _ = record(cam, seconds=0.3)
        probe = OverlayTextProbe(persona.clock.overlay)
        clip = analyze_clip(ev.path, 60.0, probes=[probe])
        reading = probe.finish(clip.frame_period_s)
        assert reading.serial is not None
        assert canonical_serial(reading.serial) == canonical_serial(serial), reading
        assert canonical_serial(reading.serial) not in others


def test_healthy_clock_passes(tmp_path):
    """The same camera with its clock 0.3 s ahead: read to a frame, and within the limit."""
    spec = TextOverlay(format="%m/%d/%Y %H:%M:%S", corner="top-right")
    cam = overlay_camera(tmp_path, (640, 360), spec, clock_offset_s=0.3)
    ev, times = record(cam)
    clip = analyse_clip_fully(ev.path, 60.0, burned_in_spec(cam.profile.clock))
    offset, _ = offset_measurement(cam, ev, clip)
    assert offset.value == pytest.approx(truth_offset(cam, times), abs=FRAME)
    assert offset.passed
    assert clip.overlay_serial is None  # this camera prints no device id


def test_garbled_frames_are_skipped(tmp_path):
    """Noise in the box for the clip's first camera second: those crops do not parse, the others give the time."""
    spec = TextOverlay(corner="bottom-left", device_id=True)
    cam = overlay_camera(tmp_path, (640, 360), spec)
    first: list[int] = []

    def garbled(when: datetime) -> bool:
        if not first:
            first.append(int(when.timestamp()))
        return int(when.timestamp()) == first[0]

    cam.recorder.overlay = GarbledOverlay(spec, garbled)
    ev, times = record(cam, seconds=2.0)
    probe = OverlayTextProbe(spec)
    clip = analyze_clip(ev.path, 60.0, probes=[probe])
    reading = probe.finish(clip.frame_period_s)
    assert reading.lines_parsed >= 2
    assert reading.ocr_calls <= 2
    errors = [abs(utc - cam.rtc(times[i]).timestamp()) for i, utc in reading.samples]
    assert errors and max(errors) <= FRAME
    assert reading.serial == cam.serial


def test_unreadable_overlay_gives_no_clock_and_a_finding(tmp_path):
    """Noise in the box throughout: no camera time, a finding that says why, and the check reports no source."""
    spec = TextOverlay(device_id=True)
    cam = overlay_camera(tmp_path, (640, 360), spec)
    cam.recorder.overlay = GarbledOverlay(spec, lambda when: True)
    ev, _ = record(cam, seconds=0.5)
    clip = analyse_clip_fully(ev.path, 60.0, burned_in_spec(cam.profile.clock))
    assert clip.camera_utc == [] and clip.overlay_serial is None
    assert any("overlay clock" in f and "parsed" in f for f in clip.findings)
    timeline = Timeline([Action(ev.activation_t, "gesture", "start"), Action(ev.stop_t, "gesture", "stop")])
    (m,) = CHECKS["clock"](CheckInput(cam.profile, timeline, [clip], 1, reference_utc=cam.clock.utc))
    assert m.value is None and "nowhere" in m.note
    odd = analyse_clip_fully(ev.path, 60.0, TextOverlay(format="%H:%M:%S.%f"))  # a layout OCR cannot parse back
    assert odd.camera_utc == [] and any("%f cannot be read back" in f for f in odd.findings)


@pytest.mark.parametrize(
    "fmt, line, expected",
    [
        ("%Y-%m-%d %H:%M:%S", "2026-12-05 20:11:03  AXN-123", datetime(2026, 12, 5, 20, 11, 3)),
        ("%Y-%m-%d %H:%M:%S", "x 2026-12-O5 20:1l;03", datetime(2026, 12, 5, 20, 11, 3)),  # OCR slips
        ("%m/%d/%Y %H:%M:%S", "12/05/2026 20:11:03", datetime(2026, 12, 5, 20, 11, 3)),
        ("%d.%m.%Y %H:%M:%S", "05.12.2026 20 :11:03", datetime(2026, 12, 5, 20, 11, 3)),
        ("%m/%d/%Y %I:%M:%S %p", "12/05/2026 08:11:03 PM", datetime(2026, 12, 5, 20, 11, 3)),
        ("%Y-%m-%d %H:%M:%S", "2026-13-45 20:11:03", None),  # no such date
        ("%Y-%m-%d %H:%M:%S", "#@! ~~ ..", None),
    ],
)
def test_format_parses_what_the_camera_prints(fmt, line, expected):
    parsed = OverlayFormat(TextOverlay(format=fmt)).parse(line)
    if expected is None:
        assert parsed is None
    else:
        assert parsed is not None and parsed[0] == expected.replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "zone, line, utc",
    [
        ("America/Chicago", "2026-01-05 14:11:03", datetime(2026, 1, 5, 20, 11, 3)),  # CST, UTC-6
        ("America/Chicago", "2026-07-05 15:11:03", datetime(2026, 7, 5, 20, 11, 3)),  # CDT, UTC-5
        ("Europe/Berlin", "2026-07-05 22:11:03", datetime(2026, 7, 5, 20, 11, 3)),
        ("Asia/Kolkata", "2026-01-06 01:41:03", datetime(2026, 1, 5, 20, 11, 3)),
        ("UTC", "2026-01-05 20:11:03", datetime(2026, 1, 5, 20, 11, 3)),
    ],
)
def test_printed_local_time_is_read_back_as_utc(zone, line, utc):
    parsed = OverlayFormat(TextOverlay(time_zone=zone)).parse(line)
    assert parsed is not None and parsed[0] == utc.replace(tzinfo=UTC).timestamp()


def test_local_time_overlay_7s_ahead_gives_the_offset_not_the_zone(tmp_path):
    """A camera printing Chicago local time (six hours behind UTC in January) with its clock 7 s ahead:
    OCR alone gives the 7 s, not the six hours, and so does every frame's camera time."""
    spec = TextOverlay(format="%m/%d/%Y %H:%M:%S", corner="bottom-left", device_id=True, time_zone="America/Chicago")
    cam = overlay_camera(tmp_path, (640, 360), spec)
    ev, times = record(cam)
    clip = analyse_clip_fully(ev.path, 60.0, burned_in_spec(cam.profile.clock))
    assert clip.error is None, clip.error
    offset, _ = offset_measurement(cam, ev, clip)
    assert offset.value == pytest.approx(OFFSET_S, abs=2 * FRAME)
    assert offset.value == pytest.approx(truth_offset(cam, times), abs=2 * FRAME)
    errors = [abs(utc - cam.rtc(times[i]).timestamp()) for i, utc in clip.camera_utc]
    assert max(errors) <= FRAME
    # read as UTC (the zone left out), the same clip would be six hours off
    naive = TextOverlay(**{**spec.model_dump(), "time_zone": "UTC"})
    wrong = analyse_clip_fully(ev.path, 60.0, naive)
    assert wrong.camera_utc and wrong.camera_utc[0][1] - clip.camera_utc[0][1] == pytest.approx(-6 * 3600, abs=1)


def test_format_that_cannot_be_read_back_is_refused():
    with pytest.raises(ValueError, match="%f"):
        OverlayFormat(TextOverlay(format="%H:%M:%S.%f"))


def test_burned_in_spec_from_the_profile():
    """'bits' stays a reader name; 'text' hands the analysis the overlay's layout."""
    overlay = TextOverlay(corner="top-right")
    assert burned_in_spec(ClockSpec(burned_in="text", overlay=overlay)) == overlay
    assert burned_in_spec(ClockSpec(burned_in="bits")) == "bits"
    assert burned_in_spec(ClockSpec()) is None
