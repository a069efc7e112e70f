"""The emulated camera's power side: what it draws, how it watches its battery, how it dies.

* **Draw**: a constant current per power state (off, booting, buffering, recording, writing =
  finishing a file after a recording ends), from the profile's ``power.draw_a``. The supply
  reads it as its load (:meth:`CameraPower.draw`); before the draw changes the camera asks the
  supply to settle the battery (:meth:`CameraPower.changing`), so the discharge is exact.
* **Fuel gauge**: the camera reads its terminal voltage and the time left until its cut-off at
  the present draw. The emulated gauge is ideal (the simulator's own prediction); a real camera's
  is an estimate, which is why the harness measures the warning lead instead of trusting it.
  Instead of polling, the camera schedules its next look at the instant the nearest threshold is
  due and looks again whenever its draw or the supply changes, so 12 hours cost a few timers.
* **Behaviour**: low-battery warning when the time left falls to ``warning_lead_s`` (a log entry
  and a beep every ``warning_repeat_s``, heard in the clip's audio); graceful shutdown
  ``shutdown_reserve_s`` before the cut-off, which finalises the open file; brown-out when the
  voltage is below ``cutoff_v`` (a sudden drop, or a camera that skips the graceful shutdown),
  which, like a hard power cut, leaves only what the camera had made durable.
* **Durability**: a recording is made durable in fragments of ``fragment_s`` (fragmented MP4).
  After a cut, the file holds the fragments finished before the cut, minus the fault's
  ``power_loss_s``. (A finalised file is written in the plain layout: its frames are the same,
  and the checks read frames; only the interrupted file needs the fragment layout.)
* **Economy on the battery simulator**: an event is written with at most
  ``emulation.battery_footage_frames`` of its frames (all of its first and last two seconds,
  every k-th between) and with audio
  only up to ``emulation.battery_audio_max_s``: a 12-hour shift with 3 hours of recording then
  costs seconds. Power checks judge file ends, finalisation, fragments and beeps, which stay
  exact; a frame-counting check would see the thinned frames as gaps, so it is never hidden.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from harness.core.clock import Clock, Timer
from harness.emulator.camera_dock import DOCK_CHARGE_A
from harness.emulator.camera_parts import CameraState, EventTruth, Shot
from harness.emulator.clip_writer import fragment_index
from harness.emulator.faults import Behaviour
from harness.plan.profile import CameraProfile

log = logging.getLogger(__name__)

EPS_S = 1e-6  # thresholds due within this are due now
MIN_STEP_S = 1e-3  # never look again sooner than this (guards against float stalls)
BEEP_AMPLITUDE = 0.25
LOG_IN_FILE = 50  # power-log entries a file's metadata carries
FILE_EDGE_FRAMES = 3  # consecutive frames kept at each end of a thinned file (at least)


def file_edge_frames(strided: Counter[int]) -> int:
    """Consecutive frames to keep on each side of every file join of thinned footage, given how
    many strided frames fall in each file: enough that the frame-period steps of the edges
    (``n - 1`` at each end) outnumber the long steps between the strided frames (one more than
    there are of them), so the median pts step, which the analysis reads as the file's frame
    period, is the frame period in every file (with only three, a 5-minute file of a 20-minute
    event is mostly long steps and its time line is fitted on a period of tens of seconds)."""
    most = max(strided.values(), default=0)
    return max(FILE_EDGE_FRAMES, most // 2 + 3)


class PowerInput(Protocol):
    """What the camera's power circuit sees of its supply (the emulated instrument)."""

    @property
    def simulating(self) -> bool: ...

    def supply_voltage(self) -> float: ...

    def seconds_until_voltage(self, volts: float) -> float: ...

    def settle(self) -> None: ...


@dataclass
class PowerLogEntry:
    t: float
    event: str  # "power_on" | "low_battery" | "shutdown" | "brown_out" | "power_loss"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Shutdown:
    """Ground truth of one end of power (for tests and benchmarks; never used by the checks)."""

    t: float
    kind: str  # "graceful" | "brown-out" | "cut"
    voltage: float | None = None


class PoweredCamera(Protocol):
    """What the power circuit reads of its camera, and the one thing it does to it: switch it off."""

    @property
    def profile(self) -> CameraProfile: ...
    @property
    def behaviour(self) -> Behaviour: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def state(self) -> CameraState: ...
    @property
    def docked(self) -> bool: ...

    def power_down(self, now: float, cut: bool) -> None: ...

    def rtc(self, t: float) -> datetime: ...


class CameraPower:
    def __init__(self, camera: PoweredCamera) -> None:
        self.cam = camera
        self.spec = camera.profile.power
        self.b = camera.behaviour
        self.input: PowerInput | None = None
        self.log: list[PowerLogEntry] = []
        self.shutdowns: list[Shutdown] = []
        #: (first warning, end of that power period or None): the beeper sounds from each first
        #: warning every warning_repeat_s until the camera goes off.
        self.warning_periods: list[list[float | None]] = []
        self._writing = False
        self._writing_timer: Timer | None = None
        self._look_timer: Timer | None = None

    # -- settings after faults
    @property
    def cutoff_v(self) -> float:
        return self.b.cutoff_v if self.b.cutoff_v is not None else self.spec.cutoff_v

    @property
    def warning_lead_s(self) -> float:
        return self.b.warning_lead_s if self.b.warning_lead_s is not None else self.spec.warning_lead_s

    @property
    def warned_at(self) -> float | None:
        """The first warning of the present power period (None: not warned)."""
        if self.warning_periods and self.warning_periods[-1][1] is None:
            return self.warning_periods[-1][0]
        return None

    def attach(self, supply: PowerInput) -> None:
        """Connect the camera to its supply (without one it never runs out)."""
        self.input = supply

    # -- draw
    def state_name(self) -> str:
        state = self.cam.state.value
        return "writing" if state == "buffering" and self._writing else state

    def draw(self) -> float:
        """Amps the camera draws now (the supply's load); negative while docked: the dock powers the
        camera and charges its battery (harness/emulator/camera_dock.py)."""
        if self.cam.docked:
            return -DOCK_CHARGE_A
        name = self.state_name()
        amps = self.spec.draw_a.of(name)
        return amps * self.b.buffering_draw_scale if name == "buffering" else amps

    def changing(self) -> None:
        """The draw is about to change: book the charge drawn at the old draw first."""
        if self.input is not None:
            self.input.settle()

    def entered(self, old: CameraState, new: CameraState, now: float) -> None:
        """After a state change: start/stop the writing draw, keep the warning periods, look again."""
        if new.value == "booting":
            self._log(now, "power_on", voltage=self._voltage())
        if old.value == "recording" and new.value == "buffering" and self.spec.finalise_s > 0:
            self._writing = True
            self._writing_timer = self.cam.clock.call_at(now + self.spec.finalise_s, self._written)
        if new.value == "off":
            self._writing = False
            for timer in (self._writing_timer, self._look_timer):
                if timer is not None:
                    timer.cancel()
            self._writing_timer = self._look_timer = None
            if self.warned_at is not None:
                self.warning_periods[-1][1] = now
        self.look_soon()

    def _written(self) -> None:
        self.changing()
        self._writing = False
        self._writing_timer = None
        self.look_soon()

    # -- watching the battery
    def supply_changed(self) -> None:
        """The supply changed what it presents (a new state of charge, a voltage step): look again.
        Called from the supply's thread, so the look runs on the clock's thread."""
        self.look_soon()

    def look_soon(self) -> None:
        if self.input is None:
            return
        if self._look_timer is not None:
            self._look_timer.cancel()
        self._look_timer = self.cam.clock.call_at(self.cam.clock.now(), self._look)

    def _voltage(self) -> float | None:
        return None if self.input is None else round(self.input.supply_voltage(), 4)

    def _look(self) -> None:
        self._look_timer = None
        cam = self.cam
        state = cam.state.value
        if self.input is None or state == "off":
            return
        now = cam.clock.now()
        volts = self.input.supply_voltage()
        left = self.input.seconds_until_voltage(self.cutoff_v)
        if volts < self.cutoff_v or left <= EPS_S:
            self.brown_out(now, volts)
            return
        reserve = self.spec.shutdown_reserve_s if self.b.graceful_cutoff else 0.0
        to_shutdown = left - reserve  # the "time left" a camera shows: until it switches itself off
        graceful = self.b.graceful_cutoff and state != "booting"
        if graceful and to_shutdown <= EPS_S:
            self.shutdown(now, volts, left)
            return
        awake = state in ("buffering", "recording")
        if awake and self.warned_at is None and to_shutdown <= self.warning_lead_s + EPS_S:
            self.warning_periods.append([now, None])
            self._log(now, "low_battery", remaining_s=round(to_shutdown, 1), voltage=round(volts, 4))
        due = [to_shutdown if self.b.graceful_cutoff else left]
        if self.warned_at is None:
            due.append(to_shutdown - self.warning_lead_s)
        ahead = [d for d in due if d > EPS_S]
        if ahead and math.isfinite(min(ahead)):
            self._look_timer = cam.clock.call_at(now + max(min(ahead), MIN_STEP_S), self._look)

    def shutdown(self, now: float, volts: float, left: float) -> None:
        """Battery empty: finish the open file, then switch off (the supply stays connected)."""
        log.info("camera shuts down on low battery at %.1f s (%.3f V, %.1f s to cut-off)", now, volts, left)
        self._log(now, "shutdown", reason="battery", voltage=round(volts, 4))
        self.shutdowns.append(Shutdown(now, "graceful", volts))
        self.cam.power_down(now, cut=False)

    def brown_out(self, now: float, volts: float) -> None:
        """Voltage below the cut-off: the camera dies at once; only durable fragments remain."""
        log.info("camera browns out at %.1f s (%.3f V < %.3f V)", now, volts, self.cutoff_v)
        self._log(now, "brown_out", voltage=round(volts, 4))
        self.shutdowns.append(Shutdown(now, "brown-out", volts))
        self.cam.power_down(now, cut=True)

    def switched_off(self, now: float) -> None:
        """The camera was switched off with its power button (a graceful shutdown, supply still on)."""
        self._log(now, "shutdown", reason="button")
        self.shutdowns.append(Shutdown(now, "graceful"))

    def power_lost(self, now: float) -> None:
        """The supply was switched off under the camera (a hard cut)."""
        self._log(now, "power_loss")
        self.shutdowns.append(Shutdown(now, "cut"))

    def _log(self, t: float, event: str, **detail: Any) -> None:
        self.log.append(PowerLogEntry(t, event, detail))

    # -- what the recorder asks
    def log_for_file(self, end_t: float) -> list[dict[str, Any]]:
        """The camera's power log up to ``end_t`` (its last ``LOG_IN_FILE`` entries, kept across
        power cycles like an audit log), as it writes it into a file's metadata (camera clock,
        ISO 8601 UTC)."""
        entries = [e for e in self.log if e.t <= end_t + EPS_S][-LOG_IN_FILE:]
        return [
            {
                "utc": self.cam.rtc(e.t).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "event": e.event,
                **e.detail,
            }
            for e in entries
        ]

    def beep_times(self, t0: float, t1: float) -> list[float]:
        """Onsets of warning beeps in [t0, t1] (scene time)."""
        out: list[float] = []
        repeat = self.spec.warning_repeat_s
        for start, end in self.warning_periods:
            assert start is not None  # a period always has its first warning
            stop = t1 if end is None else min(t1, end)
            k = max(0, math.ceil((t0 - self.spec.warning_beep_s - start) / repeat))
            while (t := start + k * repeat) <= stop:
                out.append(t)
                k += 1
        return out

    def add_beeps(self, out: np.ndarray, t_heard: np.ndarray, rate: int) -> None:
        """Mix the warning beeps into microphone samples ``out`` heard at scene times ``t_heard``."""
        if out.size == 0 or not self.warning_periods:
            return
        length = self.spec.warning_beep_s
        for onset in self.beep_times(float(t_heard[0]) - length, float(t_heard[-1])):
            rel = t_heard - onset
            inside = (rel >= 0) & (rel < length)
            if inside.any():
                ramp = np.minimum(1.0, np.minimum(rel[inside], length - rel[inside]) / 0.005)  # 5 ms edges
                out[inside] += (
                    BEEP_AMPLITUDE * ramp * np.sin(2 * np.pi * self.spec.warning_beep_hz * rel[inside])
                ).astype(np.float32)

    @property
    def economy(self) -> bool:
        """Whether the footage economy of power tests applies (the camera runs on the simulator)."""
        return self.input is not None and self.input.simulating

    def thin(
        self, times: list[float], segment_s: float | None = None, durable_until: float | None = None
    ) -> list[float]:
        """The economy's frames of an event: every frame of its first and last two seconds (so where
        it starts and ends reads exactly, and most frames show the true frame period), every k-th
        frame between (at most ``battery_footage_frames`` in all), and, when the event is split
        into files of ``segment_s``, the first and last frames of each file (``FILE_EDGE_FRAMES``,
        more where a file holds more strided frames: see :func:`file_edge_frames`): a file then
        spans its whole length, and so does its audio (written up to its last frame, so no warning
        beep falls between files), and most of its pts steps are the frame period (what the
        analysis reads the file's frame rate and time line from). All kept frames stay on the
        sensor's grid: the thinning reads as dropped frames.

        ``durable_until``: a recording cut by a power loss is recoverable up to there (its last
        durable fragment, :meth:`durable_fragments`); every frame of the two fragments before it is
        kept, so where the recoverable footage ends reads exactly too, not a stride earlier."""
        budget = self.cam.profile.emulation.battery_footage_frames
        if not self.economy or budget is None or len(times) <= budget:
            return times
        edge = min(round(2 * self.cam.profile.video.fps), budget * 2 // 5)
        middle = times[edge:-edge]
        stride = -(-len(middle) // max(1, budget - 2 * edge))  # ceil
        kept = times[:edge] + middle[::stride] + times[-edge:]
        if durable_until is not None:
            reach = 2 * (self.spec.fragment_s or 1.0)
            kept = sorted(set(kept) | {t for t in times if durable_until - reach <= t <= durable_until})
        if not segment_s:
            return kept
        t0 = times[0]
        files = [int((t - t0 + 1e-9) // segment_s) for t in times]
        joins = [i for i in range(1, len(times)) if files[i] != files[i - 1]]
        n = file_edge_frames(Counter(files[edge + i] for i in range(0, len(middle), stride)))
        ends = {times[k] for j in joins for k in range(max(0, j - n), min(len(times), j + n))}
        return sorted(set(kept) | ends)

    def audio_wanted(self, event: EventTruth) -> bool:
        if not self.economy or event.stop_t is None:
            return True
        return event.stop_t - event.clip_start_t <= self.cam.profile.emulation.battery_audio_max_s

    def durable_until(self, event: EventTruth) -> float | None:
        """Until when a recording cut by a power loss was made durable (None: it was not cut)."""
        return None if event.cut_t is None else event.cut_t - self.b.power_loss_s

    def durable_fragments(self, shots: list[Shot], event: EventTruth) -> int:
        """How many fragments of the interrupted file ``shots`` were finished before the cut.

        Fragment k holds the frames whose pts (from the file's first frame) fall in
        [k, k+1) x ``fragment_s``; it is written out when that span has passed, so it survives if
        its span ended before the cut (less the fault's ``power_loss_s``). Only fragments that
        hold frames exist in the file (the economy may leave spans empty).
        """
        fragment = self.spec.fragment_s
        if fragment is None or event.cut_t is None or not shots:
            return 0
        durable_until = event.cut_t - self.b.power_loss_s  # as durable_until(event)
        first = shots[0]
        indices = sorted({fragment_index(s.pts_s - first.pts_s, fragment) for s in shots})
        return sum(1 for k in indices if first.t + (k + 1) * fragment <= durable_until + EPS_S)
