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
* ``power: on|off`` while the simulator is selected switch the simulated battery;
  ``power: cut`` switches the output off under a running camera (a battery pulled) after
  recording the SHA-256 of every clip the camera has saved during the scenario, so the check can
  prove that earlier files survived unchanged.
* ``wait: {until: shutdown, seconds: N}`` waits until the monitor has seen the camera switch
  itself off since the last power-on (at most N seconds).
* ``measure: {state: buffering, seconds: 5}`` reads the current for a while.

Everything lands in the done-timeline as ``power`` actions (``battery``, ``on``, ``off``, ``cut``,
``shutdown``, ``current``), which :mod:`harness.checks.power` reads. On exit the session stops the
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
from harness.core.timeline import Action, BatterySelected, CurrentReading, PowerCut, PowerOn, Shutdown, Timeline
from harness.devices.power import BatterySetup

if TYPE_CHECKING:
    from harness.plan.scenario import Step
    from harness.rig.factory import Rig

log = logging.getLogger(__name__)


def off_threshold(rig: Rig) -> float:
    """Current below which the camera counts as switched off: midway between its off draw and
    the lowest draw of a running state (from the profile)."""
    draw = rig.profile.power.draw_a
    running = min(draw.booting, draw.buffering, draw.recording)
    return draw.off + (running - draw.off) / 2


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
        self._baseline: frozenset[str] = frozenset()

    def __enter__(self) -> PowerSession:
        self._baseline = self.rig.clips.snapshot()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.monitor is not None:
            self.monitor.stop()
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
        """An instrument failure inside the power monitor, raised in the harness thread."""
        if self.monitor is not None:
            self.monitor.raise_if_failed()

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
            self.timeline.add(Action(clock.now(), "power", "on", detail))
            if self.monitor is not None:
                self.monitor.output(True)
            return
        files = self._saved_files() if what == "cut" else {}
        if self.monitor is not None:
            self.monitor.output(False)
        rig.power.output(False)
        self.timeline.add(Action(clock.now(), "power", what, PowerCut(files) if what == "cut" else None))

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
