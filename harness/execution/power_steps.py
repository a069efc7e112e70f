"""Power steps of a scenario: the battery simulator, a power monitor, current readings, hard cuts.

The step dispatcher (:mod:`harness.execution.dispatch`) hands :class:`PowerSession` every power,
battery and measure step and every ``wait: {until: ...}``:

* ``battery: {soc: 100}`` selects the battery simulator with the camera's battery (the rig file's
  ``power.battery_model``, the profile's ``power.capacity_ah``, the rig's current limit) at that
  state of charge, and starts the **power monitor**: a timer on the harness Clock that reads the
  supply current every ``monitor_s`` and records when the camera switches itself off (its draw
  falls from a running level to the off level while the output is on). Time stamps come from the
  Clock at the instant of each reading, so in virtual time a 12-hour shift is watched at the same
  resolution as in real time; the shutdown is placed midway between the last reading above the
  off threshold and the first below it (error at most half the interval).
* ``power: on`` switches the output on; for a camera with a power button (``switch_on: button``)
  it then makes the profile's ``power_on`` gesture (the camera is on only from then). After every
  power-on a :class:`BootWatch` reads the supply current every ``BOOT_READ_S`` until the draw
  steps from the booting to the buffering level (midway threshold), and records the measured
  **buffering start** (``buffering``, a :class:`BufferingStarted`): ``wait: {since: buffering}``
  and the expected pre-roll count from it, and the profile's boot time becomes a limit on it.
  Where the two draws are too close to tell apart, or the supply cannot read current, the start
  is recorded as not measurable (the expectation then falls back to power-on + boot time).
* ``power: off`` on a camera with a ``power_off`` gesture makes the gesture, waits (at most
  ``POWER_OFF_WAIT_S``) until the draw has fallen to the off level, then switches the output
  off; otherwise, and for ``power: cut``, the output is switched off under the camera.
* ``power: on|off`` while the simulator is selected switch the simulated battery;
  ``power: cut`` switches the output off under a running camera (a battery pulled) after
  recording the SHA-256 of every clip the camera has saved during the scenario, so the check can
  prove that earlier files survived unchanged.
* ``wait: {until: shutdown, seconds: N}`` waits until the monitor has seen the camera switch
  itself off since the last power-on (at most N seconds).
* ``measure: {state: buffering, seconds: 5}`` reads the current for a while.

Everything lands in the done-timeline as ``power`` actions (``battery``, ``on``, ``off``, ``cut``,
``shutdown``, ``current``, ``buffering``) and, for a power button, ``gesture`` actions, which the
checks read (:mod:`harness.checks.power`, :mod:`harness.checks.preroll`). On exit the session stops the
monitor and, if the simulator was selected, switches the output off and returns the instrument to
power-supply mode, so the next scenario starts from the supply the other scenarios expect. An
instrument failure inside the monitor is raised in the harness thread at the next step or on exit.
"""

from __future__ import annotations

import logging
import statistics
from types import TracebackType
from typing import TYPE_CHECKING

from harness.core import progress
from harness.core.clock import Timer
from harness.core.evidence import sha256_file
from harness.core.timeline import (
    Action,
    BatterySelected,
    BufferingStarted,
    CurrentReading,
    PowerCut,
    PowerOn,
    Shutdown,
    Timeline,
)
from harness.devices.power import BatterySetup, NotSupported
from harness.execution.gestures import perform_gesture

if TYPE_CHECKING:
    from harness.plan.profile import CameraProfile
    from harness.plan.scenario import Step
    from harness.rig.factory import Rig

log = logging.getLogger(__name__)

#: how often the supply current is read after a power-on to find the buffering start (s); the
#: start is known to within half of this
BOOT_READ_S = 0.1
#: how long past the profile's longest boot the current is still read (at least), so a boot that
#: is far too slow is still measured, not just missed
BOOT_MARGIN_S = 10.0
#: longest wait for a camera to finish its power-off gesture's shutdown (draw down to off)
POWER_OFF_WAIT_S = 30.0


def off_threshold(rig: Rig) -> float:
    """Current below which the camera counts as switched off: midway between its off draw and
    the lowest draw of a running state (from the profile)."""
    draw = rig.profile.power.draw_a
    running = min(draw.booting, draw.buffering, draw.recording)
    return draw.off + (running - draw.off) / 2


def boot_step_unmeasurable(profile: CameraProfile) -> str | None:
    """Why the supply current cannot show this camera's step from booting to buffering, or None."""
    draw, smallest = profile.power.draw_a, profile.power.min_boot_step  # the step a draw's ripple can hide
    larger = max(draw.booting, draw.buffering)
    if abs(draw.booting - draw.buffering) < smallest * larger:
        return (
            f"the profile's booting ({draw.booting:g} A) and buffering ({draw.buffering:g} A) draws differ by "
            f"less than {smallest:.0%} (power.min_boot_step): the step to buffering cannot be told from the "
            "draw's ripple"
        )
    return None


class BootWatch:
    """Reads the supply current from a power-on until the camera's draw steps from its booting
    level to its buffering level, and records the buffering start in the timeline.

    Each reading is classed by the nearest of the profile's off, booting and buffering draws (so
    the booting/buffering boundary is the midway threshold); the start is placed midway between
    the last reading before the first buffering one and that one. Readings run on a Clock timer,
    so later steps go on meanwhile; they stop at the step, or ``BOOT_MARGIN_S`` (at least the
    boot time again) past the profile's longest boot.
    """

    def __init__(self, rig: Rig, timeline: Timeline, power_on_t: float, interval_s: float = BOOT_READ_S) -> None:
        self.rig = rig
        self.timeline = timeline
        self.power_on_t = power_on_t
        self.interval_s = interval_s
        longest = rig.profile.boot_range_s[1]
        self.deadline = power_on_t + longest + max(BOOT_MARGIN_S, longest)
        draw = rig.profile.power.draw_a
        self.levels = {"off": draw.off, "booting": draw.booting, "buffering": draw.buffering}
        self.threshold = (draw.booting + draw.buffering) / 2
        self.result: Action | None = None
        self.error: Exception | None = None
        self.readings = 0
        self._before: float | None = None  # time of the last reading that was not yet buffering
        self._timer: Timer | None = None

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None

    def start(self) -> None:
        reason = boot_step_unmeasurable(self.rig.profile)
        if reason is not None:
            self._finish(None, not_measurable=reason)
            return
        self._timer = self.rig.clock.call_at(self.rig.clock.now(), self._tick)

    def stop(self) -> None:
        """The power went off: stop reading (a boot cut short records nothing)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        self._timer = None
        try:
            amps = self.rig.power.measure_current()
        except NotSupported as exc:
            self._finish(None, not_measurable=f"the supply cannot read current ({exc})")
            return
        except Exception as exc:  # raised in the harness thread by the session
            log.error("boot watch: %s", exc)
            self.error = exc
            return
        now = self.rig.clock.now()
        self.readings += 1
        state = min(self.levels, key=lambda name: abs(self.levels[name] - amps))
        if state == "buffering":
            before = self._before if self._before is not None else self.power_on_t
            self._finish((before + now) / 2, last_booting_t=before, first_buffering_t=now)
            return
        self._before = now
        if now + self.interval_s > self.deadline + 1e-9:
            self._finish(
                None,
                note=f"the draw never stepped from booting ({self.levels['booting']:g} A) to buffering "
                f"({self.levels['buffering']:g} A) within {self.deadline - self.power_on_t:g} s of power-on",
            )
            return
        self._timer = self.rig.clock.call_at(now + self.interval_s, self._tick)

    def _finish(
        self,
        started: float | None,
        not_measurable: str | None = None,
        note: str | None = None,
        last_booting_t: float | None = None,
        first_buffering_t: float | None = None,
    ) -> None:
        boot = None if started is None else started - self.power_on_t
        detail = BufferingStarted(
            power_on_t=self.power_on_t,
            boot_s=boot,
            interval_s=self.interval_s,
            threshold_a=None if not_measurable else self.threshold,
            last_booting_t=last_booting_t,
            first_buffering_t=first_buffering_t,
            readings=self.readings,
            not_measurable=not_measurable,
            note=note,
        )
        t = started if started is not None else self.power_on_t + self.rig.profile.boot_s
        self.result = Action(t, "power", "buffering", detail)
        self.timeline.add(self.result)
        if boot is not None:
            log.info("camera began buffering %.2f s after power-on (supply current)", boot)
        else:
            log.info("buffering start not measured: %s", not_measurable or note)


class PowerMonitor:
    """Reads the supply current on a Clock timer and records camera shutdowns in the timeline."""

    def __init__(self, rig: Rig, timeline: Timeline, interval_s: float) -> None:
        self.rig = rig
        self.timeline = timeline
        self.interval_s = interval_s
        self.threshold = off_threshold(rig)
        self.output_on = False
        self.error: Exception | None = None
        self._timer: Timer | None = None
        self._last_on: tuple[float, float] | None = None  # (t, amps) of the last running reading
        self.readings = 0

    def start(self, output_on: bool) -> None:
        self.output_on = output_on
        self._last_on = None
        self._schedule(self.rig.clock.now())

    def output(self, on: bool) -> None:
        """The harness switched the output: a fall of current now is not the camera's doing."""
        self.output_on = on
        self._last_on = None

    def _schedule(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.rig.clock.call_at(when, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self.error is not None:
            return
        try:
            amps = self.rig.power.measure_current()
        except Exception as exc:  # raised in the harness thread by raise_if_failed()
            log.error("power monitor: %s", exc)
            self.error = exc
            return
        now = self.rig.clock.now()
        self.readings += 1
        if self.output_on:
            if amps > self.threshold:
                self._last_on = (now, amps)
            elif self._last_on is not None:
                t_on, amps_on = self._last_on
                self.timeline.add(
                    Action(
                        (t_on + now) / 2,
                        "power",
                        "shutdown",
                        Shutdown(
                            last_running_t=t_on,
                            first_off_t=now,
                            amps_before=amps_on,
                            amps_after=amps,
                            threshold_a=self.threshold,
                            interval_s=self.interval_s,
                        ),
                    )
                )
                log.info("camera switched itself off between %.1f s and %.1f s", t_on, now)
                self._last_on = None
        self._schedule(now + self.interval_s)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def raise_if_failed(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error


class PowerSession:
    """Power steps of one scenario run (see the module docstring)."""

    def __init__(self, rig: Rig, timeline: Timeline) -> None:
        self.rig = rig
        self.timeline = timeline
        self.monitor: PowerMonitor | None = None
        self.boot: BootWatch | None = None
        self._baseline: frozenset[str] = frozenset()

    def __enter__(self) -> PowerSession:
        self._baseline = self.rig.clips.snapshot()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.monitor is not None:
            self.monitor.stop()
        if self.boot is not None:
            self.boot.stop()
        if exc_type is not None:
            return  # the rig's exit path switches the output off first; nothing here may mask exc
        if self.rig.power.battery is not None:
            self.rig.power.select_supply()
        if self.monitor is not None:
            self.monitor.raise_if_failed()

    # -- step handlers: the step dispatcher's table maps step kinds to these
    def power(self, step: Step) -> None:
        assert step.power is not None
        self._power(step.power)

    def battery(self, step: Step) -> None:
        self._battery(step)

    def measure(self, step: Step) -> None:
        self._measure(step)

    def wait_until(self, step: Step) -> None:
        assert step.wait is not None
        self._wait_for_shutdown(step.wait.seconds)

    def raise_if_failed(self) -> None:
        """An instrument failure inside the power monitor or the boot watch, raised in the harness thread."""
        if self.monitor is not None:
            self.monitor.raise_if_failed()
        if self.boot is not None and self.boot.error is not None:
            error, self.boot.error = self.boot.error, None
            raise error

    def buffering_started(self) -> float:
        """When the camera began buffering after the last power-on, as measured from the supply
        current (waiting for the boot watch to see it); power-on + the profile's boot time when
        it is not measurable or was not seen."""
        watch, clock = self.boot, self.rig.clock
        if watch is None:
            raise ValueError("'wait since buffering' needs an earlier 'power: on' step")
        with progress.reporter(clock, "wait for the camera to start buffering", watch.deadline - clock.now()) as report:
            while not watch.done and clock.now() < watch.deadline + watch.interval_s:
                clock.sleep_until(clock.now() + watch.interval_s)
                if report is not None:
                    report(clock.now() - watch.power_on_t, watch.deadline - watch.power_on_t, "reading the current")
        self.raise_if_failed()
        if watch.result is None:
            return watch.power_on_t + self.rig.profile.boot_s
        return watch.result.t

    # -- steps
    def _battery(self, step: Step) -> None:
        spec, rig = step.battery, self.rig
        assert spec is not None
        setup = BatterySetup(
            model=rig.power_spec.battery_model,
            soc_percent=spec.soc,
            capacity_ah=rig.profile.power.capacity_ah,
            current_limit=rig.power_spec.current_limit,
            dynamic=spec.method == "dynamic",
        )
        rig.power.select_battery(setup)
        self.timeline.add(
            Action(
                rig.clock.now(),
                "power",
                "battery",
                BatterySelected(
                    model=setup.model,
                    soc=setup.soc_percent,
                    capacity_ah=setup.capacity_ah,
                    current_limit=setup.current_limit,
                    method=spec.method,
                ),
            )
        )
        if self.monitor is not None:
            self.monitor.stop()
        self.monitor = PowerMonitor(rig, self.timeline, spec.monitor_s)
        self.monitor.start(output_on=False)

    def _power(self, what: str) -> None:
        rig, clock = self.rig, self.rig.clock
        if what == "on":
            if rig.power.battery is None:  # the monitor runs, but the supply is a plain supply
                rig.power.set_voltage(rig.power_spec.voltage)
                rig.power.set_current_limit(rig.power_spec.current_limit)
            rig.power.output(True)
            detail = (
                PowerOn(voltage=rig.power_spec.voltage)
                if rig.power.battery is None
                else PowerOn(battery=rig.power.battery.model, soc=rig.power.state_of_charge())
            )
            on = Action(clock.now(), "power", "on", detail)
            self.timeline.add(on)
            if self.monitor is not None:
                self.monitor.output(True)
            if rig.profile.switch_on == "button":  # a live supply; the camera is on once its button says so
                on = perform_gesture(rig, self.timeline, "power_on")
            self._watch_boot(on.t)
            return
        if self.boot is not None:
            self.boot.stop()
        reachable = rig.clips.reachable()
        files = self._saved_files() if what == "cut" and reachable else {}
        if self.monitor is not None:
            self.monitor.output(False)
        if what == "off" and rig.profile.switch_on == "button" and "power_off" in rig.profile.gestures:
            self._switch_off_by_button()
        rig.power.output(False)
        unreachable = (
            None if reachable else f"the camera's files are out of reach during the steps ({rig.clips.describe()})"
        )
        self.timeline.add(Action(clock.now(), "power", what, PowerCut(files, unreachable) if what == "cut" else None))

    def _watch_boot(self, power_on_t: float) -> None:
        if self.boot is not None:
            self.boot.stop()
        self.boot = BootWatch(self.rig, self.timeline, power_on_t)
        self.boot.start()

    def _switch_off_by_button(self) -> None:
        """Make the power_off gesture and wait until the draw is down to off (a graceful shutdown:
        the camera finishes its files), at most ``POWER_OFF_WAIT_S``. A camera already off (it
        shut itself down) is left alone: its power button might switch it on again."""
        rig, clock = self.rig, self.rig.clock
        threshold = off_threshold(rig)
        try:
            if rig.power.measure_current() < threshold:
                return
        except NotSupported:
            perform_gesture(rig, self.timeline, "power_off")
            clock.sleep(POWER_OFF_WAIT_S)  # without a current reading, give it the longest shutdown
            return
        perform_gesture(rig, self.timeline, "power_off")
        deadline = clock.now() + POWER_OFF_WAIT_S
        while rig.power.measure_current() >= threshold:
            if clock.now() >= deadline:
                log.warning("the camera still draws current %g s after its power_off gesture", POWER_OFF_WAIT_S)
                return
            clock.sleep(BOOT_READ_S)

    def _saved_files(self) -> dict[str, str]:
        """SHA-256 of every clip saved since the scenario began, by its evidence name."""
        out: dict[str, str] = {}
        for identity in sorted(self.rig.clips.snapshot() - self._baseline):
            rel = identity.rsplit(":", 2)[0]
            out[rel.rpartition("/")[2]] = sha256_file(self.rig.clips.resolve(rel))  # as the checks match clips: by name
        return out

    def _wait_for_shutdown(self, most_s: float) -> None:
        clock = self.rig.clock
        if self.monitor is None:
            self.monitor = PowerMonitor(self.rig, self.timeline, 1.0)
            self.monitor.start(output_on=True)
        on = self.timeline.last_before(clock.now(), "power", "on")
        since = on.t if on is not None else float("-inf")
        start = clock.now()
        deadline = start + most_s
        with progress.reporter(clock, "wait until the camera shuts down", most_s) as report:
            while clock.now() < deadline:
                if any(a.t >= since for a in self.timeline.actions if a.kind == "power" and a.name == "shutdown"):
                    return
                clock.sleep_until(min(deadline, clock.now() + self.monitor.interval_s))
                self.monitor.raise_if_failed()
                if report is not None:
                    report(clock.now() - start, most_s, f"{self.monitor.readings} current readings")
        log.warning("the camera did not switch itself off within %g s", most_s)

    def _measure(self, step: Step) -> None:
        spec, rig, clock = step.measure, self.rig, self.rig.clock
        assert spec is not None
        t0 = clock.now()
        end = t0 + spec.seconds
        amps: list[float] = []
        volts: list[float] = []
        while True:
            amps.append(rig.power.measure_current())
            volts.append(rig.power.measure_voltage())
            if clock.now() + spec.interval_s > end + 1e-9:
                break
            clock.sleep(spec.interval_s)
        self.timeline.add(
            Action(
                clock.now(),
                "power",
                "current",
                CurrentReading(
                    state=spec.state,
                    amps=statistics.fmean(amps),
                    min_a=min(amps),
                    max_a=max(amps),
                    volts=statistics.fmean(volts),
                    samples=len(amps),
                    t0=t0,
                ),
            )
        )
        clock.sleep_until(end)


def session(rig: Rig, timeline: Timeline) -> PowerSession:
    return PowerSession(rig, timeline)
