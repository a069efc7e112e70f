"""Emulated body-worn camera: power, buttons, pre-event buffer and clip writing on a Clock.

The camera keeps no frames in memory. Its sensor runs on a fixed frame grid from the moment it
starts buffering; the buffer is the interval of that grid it would still hold. When an event
ends, the frames of the event are rendered from the scene (which is a function of time) and
encoded, so an hour of buffering costs nothing and a clip costs only its own frames.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import random
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from harness.core.clock import Clock, Timer
from harness.emulator.buttons import GestureRecogniser
from harness.emulator.camera_dock import CameraDock
from harness.emulator.camera_parts import CameraState, EventTruth, NextEvent
from harness.emulator.camera_power import CameraPower
from harness.emulator.capture import capture_model
from harness.emulator.faults import Behaviour
from harness.emulator.recorder import Recorder
from harness.plan.profile import CameraProfile
from harness.scene.compose import Scene

log = logging.getLogger(__name__)

#: What a clip of another camera says it is (misbehaviour ``foreign-serial``).
FOREIGN_SERIAL = "EMU-9999"
__all__ = ["FOREIGN_SERIAL", "EmulatedCamera"]


class EmulatedCamera:
    def __init__(
        self,
        profile: CameraProfile,
        behaviour: Behaviour,
        clock: Clock,
        scene: Scene,
        storage: Path,
        seed: int = 0,
        dock_view: Path | None = None,
    ) -> None:
        """``dock_view``: where the bench sees the storage while the camera is docked (None: the
        storage is reached where it is written, docked or not)."""
        self.profile = profile
        self.behaviour = behaviour
        self.clock = clock
        self.scene = scene
        self.storage = storage
        self.storage.mkdir(parents=True, exist_ok=True)
        self._rng = random.Random(seed ^ profile.emulation.frame_phase_seed)
        self.state = CameraState.OFF
        self.log: list[tuple[float, str]] = []
        self.events: list[EventTruth] = []
        self._grid0 = 0.0
        self._buffer_origin = 0.0
        self._boot_timer: Timer | None = None
        self._stop_timer: Timer | None = None
        self._current: EventTruth | None = None
        #: the supply is on (a camera with a power button may still be switched off)
        self.supplied = False
        self.buttons = GestureRecogniser(
            profile.gestures, clock, self._gesture_applies, self._gesture, on_armed=self._armed, on_lapsed=self._lapsed
        )
        self._clip_seq = 0
        self.serial = profile.serial  # what the camera writes into its file names and metadata
        #: Misbehaviour switch: the next saved event goes wrong once. ``no-clip``: nothing is written;
        #: ``two-clips``: it is saved twice; ``foreign-serial``: its files name another camera.
        self.misbehave_next_event: NextEvent | None = None
        self._powered_at = 0.0
        self.recorder = Recorder(self)
        self._capture = capture_model(profile, scene, seed)  # None when capture realism is off
        self.power = CameraPower(self)  # draw, fuel gauge, warning, shutdown (camera_power.py)
        self.dock = CameraDock(self, dock_view)  # docked: no buffering, charging (camera_dock.py)

    # -- inputs -------------------------------------------------------------------------
    def set_power(self, on: bool) -> None:
        """Power from the supply. Called from the supply's own thread, so it only changes state;
        a recording cut by power loss is written on the clock's thread, as the camera's own
        firmware would finish it after the fact. A camera with a power button (``switch_on:
        button``) stays off on a live supply until its ``power_on`` gesture."""
        now = self.clock.now()
        self.supplied = on
        if on and self.state is CameraState.OFF and self.profile.switch_on == "supply":
            self._boot(now)
        elif not on and self.state is not CameraState.OFF:
            self.power.power_lost(now)
            self.power_down(now, cut=True)

    def _boot(self, now: float) -> None:
        self._powered_at = now
        self._enter(CameraState.BOOTING, now)
        self._boot_timer = self.clock.call_at(now + self.behaviour.boot_s, self._booted)

    def power_down(self, now: float, cut: bool) -> None:
        """Switch off. ``cut``: power was lost (supply off, brown-out), so an open recording keeps
        only its durable fragments; otherwise (graceful shutdown) it is finalised first."""
        if self._boot_timer:
            self._boot_timer.cancel()
        self.buttons.reset()
        event = self._close_event(now) if self.state is CameraState.RECORDING else None
        if event is not None and cut:
            event.cut_t = now
        self._enter(CameraState.OFF, now)
        if event is not None:
            self.clock.call_at(now, lambda: self._write(event))

    def button(self, name: str, down: bool) -> None:
        """A solenoid edge, at the clock's current instant (the gesture firmware: buttons.py).
        Without power, or while booting, the buttons do nothing."""
        if name not in self.profile.buttons or not self.supplied or self.state is CameraState.BOOTING:
            return
        self.buttons.edge(name, down)

    # -- gestures -----------------------------------------------------------------------
    def _gesture_applies(self, name: str) -> bool:
        """Whether gesture ``name`` means anything in the camera's present state."""
        state = self.state
        if name == "power_on":
            return state is CameraState.OFF and self.supplied and self.profile.switch_on == "button"
        if name == "start":
            return state is CameraState.BUFFERING and not self.dock.docked
        if name == "stop":
            return state is CameraState.RECORDING
        if name == "power_off":
            return state is CameraState.BUFFERING
        return False

    def _armed(self, name: str, now: float) -> None:
        """The first press of a gesture that asks for confirmation; a camera with the
        ``stop-unconfirmed`` fault stops here instead of waiting for the confirming press."""
        self.log.append((now, f"gesture {name} armed"))
        if name == "stop" and self.behaviour.stop_unconfirmed:
            self._gesture(name, now)

    def _lapsed(self, name: str, now: float) -> None:
        self.log.append((now, f"gesture {name} not confirmed"))

    def _gesture(self, name: str, now: float) -> None:
        if not self._gesture_applies(name):
            self.log.append((now, f"gesture {name} ignored in state {self.state.value}"))
            return
        self.log.append((now, f"gesture {name}"))
        if name == "power_on":
            self._boot(now)
        elif name == "power_off":
            self.power.switched_off(now)
            self.power_down(now, cut=False)
        elif name == "start":
            self._start(now)
        elif name == "stop" and self._stop_timer is None:
            end = now + self.behaviour.stop_delay_s + self.behaviour.post_record_s
            self._stop_timer = self.clock.call_at(end, lambda: self._finalise(self.clock.now()))

    # -- dock ---------------------------------------------------------------------------
    @property
    def docked(self) -> bool:
        return self.dock.docked

    def docking(self, docked: bool, now: float) -> None:
        """In or out of the dock (camera_dock.py): a recording under way is saved before the camera
        goes into its dock, and the buffer starts empty when it comes out (unless the
        ``buffer-while-docked`` fault keeps it running)."""
        self.power.changing()  # the battery is settled at the old draw first
        if docked and self.state is CameraState.RECORDING:
            self._finalise(now)
        if not docked and not self.behaviour.buffer_while_docked:
            self._buffer_origin = now
        self.log.append((now, "docked" if docked else "undocked"))
        self.power.look_soon()

    # -- states -------------------------------------------------------------------------
    def _enter(self, state: CameraState, now: float) -> None:
        self.power.changing()  # the battery is settled at the old draw first
        old, self.state = self.state, state
        self.log.append((now, f"state {state.value}"))
        self.power.entered(old, state, now)

    def _booted(self) -> None:
        now = self.clock.now()
        self._enter(CameraState.BUFFERING, now)
        self._grid0 = now + self._rng.uniform(0, self.profile.frame_period_s)
        self._buffer_origin = now

    def _start(self, now: float) -> None:
        self._enter(CameraState.RECORDING, now)
        # The buffer holds the frames of the last buffer_s seconds: the first one kept is the frame
        # nearest to (activation - buffer_s), and never one from before buffering (re)started.
        half = self.profile.frame_period_s / 2
        clip_start = max(self._buffer_origin, now - self.held_buffer_s() - half)
        self._current = EventTruth(activation_t=now, clip_start_t=clip_start)
        self._limit_length(self._current)

    def held_buffer_s(self) -> float:
        """How much the pre-event buffer holds: its configured length, or less when its own storage
        fills first (the bitrate, hence the bytes per second, grows with the scene's complexity)."""
        b = self.behaviour
        limit = b.buffer_limit_s
        if limit is None:
            return b.buffer_s
        return min(b.buffer_s, limit / self.scene.bitrate_factor)

    def _limit_length(self, event: EventTruth) -> None:
        """A camera with a maximum recording length ends the event when its recording reaches it
        (counted from the event's first frame, so its file stays within the split length) and at
        once starts a new one."""
        longest = self.profile.max_recording_s
        if longest is None:
            return
        end = event.clip_start_t + longest - self.profile.frame_period_s / 2
        self.clock.call_at(max(end, self.clock.now()), functools.partial(self._split, event))

    def _split(self, event: EventTruth) -> None:
        """The maximum recording length was reached: the event ends, the next begins with the next frame."""
        now = self.clock.now()
        if self._current is not event or self._stop_timer is not None:
            return  # stopped meanwhile, or a stop is already under way
        closed = self._close_event(now)
        if closed is None:
            return
        self.log.append((now, "maximum recording length: new recording"))
        self._write(closed)
        # the frame at `now` is the old event's; a faulty split loses or repeats frames as a file split does
        b, period = self.behaviour, self.profile.frame_period_s
        nxt = EventTruth(
            activation_t=now, clip_start_t=now + 1e-6 + (b.segment_gap_frames - b.segment_overlap_frames) * period
        )
        self._current = nxt
        self._limit_length(nxt)

    def _close_event(self, end: float) -> EventTruth | None:
        """End the current event at ``end``; the caller writes it."""
        event = self._current
        if event is None or self.state is not CameraState.RECORDING:
            return None
        if self._stop_timer is not None:  # a pending stop belongs to this event only
            self._stop_timer.cancel()
            self._stop_timer = None
        self._current = None
        event.stop_t = end
        self.events.append(event)
        return event

    def _finalise(self, end: float) -> None:
        event = self._close_event(end)
        if event is None:
            return
        self._write(event)
        self._enter(CameraState.BUFFERING, end)
        if self.behaviour.buffer_after_stop == "refill":
            self._buffer_origin = end

    # -- frames -------------------------------------------------------------------------
    def frame_times(self, start: float, end: float) -> list[float]:
        """Frame times (exposure midpoints) of the sensor grid within [start, end]."""
        period = self.profile.frame_period_s
        k0 = math.ceil((start - self._grid0) / period - 1e-9)
        k1 = math.floor((end - self._grid0) / period + 1e-9)
        return [self._grid0 + k * period for k in range(k0, k1 + 1)]

    def capture(self, t: float) -> np.ndarray:
        """The sensor image of the frame whose exposure is centred on scene time ``t``."""
        if self._capture is not None:  # capture realism (harness/emulator/capture.py)
            return self._capture.capture(t)
        exposure = self.profile.emulation.exposure_s
        return self.scene.expose(t - exposure / 2, t + exposure / 2)

    def rtc(self, t: float) -> datetime:
        """The camera's own clock at scene time ``t``: set at power-on with an offset, then drifting."""
        b = self.behaviour
        error = b.clock_offset_s + b.clock_drift_ppm * 1e-6 * (t - self._powered_at)
        return self.clock.utc(t) + timedelta(seconds=error)

    def _write(self, event: EventTruth) -> None:
        self._clip_seq += 1
        kind, self.misbehave_next_event = self.misbehave_next_event, None
        if kind == "no-clip":
            log.warning("camera %s saves nothing for event %d", self.serial, self._clip_seq)
            return
        own = self.serial
        self.serial = FOREIGN_SERIAL if kind == "foreign-serial" else own
        try:
            self.recorder.write(event, self._clip_seq)
        finally:
            self.serial = own
        if kind == "two-clips":  # the same event once more, under the next clip number (truth keeps one)
            self._clip_seq += 1
            self.recorder.write(copy.deepcopy(event), self._clip_seq)
