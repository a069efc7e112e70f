"""Emulated body-worn camera: power, buttons, pre-event buffer and clip writing on a Clock.

The camera keeps no frames in memory. Its sensor runs on a fixed frame grid from the moment it
starts buffering; the buffer is the interval of that grid it would still hold. When an event
ends, the frames of the event are rendered from the scene (which is a function of time) and
encoded, so an hour of buffering costs nothing and a clip costs only its own frames.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Iterator

import numpy as np

from harness.clock import Clock, Timer
from harness.emulator.clip_writer import write_clip
from harness.emulator.faults import Behaviour
from harness.profile import CameraProfile
from harness.scene import Scene

log = logging.getLogger(__name__)


class CameraState(Enum):
    OFF = "off"
    BOOTING = "booting"
    BUFFERING = "buffering"
    RECORDING = "recording"


@dataclass
class EventTruth:
    """Ground truth of one saved event, for tests and benchmarks (never used by the checks)."""

    activation_t: float
    clip_start_t: float
    stop_t: float | None = None
    path: Path | None = None
    first_frame_t: float | None = None
    last_frame_t: float | None = None
    frames: int = 0
    dropped: list[float] = field(default_factory=list)


class EmulatedCamera:
    def __init__(
        self,
        profile: CameraProfile,
        behaviour: Behaviour,
        clock: Clock,
        scene: Scene,
        storage: Path,
        seed: int = 0,
    ) -> None:
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
        self._down_since: dict[str, float | None] = {b: None for b in profile.buttons}
        self._press_train: dict[str, list[float]] = {b: [] for b in profile.buttons}
        self._clip_seq = 0

    # -- inputs -------------------------------------------------------------------------
    def set_power(self, on: bool) -> None:
        now = self.clock.now()
        if on and self.state is CameraState.OFF:
            self._enter(CameraState.BOOTING, now)
            self._boot_timer = self.clock.call_at(now + self.behaviour.boot_s, self._booted)
        elif not on and self.state is not CameraState.OFF:
            if self._boot_timer:
                self._boot_timer.cancel()
            if self.state is CameraState.RECORDING:
                self._finalise(now)
            self._enter(CameraState.OFF, now)

    def button(self, name: str, down: bool) -> None:
        """A solenoid edge, at the clock's current instant."""
        now = self.clock.now()
        if name not in self._down_since or self.state in (CameraState.OFF, CameraState.BOOTING):
            return
        if down:
            self._down_since[name] = now
            self._on_press(name, now)
            for gname, g in self.profile.gestures.items():
                if g.button == name and g.hold_s is not None:
                    self.clock.call_at(now + g.hold_s, lambda g=gname, n=name, t=now: self._hold_reached(g, n, t))
        else:
            self._down_since[name] = None

    # -- gestures -----------------------------------------------------------------------
    def _on_press(self, button: str, now: float) -> None:
        train = self._press_train[button]
        for gname, g in self.profile.gestures.items():
            if g.button != button or g.hold_s is not None:
                continue
            window = g.press_s + g.gap_s + 0.25
            if train and now - train[-1] > window:
                train.clear()
            train.append(now)
            if len(train) >= g.presses:
                train.clear()
                self._gesture(gname, now)
            return

    def _hold_reached(self, gesture: str, button: str, pressed_at: float) -> None:
        if self._down_since.get(button) == pressed_at:
            self._gesture(gesture, self.clock.now())

    def _gesture(self, name: str, now: float) -> None:
        self.log.append((now, f"gesture {name}"))
        if name == "start" and self.state is CameraState.BUFFERING:
            self._start(now)
        elif name == "stop" and self.state is CameraState.RECORDING and self._stop_timer is None:
            end = now + self.behaviour.stop_delay_s + self.behaviour.post_record_s
            self._stop_timer = self.clock.call_at(end, lambda: self._finalise(self.clock.now()))

    # -- states -------------------------------------------------------------------------
    def _enter(self, state: CameraState, now: float) -> None:
        self.state = state
        self.log.append((now, f"state {state.value}"))

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
        clip_start = max(self._buffer_origin, now - self.behaviour.buffer_s - half)
        self._current = EventTruth(activation_t=now, clip_start_t=clip_start)

    def _finalise(self, end: float) -> None:
        event = self._current
        if event is None or self.state is not CameraState.RECORDING:
            return
        if self._stop_timer is not None:  # a pending stop belongs to this event only
            self._stop_timer.cancel()
            self._stop_timer = None
        self._current = None
        event.stop_t = end
        self._write(event)
        self.events.append(event)
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

    def _frames(self, event: EventTruth) -> Iterator[tuple[float, np.ndarray]]:
        assert event.stop_t is not None
        exposure = self.profile.emulation.exposure_s
        to_drop = self.behaviour.drop_after_activation
        for t in self.frame_times(event.clip_start_t, event.stop_t):
            if to_drop and t >= event.activation_t:
                to_drop -= 1
                event.dropped.append(t)
                continue
            if event.first_frame_t is None:
                event.first_frame_t = t
            event.last_frame_t = t
            yield t, self.scene.expose(t - exposure / 2, t + exposure / 2)

    def _write(self, event: EventTruth) -> None:
        self._clip_seq += 1
        start_utc = self.clock.utc(event.clip_start_t)
        name = f"{self.profile.serial}_{start_utc:%Y%m%d_%H%M%S}_{self._clip_seq:04d}{self.profile.clip_suffix}"
        path = self.storage / name
        event.frames = write_clip(
            path, self._frames(event), self.profile.video.fps, self.profile.video.bitrate_kbps, start_utc
        )
        event.path = path
        log.info("camera wrote %s (%d frames)", path.name, event.frames)
