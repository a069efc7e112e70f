"""The display driver: a real OpenCV window on a real X server (Xvfb), grabbed and decoded.

The live tests start their own Xvfb (``xserver``, conftest.py, WIDTH x HEIGHT).
"""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import mss
import numpy as np
import pytest

from harness.core.clock import RealClock, VirtualClock
from harness.devices.display import (
    DisplayError,
    EmulatedDisplay,
    Monitor,
    OpenCVDisplay,
    PresentLog,
    RecordedPresentLog,
    find_monitor,
)
from harness.scene.timecode import TimecodeDecoder

WIDTH, HEIGHT, REFRESH = 640, 360, 60.0


@pytest.fixture
def clock():
    c = RealClock()
    yield c
    c.close()


def _on_screen(display: OpenCVDisplay, clock: RealClock, timeout_s: float) -> str | None:
    """Wait until the screen shows the scene; None when it does, else what was seen instead."""
    decoder = TimecodeDecoder(WIDTH, HEIGHT)
    deadline = clock.now() + timeout_s
    with mss.MSS() as screen:
        while True:
            gray = cv2.cvtColor(
                np.asarray(screen.grab({"left": 0, "top": 0, "width": WIDTH, "height": HEIGHT})), cv2.COLOR_BGRA2GRAY
            )
            reading = decoder.decode(gray)
            if reading.kind == "clean":
                return None
            if clock.now() > deadline:
                return (
                    f"{len(display.log)} frames acknowledged, error {display.error}, window process "
                    f"{display.process.poll() if display.process else 'gone'}, screen mean {gray.mean():.1f} "
                    f"std {gray.std():.1f}, last reading {reading.reason}, stderr {list(display._stderr)[-5:]}"
                )
            clock.sleep(0.02)


@contextlib.contextmanager
def _live_display(clock: RealClock) -> Iterator[OpenCVDisplay]:
    """An OpenCVDisplay on the test's X server, yielded once the scene is on screen.

    On this shared, heavily loaded CI machine a fresh window has now and then never been drawn
    (its frames acknowledged, the screen still empty). That is the X server's start-up, not what
    these tests measure: such a window is replaced once, with a warning; a second failure fails."""
    for attempt in (1, 2):
        display = OpenCVDisplay(clock, find_monitor(1), REFRESH)
        display.start()
        problem = _on_screen(display, clock, 10.0)
        if problem is None:
            try:
                yield display
            finally:
                display.stop()
            return
        display.stop()
        assert attempt == 1, f"the window never showed the scene (twice): {problem}"
        warnings.warn(f"a new window never showed the scene; started another: {problem}", stacklevel=2)


def _grab_while(display: OpenCVDisplay, clock: RealClock, seconds: float) -> list[tuple[float, float, object]]:
    """Grab the screen repeatedly; each grab is bracketed by clock readings and decoded."""
    decoder = TimecodeDecoder(WIDTH, HEIGHT)
    grabs = []
    with mss.MSS() as screen:
        region = {"left": 0, "top": 0, "width": WIDTH, "height": HEIGHT}
        end = clock.now() + seconds
        while clock.now() < end:
            g0 = clock.now()
            shot = np.asarray(screen.grab(region))
            g1 = clock.now()
            grabs.append((g0, g1, decoder.decode(cv2.cvtColor(shot, cv2.COLOR_BGRA2GRAY))))
            clock.sleep(0.004)
    return grabs


def _consistent(log: RecordedPresentLog, n: int, g0: float, g1: float) -> bool:
    """Frame n can be on a grab taken in [g0, g1] only if it was submitted before g1 and not replaced before g0."""
    i = log._index(n)
    if i is None:
        return False
    replaced = log.present[i + 1] if i + 1 < len(log) else float("inf")
    return log.submit[i] <= g1 and replaced >= g0


def test_live_window_is_decoded_from_the_screen_and_matches_the_present_log(xserver, clock) -> None:
    """The scene in a full-screen OpenCV window, grabbed from the X server, decodes frame by frame;
    every decoded frame was on screen when the present log says it was, and the log maps the decoded
    frame numbers onto those present times."""
    monitor = find_monitor(1)
    assert (monitor.width, monitor.height) == (WIDTH, HEIGHT)
    with _live_display(clock) as display:
        grabs = _grab_while(display, clock, 1.5)
        t0, t1 = grabs[0][0], clock.now()
    assert display.error is None
    readings = [r for _, _, r in grabs]
    clean = [r.value for r in readings if r.kind == "clean"]
    assert len(clean) >= 0.9 * len(readings) and len(clean) > 50
    assert clean == sorted(clean), "frames on screen only move forward"
    assert len(set(clean)) > 15, "the screen changes as the scene advances"  # 90 due; a loaded machine stalls
    # the coarse slots tie the screen to this run and to UTC (a clip of another run is recognised)
    coarse = [r.coarse for r in readings if r.coarse is not None]
    assert coarse and {c.run_id for c in coarse} == {display.run_id}
    assert all(abs(c.utc_s - clock.utc(t0).timestamp()) <= 3 for c in coarse)
    bad = [
        (r.value, g0, g1) for g0, g1, r in grabs if r.kind == "clean" and not _consistent(display.log, r.value, g0, g1)
    ]
    assert bad == []
    # reference time = present time: the log maps every decoded frame number onto the stretch of the
    # harness clock it was on screen, and that stretch contains the grab that saw it
    log = display.log
    errors = []
    for g0, g1, r in grabs:
        if r.kind != "clean":
            continue
        n = r.value
        i = log._index(n)
        handed_over = log.present[i] - log.submit[i]  # the window system may show it before it acknowledges
        shown_from, replaced = log.to_present(n / REFRESH), log.to_present((n + 1) / REFRESH)
        assert shown_from - handed_over <= g1 and replaced >= g0, (n, g0, g1, shown_from, replaced)
        errors.append(log.to_present((n + 0.5) / REFRESH) - (g0 + g1) / 2)
    mapped = log.to_present_many(np.array([(v + 0.5) / REFRESH for v in clean]))
    assert mapped == pytest.approx([log.to_present((v + 0.5) / REFRESH) for v in clean], abs=1e-12)
    stats = display.log.stats(t0, t1)
    expected = (t1 - t0) * REFRESH
    assert stats.shown + stats.dropped == pytest.approx(expected, abs=3) == stats.due
    assert stats.dropped <= 0.3 * expected, stats.describe()  # a loaded 2-core machine stalls now and then
    e_ms = np.abs(errors) * 1e3
    print(
        f"\nXvfb display, 1.5 s: {stats.describe()}; {len(clean)}/{len(readings)} grabs decoded; "
        f"|present time of the grabbed frame's middle - grab time|: median {np.median(e_ms):.2f} ms, "
        f"max {e_ms.max():.2f} ms"
    )


def test_frames_the_pipeline_drops_are_logged_and_never_on_screen(xserver, clock) -> None:
    """The window process is stalled by the OS (as a busy machine would) for 3 refresh periods at a time:
    the driver skips to the frame now due and logs the skipped ones; no grab ever shows one of them."""
    with _live_display(clock) as display:
        pid = display.process.pid
        stalls = []

        def stall() -> None:
            for _ in range(5):
                clock.sleep(0.15)
                os.kill(pid, signal.SIGSTOP)
                clock.sleep(3 / REFRESH)
                os.kill(pid, signal.SIGCONT)
                stalls.append(clock.now())

        staller = threading.Thread(target=stall)
        staller.start()
        grabs = _grab_while(display, clock, 1.2)
        staller.join()
    assert display.error is None
    dropped = set(display.log.dropped())
    assert len(dropped) >= 5, display.log.stats(0, clock.now()).describe()
    seen = {r.value for _, _, r in grabs if r.kind == "clean"}
    assert seen and not seen & dropped
    # nominal times inside a dropped frame map onto the frame left on screen, never backwards
    k = min(dropped)
    times = [display.log.to_present((k + f) / REFRESH) for f in (-0.5, 0.0, 0.5, 1.5, 3.0)]
    assert times == sorted(times)


def test_no_x_server_is_a_clear_error(clock, monkeypatch) -> None:
    """Without a reachable X server the error names the display that was tried."""
    monkeypatch.setenv("DISPLAY", ":4242")
    with pytest.raises(DisplayError, match=":4242"):
        find_monitor(1)
    with pytest.raises(DisplayError, match="cannot open a window|window process exited"):
        OpenCVDisplay(clock, Monitor(0, 0, WIDTH, HEIGHT), REFRESH).start()


def test_missing_monitor_is_named(xserver) -> None:
    with pytest.raises(DisplayError, match="monitor 3 does not exist; this desktop has 1 monitor"):
        find_monitor(3)


# --------------------------------------------------------------------------- present log, no X needed


def _log_with_drop() -> RecordedPresentLog:
    """Frames 600..609 at 60 Hz, shown 5 ms late, frames 603 and 604 skipped."""
    log = RecordedPresentLog(REFRESH, latency_s=0.010)
    for n in (600, 601, 602, 605, 606, 607, 608, 609):
        due = n / REFRESH
        log.record(n, due + 0.004, due + 0.005)
    return log


def test_present_log_maps_nominal_times_onto_present_times() -> None:
    """Reference time = present time (+ calibrated panel latency); a dropped frame maps to what stayed on screen."""
    log = _log_with_drop()
    assert log.present_time(601) == pytest.approx(601 / REFRESH + 0.015)
    assert log.present_time(603) is None
    assert log.to_present(601.5 / REFRESH) == pytest.approx(601.5 / REFRESH + 0.015)
    # 602 stayed up until 605 came: the whole 602..604 span maps into [P(602), P(605)]
    assert log.to_present(603.5 / REFRESH) == pytest.approx(605 / REFRESH + 0.015)
    assert log.dropped() == [603, 604]
    assert log.dropped(0, 603.5 / REFRESH) == [603]
    stats = log.stats(0, 1e9)
    assert (stats.shown, stats.dropped, stats.late) == (8, 2, 0)
    assert stats.mean_lag_s == pytest.approx(0.005)


def test_present_log_extrapolates_outside_the_log_at_the_display_pace() -> None:
    """Before the first and after the last logged frame, nominal time runs at slope 1 from the nearest
    logged present time (a clip may start before the display log does, or outlast it)."""
    log = _log_with_drop()
    assert log.to_present(590 / REFRESH) == pytest.approx(590 / REFRESH + 0.015)
    assert log.to_present(609.5 / REFRESH) == pytest.approx(609.5 / REFRESH + 0.015)
    assert log.to_present(620.25 / REFRESH) == pytest.approx(620.25 / REFRESH + 0.015)
    assert RecordedPresentLog(REFRESH, latency_s=0.01).to_present(3.0) == pytest.approx(3.01)


def test_present_log_maps_many_times_as_it_maps_one() -> None:
    """The vectorised mapping (every frame of a clip at once) equals the one-at-a-time mapping,
    before, inside, across the dropped frames and after the log."""
    log = _log_with_drop()
    times = np.linspace(595 / REFRESH, 615 / REFRESH, 401)
    many = log.to_present_many(times)
    assert many == pytest.approx([log.to_present(t) for t in times], abs=1e-12)
    assert np.all(np.diff(many) >= 0)
    assert log.to_present_many(np.array([603.5 / REFRESH])) == pytest.approx([605 / REFRESH + 0.015])
    assert PresentLog(REFRESH, 0.002).to_present_many(np.array([1.0, 2.0])) == pytest.approx([1.002, 2.002])


def test_present_log_refuses_frames_out_of_order() -> None:
    log = _log_with_drop()
    with pytest.raises(ValueError, match="frame 605 logged after frame 609"):
        log.record(605, 0.0, 0.0)


def test_present_log_is_written_as_evidence(tmp_path: Path) -> None:
    path = tmp_path / "display.csv"
    assert _log_with_drop().write_csv(path, 0, 606 / REFRESH) == 4
    rows = list(csv.DictReader(path.open()))
    assert [int(r["frame"]) for r in rows] == [600, 601, 602, 605]
    assert float(rows[0]["present_s"]) == pytest.approx(600 / REFRESH + 0.015, abs=1e-6)


def test_emulated_display_is_the_ideal_one() -> None:
    """In emulation present time is n / refresh: nothing to correct, nothing dropped."""
    with EmulatedDisplay(VirtualClock(), REFRESH) as display:
        assert isinstance(display.log, PresentLog) and display.log.ideal
        assert display.log.present_time(120) == pytest.approx(2.0)
        assert display.log.to_present(2.5) == 2.5
        assert display.log.stats(1.0, 2.0).shown == 60 and display.log.dropped() == []
