"""The OpenGL presenter on a real X server (Xvfb, conftest.py) with Mesa's software rasteriser:
the scene reaches the screen, every swap is logged in order, a stalled loop is a missed refresh,
and a presenter that cannot open falls back to the OpenCV window with the reason."""

from __future__ import annotations

import ctypes.util
import math
import time

import cv2
import mss
import numpy as np
import pytest

from harness.core.clock import RealClock
from harness.devices.display import Monitor, OpenCVDisplay, find_monitor
from harness.devices.display_gl import MISSED_FACTOR, GLDisplay, open_screen_display
from harness.scene.timecode import TimecodeDecoder

REFRESH = 60.0


@pytest.fixture
def clock():
    c = RealClock()
    yield c
    c.close()


def _decoded(width: int, height: int, timeout_s: float) -> list[int]:
    """Frame numbers read off the screen until a few differ (or the timeout)."""
    decoder = TimecodeDecoder(width, height)
    seen: list[int] = []
    deadline = time.monotonic() + timeout_s
    with mss.MSS() as screen:
        while time.monotonic() < deadline and len(set(seen)) < 5:
            shot = np.asarray(screen.grab({"left": 0, "top": 0, "width": width, "height": height}))
            reading = decoder.decode(cv2.cvtColor(shot, cv2.COLOR_BGRA2GRAY))
            if reading.kind == "clean":
                seen.append(reading.value)
            time.sleep(0.01)
    return seen


def _gl(clock: RealClock) -> GLDisplay:
    if ctypes.util.find_library("GL") is None:
        pytest.skip("Mesa's libGL is not installed (Debian libgl1, libgl1-mesa-dri; .ci/run installs them)")
    display = open_screen_display(clock, find_monitor(1), REFRESH, presenter="gl")
    if not isinstance(display, GLDisplay):
        display.stop()
        pytest.fail(f"the OpenGL presenter did not open on Xvfb: {display.describe()}")
    return display


def test_gl_presenter_shows_the_scene_and_logs_every_swap_in_order(xserver, clock) -> None:
    monitor = find_monitor(1)
    display = _gl(clock)
    try:
        seen = _decoded(monitor.width, monitor.height, 10.0)
        clock.sleep(0.3)
    finally:
        display.stop()
    assert display.error is None
    assert len(set(seen)) >= 5 and seen == sorted(seen), "the screen shows the scene, moving forward"
    log = display.log
    assert len(log) > 20
    present, submit, n = np.array(log.present), np.array(log.submit), np.array(log.n)
    assert np.all(np.diff(present) > 0), "swap times only increase"
    assert np.all(submit <= present) and np.all(np.diff(n) > 0)
    assert all(log.present_time(v) is not None for v in seen), "every frame on screen is in the log"
    # Xvfb and llvmpipe ignore the swap interval: the presenter finds out and paces by the clock
    assert not display.vsync and "paced by the clock" in display.describe()
    u = display.present_uncertainty()
    assert u.presenter == "gl (paced)" and u.u_s == pytest.approx(1 / REFRESH / math.sqrt(12))
    # the frame due at each swap: no swap ahead of its frame, a paced one within a few refreshes
    lag = present - n / REFRESH
    assert lag.min() > -0.001 and np.median(lag) < 3 / REFRESH


def test_a_stalled_presenter_loop_is_a_missed_refresh(xserver, clock) -> None:
    display = _gl(clock)
    try:
        clock.sleep(0.3)
        before = len(display.missed)
        t0 = clock.now()
        display.stall(0.1)  # the presenter sleeps in its loop: six refreshes go by without a swap
        clock.sleep(0.5)
    finally:
        display.stop()
    assert display.error is None
    # the stall is the first missed refresh of at least its length after it was asked for (this
    # shared machine may add late swaps of its own around it: they are missed refreshes too)
    stalls = [(n, d) for n, d in display.missed[before:] if d >= 0.1]
    assert stalls, display.missed
    frame = stalls[0][0]
    assert frame / REFRESH < t0 + 0.4, (t0, display.missed)
    assert all(d > MISSED_FACTOR / REFRESH for _, d in display.missed)
    # the frames due during the stall were never shown: drops in the log, not the camera's
    dropped = set(display.log.dropped(t0, clock.now()))
    assert {frame - k for k in range(1, 5)} <= dropped, (frame, sorted(dropped))


def test_a_presenter_that_cannot_open_falls_back_to_the_opencv_window(xserver, clock, monkeypatch, caplog) -> None:
    monkeypatch.setattr(GLDisplay, "window_module", "harness.devices.no_such_presenter")
    display = open_screen_display(clock, find_monitor(1), REFRESH, presenter="gl")
    try:
        assert isinstance(display, OpenCVDisplay) and not isinstance(display, GLDisplay)
        assert display.fallback_reason is not None and "OpenGL presenter did not open" in display.fallback_reason
        assert "fallback: OpenGL presenter did not open" in display.describe()
        assert any("OpenCV window" in r.getMessage() for r in caplog.records)
        u = display.present_uncertainty()
        assert u.presenter == "opencv" and u.u_s > 1 / REFRESH / math.sqrt(12), "wider than the paced GL"
    finally:
        display.stop()


def test_present_uncertainty_with_the_vertical_blank_is_the_swap_jitter(clock) -> None:
    """Locked to the blank, the stated uncertainty is the swaps' scatter about the refresh grid;
    a missed refresh is not counted as scatter."""
    display = GLDisplay(clock, Monitor(0, 0, 640, 360), REFRESH)
    display.vsync = True
    rng = np.random.default_rng(3)
    t = np.arange(200) / REFRESH + rng.normal(0, 0.0005, 200)
    t[100:] += 1 / REFRESH  # one missed refresh
    for i, p in enumerate(t):
        display.log.record(i if i < 100 else i + 1, p - 0.001, p)
    u = display.present_uncertainty()
    assert u.presenter == "gl (vsync)" and 0.0003 < u.u_s < 0.0008  # 0.5 ms per stamp
