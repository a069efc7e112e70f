"""Present times from photodiode edges, through the emulated controller on a real pty."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from harness.core.clock import VirtualClock
from harness.devices.display import EmulatedDisplay
from harness.devices.present_photodiode import PhotodiodePresentLog, use_photodiode
from harness.devices.rig_controller import LightEdge, RigControllerError, SerialRigController
from harness.emulator.photodiode import RESPONSE_S, EmulatedPhotodiode
from harness.emulator.rig_controller import EmulatedRigController
from harness.scene.compose import Scene
from harness.scene.presentation import RealisticPresentation


@pytest.fixture
def bench():
    """A display with a realistic pipeline that drops and misses refreshes, its photodiode wired
    to the emulated controller (its crystal 40 ppm fast), the driver on the pty."""
    clock = VirtualClock(start=50.0)
    scene = Scene(640, 360, 59.94)
    scene.presentation = RealisticPresentation(59.94, seed=7, late_rate=0.01, drop_rate=0.02)
    diode = EmulatedPhotodiode(scene, seed=7)
    emu = EmulatedRigController(clock, ("event",), lambda b, d: None, drift_ppm=40.0, light=diode.edges)
    driver = SerialRigController(emu.url, clock, timeout_s=1.0)
    yield clock, scene.presentation, driver
    driver.close()
    emu.close()


def test_the_log_holds_each_frame_when_it_reached_the_panel_and_finds_every_miss(bench) -> None:
    """Over 30 s at 59.94 Hz: every frame the display showed is placed within 0.1 ms of the truth;
    the frames it never showed are the log's drops; late and repeated frames become findings."""
    clock, truth, driver = bench
    display = EmulatedDisplay(clock, 59.94)
    log = use_photodiode(display, driver, latency_s=-RESPONSE_S)
    assert display.log is log and not log.ideal
    start = clock.now()
    for _ in range(6):  # the run goes on; the driver talks to the controller now and then
        clock.sleep_until(clock.now() + 5.0)
        driver.sync(2)
    n0 = int(np.ceil(start * 59.94)) + 10
    n1 = int(clock.now() * 59.94) - 10
    shown = [n for n in range(n0, n1) if truth.on_panel(n) is not None]
    never = [n for n in range(n0, n1) if truth.on_panel(n) is None]
    assert len(never) > 10
    errors = np.array([log.present_time(n) - truth.on_panel(n) for n in shown])
    assert np.abs(errors).max() < 1e-4
    assert log.dropped(n0 / 59.94, n1 / 59.94) == never
    findings = log.anomalies(n0 / 59.94, n1 / 59.94)
    assert any("shown late" in f for f in findings) and any("more than one refresh" in f for f in findings)
    stats = log.stats(n0 / 59.94, n1 / 59.94)
    assert stats.dropped == len(never) and 0 < stats.late < stats.dropped
    # nominal scene time inside a shown frame maps onto the same fraction of its time on the panel
    n = shown[len(shown) // 2]
    if truth.on_panel(n + 1) is not None:
        mid = log.to_present((n + 0.5) / 59.94)
        assert mid == pytest.approx((truth.on_panel(n) + truth.on_panel(n + 1)) / 2, abs=1e-4)


def test_a_controller_without_photodiode_input_is_refused(bench) -> None:
    clock = VirtualClock()
    emu = EmulatedRigController(clock, ("event",), lambda b, d: None)
    driver = SerialRigController(emu.url, clock, timeout_s=1.0)
    try:
        with pytest.raises(RigControllerError, match="no photodiode input"):
            use_photodiode(EmulatedDisplay(clock, 60.0), driver, 0.0)
    finally:
        driver.close()
        emu.close()


def test_an_unreachable_controller_leaves_the_log_as_it_was() -> None:
    def broken() -> list:
        raise RigControllerError("port gone")

    log = PhotodiodePresentLog(60.0, broken)
    assert log.present_time(10) is None and log.dropped() == []


def test_decoding_as_the_edges_arrive_gives_the_log_of_decoding_them_at_once() -> None:
    """Two minutes of a display that drops and delays refreshes, its edges read every 1.7 s: the log
    equals the one decoded from all edges at the end, and it keeps only seconds of edges."""
    scene = Scene(640, 360, 59.94)
    scene.presentation = RealisticPresentation(59.94, seed=11, late_rate=0.01, drop_rate=0.02)
    diode = EmulatedPhotodiode(scene, seed=11)

    def edges(t0: float, t1: float) -> list[LightEdge]:
        return [LightEdge(t, level, 0) for t, level in diode.edges(t0, t1)]

    whole = [edges(10.0, 130.0)]
    at_once = PhotodiodePresentLog(59.94, lambda: whole.pop() if whole else [])
    at_once.update()
    cuts = np.arange(10.0, 130.0 + 1e-9, 1.7).tolist() + [130.0]
    chunks = [edges(a, b) for a, b in itertools.pairwise(cuts)][::-1]
    live = PhotodiodePresentLog(59.94, lambda: chunks.pop() if chunks else [])
    kept = []
    while chunks:
        live.update()
        kept.append(live.held_edges)
    assert list(live.n) == list(at_once.n) and list(live.present) == list(at_once.present)
    assert live.repeats == at_once.repeats and live.late == at_once.late and len(at_once.repeats) > 5
    assert max(kept) < 10 * 59.94  # seconds of edges held, not the two minutes


def test_a_kept_up_log_decodes_the_new_edges_while_the_run_waits() -> None:
    """In real time the log takes the controller's edges on its own thread, so a long wait does
    not pile them up; the thread ends with the block."""
    scene = Scene(640, 360, 60.0)
    diode = EmulatedPhotodiode(scene, seed=3)
    spans = [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]
    asked = threading.Event()

    def source() -> list[LightEdge]:
        if not spans:
            asked.set()
            return []
        return [LightEdge(t, level, 0) for t, level in diode.edges(*spans.pop(0))]

    log = PhotodiodePresentLog(60.0, source)
    with log.kept_up(0.01):
        assert asked.wait(5.0)
    assert not any(t.name == "photodiode-log" for t in threading.enumerate())
    assert len(log.n) > 150 and log.dropped(0.2, 2.8) == []
