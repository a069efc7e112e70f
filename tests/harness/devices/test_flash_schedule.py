"""The bench's A/V stimulus: the schedule's flashes fired by the rig controller over a real pty."""

from __future__ import annotations

import pytest

from harness.core.clock import RealClock, VirtualClock
from harness.core.timeline import Action, Timeline
from harness.devices.flash_schedule import HORIZON_S, FlashSchedule
from harness.devices.rig_controller import SerialRigController
from harness.emulator.rig_controller import EmulatedRigController
from harness.firmware.rigctl_core import MAX_PENDING
from harness.plan.profile import Gesture
from harness.scene.stimulus import FLASH_S, event_times

R = 60.0
START = Gesture(button="event", presses=2, press_s=0.15, gap_s=0.25)


def _bench(clock, drift_ppm: float = 0.0):
    moved: list[tuple[str, bool, float]] = []
    emu = EmulatedRigController(
        clock,
        ("event", "power"),
        lambda b, d: moved.append((b, d, clock.now())),
        drift_ppm=drift_ppm,
        boot_ticks=7_000_000_000,
    )
    return emu, SerialRigController(emu.url, clock, timeout_s=1.0), moved


def test_flashes_fire_on_the_schedule_mapped_to_controller_ticks() -> None:
    """40 s of a scenario on a controller whose crystal runs 80 ppm fast and that booted two hours ago:
    every event of the schedule fires once, when the display is due to show it (its nominal time plus
    the display latency), on the controller's own timebase; gestures in between keep their edges."""
    clock = VirtualClock(start=50.0)
    emu, driver, moved = _bench(clock, drift_ppm=80.0)
    timeline = Timeline([Action(50.0, "power", "on")])
    try:
        schedule = FlashSchedule(driver, clock, R, lead_s=0.012)
        with schedule:
            t0 = clock.now()
            clock.sleep(10.0)
            gesture = driver.perform("start", START)
            clock.sleep(29.0)
            t1 = clock.now()
        timeline.add(Action(t1, "power", "off"))
        fired = schedule.finish(timeline)
    finally:
        driver.close()
        emu.close()
    expected = event_times(t0 + driver.LEAD_S - 0.012, t1 + HORIZON_S - 0.012, R)
    assert [e for e, _ in fired] == expected and len(expected) >= 13
    assert schedule.errors == [] and schedule.skipped == []
    # the reported instants are where the controller really switched, on the harness clock
    switched_on = [t for t, on in emu.stimuli if on]
    assert switched_on == pytest.approx([f.on_t for f in schedule.fired], abs=2e-6)
    for f in schedule.fired:
        assert f.planned_t == pytest.approx(f.event_s + 0.012, abs=1e-9)
        # the drift is only known once two syncs a second apart were made: until then 80 ppm moves a flash
        assert abs(f.on_t - f.planned_t) < (0.5e-3 if f.planned_t < 56.0 else 2e-6)
        assert f.off_t - f.on_t == pytest.approx(FLASH_S / (1 + 80e-6), abs=2e-6)  # 100 ms of a fast crystal
    assert [(b, d) for b, d, _ in moved] == [("event", True), ("event", False)] * 2  # the gesture is intact
    assert gesture.effective_t == pytest.approx(moved[2][2], abs=2e-6)
    flashes = [a for a in timeline.actions if a.kind == "stimulus"]
    assert [a.t for a in flashes] == [f.on_t for f in schedule.fired]
    times = [a.t for a in timeline.actions]
    assert times == sorted(times) and timeline.actions[0].name == "on"


def test_the_controller_queue_stays_far_below_its_limit() -> None:
    """The schedule keeps only the next few seconds queued: a 12-hour shift never fills the controller."""
    clock = VirtualClock()
    emu, driver, _ = _bench(clock)
    try:
        schedule = FlashSchedule(driver, clock, R)
        peak = 0
        with schedule:
            for _ in range(120):
                clock.sleep(0.5)
                peak = max(peak, emu.core.pending)
        schedule.finish()
    finally:
        driver.close()
        emu.close()
    # events are at least 1.4 s apart and any three span 4.4 s: at most two wait, on and off each
    assert 0 < peak <= 4 < MAX_PENDING
    assert emu.core.pending == 0 and len(schedule.fired) >= 18


def test_flashes_and_gestures_share_the_line_in_real_time() -> None:
    """Real clock, real pty: the refills run on their own thread while the main thread presses buttons;
    every flash and every press is reported, each flash close to its planned instant."""
    clock = RealClock()
    emu, driver, moved = _bench(clock)
    try:
        schedule = FlashSchedule(driver, clock, R, refill_s=0.2, horizon_s=1.0)
        with schedule:
            end = clock.now() + 4.0
            results = []
            while clock.now() < end:
                results.append(driver.perform("start", START))
        fired = schedule.finish()
    finally:
        driver.close()
        emu.close()
        clock.close()
    assert schedule.errors == [], schedule.errors
    assert len(fired) >= 1 and len(results) >= 3
    assert all(len(r.edges) == 4 for r in results)
    assert len([m for m in moved if m[1]]) == 2 * len(results)
    lateness = [f.on_t - f.planned_t for f in schedule.fired]
    assert all(-1e-3 < late < 0.2 for late in lateness), (
        lateness
    )  # the emulator's timer thread on a loaded 2-core machine


def test_a_rig_without_a_controller_stimulus_fires_nothing() -> None:
    """The emulated rig's camera makes its own stimuli: its schedule is inert and the analysis is told so."""
    clock = VirtualClock()
    schedule = FlashSchedule(None, clock, R)
    with schedule:
        clock.sleep(10.0)
    assert not schedule.live and schedule.finish(Timeline()) is None


def test_a_controller_that_cannot_flash_stops_the_schedule_not_the_scenario() -> None:
    """Firmware built without the stimulus answers NOSTIM: the schedule says so once and stops asking."""
    clock = VirtualClock()
    emu, driver, _ = _bench(clock)
    emu.core.stimulus = None
    try:
        schedule = FlashSchedule(driver, clock, R)
        with schedule:
            clock.sleep(10.0)
            driver.perform("start", START)  # the line is still in order
        assert schedule.finish() == []
    finally:
        driver.close()
        emu.close()
    assert len(schedule.errors) == 1 and "NOSTIM" in schedule.errors[0]
