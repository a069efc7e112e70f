"""The serial rig-controller driver against the emulated controller on a real pty."""

from __future__ import annotations

import os

import pytest

from harness.core.clock import RealClock, VirtualClock
from harness.devices.rig_controller import RigControllerError, SerialRigController, SyncSample, fit_mapping
from harness.emulator.rig_controller import SILENCE_S, EmulatedRigController
from harness.plan.profile import Gesture


@pytest.fixture
def bench():
    clock = VirtualClock(start=100.0)
    edges: list[tuple[str, bool, float]] = []
    emu = EmulatedRigController(
        clock, ("event", "power"), lambda b, d: edges.append((b, d, clock.now())), drift_ppm=0.0
    )
    driver = SerialRigController(emu.url, clock, timeout_s=1.0)
    yield clock, emu, driver, edges
    driver.close()
    emu.close()


def test_port_is_a_real_tty(bench) -> None:
    """The emulator exposes a real terminal device, opened through pyserial like /dev/ttyACM0."""
    _, emu, driver, _ = bench
    assert os.isatty(os.open(emu.url, os.O_RDWR | os.O_NOCTTY))
    assert driver.identify().startswith("BWC-RIG-EMU,")


def test_double_press_edges_map_onto_the_clock(bench) -> None:
    """Edge timestamps from the controller land on the harness clock where the solenoids moved."""
    _clock, _, driver, edges = bench
    gesture = Gesture(button="event", presses=2, press_s=0.15, gap_s=0.25)
    result = driver.perform("start", gesture)
    assert [(e.button, e.down) for e in result.edges] == [("event", True), ("event", False)] * 2
    for reported, (_button, down, t) in zip(result.edges, edges):
        assert reported.down == down and abs(reported.t - t) < 2e-6
    assert result.effective_t == pytest.approx(edges[2][2], abs=2e-6)
    assert edges[2][2] - edges[0][2] == pytest.approx(0.40, abs=1e-5)


def test_hold_gesture_effective_time_is_down_plus_hold(bench) -> None:
    """A 3 s hold acts 3 s after the press goes down; the rig releases after a margin."""
    _, _, driver, edges = bench
    result = driver.perform("stop", Gesture(button="event", hold_s=3.0))
    assert result.effective_t == pytest.approx(edges[0][2] + 3.0, abs=2e-6)
    assert edges[1][2] - edges[0][2] == pytest.approx(3.5, abs=1e-5)


def test_tick_offset_is_estimated_from_round_trips(bench) -> None:
    """In virtual time the round trip is zero, so the offset is exact and its uncertainty zero."""
    clock, _emu, driver, _ = bench
    assert driver.mapping.uncertainty_s == 0.0
    assert driver.mapping.to_clock(driver.ticks()) == pytest.approx(clock.now(), abs=2e-6)


def test_refusal_names_the_port_and_command(bench) -> None:
    """A command the controller refuses raises with the port, the command and the reason."""
    _, emu, driver, _ = bench
    with pytest.raises(RigControllerError, match=r"refused 'PRESS nose 10'.*NOBUTTON") as refused:
        driver._query("PRESS nose 10", "OK")
    assert emu.url in str(refused.value)


def test_missing_port_is_a_clear_error() -> None:
    """Opening a port that does not exist fails with the port named."""
    with pytest.raises(RigControllerError, match="/dev/does-not-exist"):
        SerialRigController("/dev/does-not-exist", VirtualClock())


def test_silent_controller_times_out_with_the_command_named(bench) -> None:
    """A controller that stops answering gives a timeout error naming what was awaited."""
    _, emu, driver, _ = bench
    emu.port._on_line = lambda line: None
    with pytest.raises(RigControllerError, match=r"no answer to 'TIME\?'"):
        driver.ticks()


def test_controller_drift_is_bounded_by_resync_before_each_gesture() -> None:
    """A controller crystal 100 ppm fast, an hour after the first sync: the drift is fitted and edges land within 2 us."""
    clock = VirtualClock()
    moved: list[float] = []
    emu = EmulatedRigController(clock, ("event",), lambda b, d: moved.append(clock.now()), drift_ppm=100.0)
    driver = SerialRigController(emu.url, clock, timeout_s=1.0)
    try:
        clock.sleep(3600)
        result = driver.perform("stop", Gesture(button="event", hold_s=3.0))
        errors = [abs(e.t - t) for e, t in zip(result.edges, moved)]
        assert max(errors) < 2e-6  # without the drift fit: 0.36 s of drift would leave ~0.35 ms
        assert driver.mapping.drift_ppm == pytest.approx(100.0, abs=1e-3)
    finally:
        driver.close()
        emu.close()


def test_fit_recovers_offset_and_drift_from_bracketed_samples() -> None:
    """Samples with wide and tight brackets: the fit follows the tight ones; congested ones are dropped."""
    true_offset, drift = 12.5, 40e-6
    samples = []
    for i, rtt in enumerate([1e-4, 2e-2, 1e-4, 1e-4, 3e-2, 1e-4]):
        t = 10.0 * i
        skew = rtt / 2 if rtt > 1e-3 else 0.0  # a congested exchange whose delay sat all on one side
        samples.append(SyncSample(t=t, ticks_s=t + true_offset + drift * (t - 50.0) + skew, rtt_s=rtt))
    m = fit_mapping(samples)
    assert m.ref_t == 50.0
    assert m.offset_s == pytest.approx(true_offset, abs=1e-9)
    assert m.drift_ppm == pytest.approx(40.0, abs=1e-6)
    assert m.uncertainty_s == pytest.approx(5e-5)
    assert m.to_clock(m.to_ticks(123.456)) == pytest.approx(123.456, abs=1e-6)


def test_offset_and_drift_over_a_real_pty_stay_inside_the_reported_bounds() -> None:
    """Real time, real pty, a controller 150 ppm fast that booted 83 minutes ago: the true offset and
    drift lie within the uncertainties the driver reports, and those are below a millisecond."""
    clock = RealClock()
    emu = EmulatedRigController(clock, ("event",), lambda b, d: None, drift_ppm=150.0, boot_ticks=5_000_000_000)
    driver = SerialRigController(emu.url, clock, timeout_s=1.0)
    try:
        for _ in range(5):
            clock.sleep(0.3)
            m = driver.sync(8)
        true_offset = (m.ref_t - emu._boot) * emu._rate / 1e6 - m.ref_t
        assert abs(m.offset_s - true_offset) <= m.uncertainty_s
        assert m.uncertainty_s < 1e-3
        assert abs(m.drift_ppm - 150.0) <= m.drift_uncertainty_ppm
        assert len(driver.samples) == 6
    finally:
        driver.close()
        emu.close()
        clock.close()


def test_flash_is_timed_by_the_controller_and_kept_apart_from_gestures(bench) -> None:
    """A flash queued for later runs on the controller while a gesture is performed; each gets its own edges."""
    clock, emu, driver, _edges = bench
    at = clock.now() + 0.2
    seq = driver.schedule_flash(at, 0.1)
    result = driver.perform("start", Gesture(button="event", presses=2, press_s=0.15, gap_s=0.25))
    assert {e.button for e in result.edges} == {"event"} and len(result.edges) == 4
    (flash,) = driver.collect_flashes([seq])
    assert flash.on_t == pytest.approx(at, abs=2e-6) and flash.off_t - flash.on_t == pytest.approx(0.1, abs=2e-6)
    assert emu.stimuli == [(pytest.approx(at, abs=2e-6), True), (pytest.approx(at + 0.1, abs=2e-6), False)]
    now = driver.flash(0.05)
    assert now.off_t - now.on_t == pytest.approx(0.05, abs=2e-6)


@pytest.mark.parametrize(
    ("kind", "says"), [("garbage", r"garbled line b'\\xfe"), ("silence", r"no answer to 'PRESS event")]
)
def test_a_controller_misbehaving_once_fails_that_gesture_and_answers_the_next(bench, kind, says) -> None:
    """Noise or silence on the line fails the gesture with the port named; the line is cleared and
    the next gesture works (once the hung controller's watchdog has restarted it)."""
    clock, emu, driver, edges = bench
    emu.misbehave_at_action = kind
    gesture = Gesture(button="event", presses=2, press_s=0.15, gap_s=0.25)
    with pytest.raises(RigControllerError, match=says) as info:
        driver.perform("start", gesture)
    assert emu.url in str(info.value) and edges == []
    clock.sleep(SILENCE_S)
    assert [(e.button, e.down) for e in driver.perform("start", gesture).edges] == [
        ("event", True),
        ("event", False),
    ] * 2


def test_an_unplugged_controller_fails_now_and_on_every_later_command(bench) -> None:
    """The port vanishes mid-gesture: its path is gone, and the driver says so, naming it, without
    reopening a path that may by then belong to another device."""
    _, emu, driver, _ = bench
    emu.misbehave_at_action = "vanish"
    with pytest.raises(RigControllerError, match="the port is gone") as info:
        driver.perform("stop", Gesture(button="event", hold_s=3.0))
    assert emu.url in str(info.value) and emu.port.gone
    with pytest.raises(RigControllerError, match=r"cannot send 'ID\?', the port was lost earlier") as later:
        driver.identify()
    assert emu.url in str(later.value)


def test_solenoid_latency_puts_the_effective_time_at_the_button_contact() -> None:
    """Solenoids that close their button 12 ms (event) and 20 ms (power) after the controller drives
    them: with the calibrated figures the gesture acts when the camera feels the contact; the edges
    stay as the controller drove them."""
    clock = VirtualClock()
    lag = {"event": 0.012, "power": 0.020}
    contacts: list[tuple[str, bool, float]] = []

    def solenoid(button: str, down: bool) -> None:
        clock.call_later(lag[button], lambda: contacts.append((button, down, clock.now())))

    emu = EmulatedRigController(clock, ("event", "power"), solenoid)
    driver = SerialRigController(emu.url, clock, timeout_s=1.0, press_latency_s=lag)
    plain = SerialRigController(emu.url, clock, timeout_s=1.0)
    try:
        start = driver.perform("start", Gesture(button="event", presses=2, press_s=0.15, gap_s=0.25))
        presses = [t for b, d, t in contacts if d]
        assert start.latency_s == 0.012 and start.effective_t == pytest.approx(presses[-1], abs=2e-6)
        assert start.edges[2].t == pytest.approx(presses[-1] - 0.012, abs=2e-6)
        power = driver.perform("power_on", Gesture(button="power", hold_s=2.0))
        power_down = next(t for b, d, t in contacts if b == "power" and d)
        assert power.effective_t == pytest.approx(power_down + 2.0, abs=2e-6)  # contact + hold
        uncorrected = plain.perform("start", Gesture(button="event", presses=2, press_s=0.15, gap_s=0.25))
        assert [t for b, d, t in contacts if d][-1] - uncorrected.effective_t == pytest.approx(0.012, abs=2e-6)
        assert plain.latency_for("event") == 0.0
    finally:
        driver.close()
        plain.close()
        emu.close()


@pytest.mark.parametrize(
    ("latency", "expected"),
    [
        (-0.001, "must be 0..0.5 s, got -0.001"),
        ({"event": 0.01, "power": 0.9}, "of button 'power' must be 0..0.5 s"),
        (float("nan"), "must be 0..0.5 s"),
    ],
)
def test_bad_solenoid_latency_is_refused_before_the_port_opens(latency, expected) -> None:
    with pytest.raises(ValueError, match=expected):
        SerialRigController("/dev/does-not-exist", VirtualClock(), press_latency_s=latency)
