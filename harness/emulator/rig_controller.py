"""Emulated rig controller: the firmware core on a pty, its solenoids wired to the emulated camera."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from harness.core.clock import Clock
from harness.emulator.serial_port import PtyLineServer
from harness.firmware.rigctl_core import LIGHT_BATCH, RigControllerCore

log = logging.getLogger(__name__)

#: Commands that make the controller act (the moment a cable or a firmware is most likely to fail).
ACTIONS = ("PRESS", "HOLD", "RELEASE", "FLASH", "RELAY")
#: Line noise: not ASCII, but terminated, so the host reads it as one bad line.
GARBAGE_LINE = b"\xfe\x81\x00\xff\x13~\x9c\xc3(\n"
#: How long a hung controller stays silent before its watchdog restarts it (its own clock).
SILENCE_S = 5.0

Misbehaviour = Literal["vanish", "garbage", "silence"]


class EmulatedRigController:
    """Runs :class:`RigControllerCore` with ticks taken from the injected clock.

    ``drift_ppm`` makes the controller's crystal run fast or slow, so the host's tick-to-clock
    mapping is exercised as it is on a real board. ``stimulus`` receives the flash/beep
    switching (default: recorded in :attr:`stimuli` only); ``boot_ticks`` is the counter value
    at start (a board that has been up for a while).

    Misbehaviour switch: :attr:`misbehave_at_action` makes the next action command (PRESS, HOLD,
    RELEASE, FLASH) go wrong once instead of being done: ``vanish`` (the port is unplugged for
    good), ``garbage`` (a line of noise comes back) or ``silence`` (the controller ignores the host
    for :data:`SILENCE_S` of its clock, then answers again, as after a watchdog restart).
    """

    def __init__(
        self,
        clock: Clock,
        buttons: tuple[str, ...],
        drive: Callable[[str, bool], None],
        serial: str = "EMU-RIG-0001",
        drift_ppm: float = 0.0,
        stimulus: Callable[[bool], None] | None = None,
        boot_ticks: int = 0,
        relays: dict[str, Callable[[bool], None]] | None = None,
        light: Callable[[float, float], list[tuple[float, int]]] | None = None,
    ) -> None:
        """``relays``: the controller's relays by name, each wired to what it switches (the
        camera's dock contacts); their switching is recorded in :attr:`relay_edges` too.
        ``light``: the photodiode on the display's patch, as the light edges ``(t, level)`` it
        sees in a span (t0, t1] of the clock (None: no photodiode input)."""
        self.clock = clock
        self._rate = 1e6 * (1.0 + drift_ppm * 1e-6)
        self._boot = clock.now() - boot_ticks / self._rate
        self.stimuli: list[tuple[float, bool]] = []
        self._on_stimulus = stimulus
        self._relays = dict(relays or {})
        self.relay_edges: list[tuple[float, str, bool]] = []
        self.core = RigControllerCore(
            buttons=buttons,
            ticks_us=self._ticks,
            schedule=self._schedule,
            drive=drive,
            write=self._write,
            identity=f"BWC-RIG-EMU,1.3,{serial}",
            stimulus=self._stimulus,
            relays=tuple(self._relays),
            switch=self._switch,
            light=light is not None,
        )
        self._light = light
        self._light_until: float | None = None  # edges up to here are handed to the core
        self.misbehave_at_action: Misbehaviour | None = None
        self._silent_until = float("-inf")
        self.port = PtyLineServer(self._line, name="rigctl")

    @property
    def url(self) -> str:
        return self.port.path

    def _line(self, line: str) -> None:
        """One line from the host: to the firmware core, unless a misbehaviour takes it."""
        received = self.clock.now()
        if received < self._silent_until:
            return
        self._catch_up_light()
        words = line.split()
        kind = self.misbehave_at_action
        if kind is None or not words or words[0].upper() not in ACTIONS:
            self.core.feed_line(line)
            if self.core.light_on and self._light_until is None:
                self._light_until = received  # edges from the LIGHT ON on (the reply is already out)
            return
        self.misbehave_at_action = None
        log.warning("emulated rig controller at %s: %s instead of %r", self.url, kind, line)
        if kind == "vanish":
            self.port.vanish()
        elif kind == "garbage":
            self.port.write_raw(GARBAGE_LINE)
        else:
            self._silent_until = self.clock.now() + SILENCE_S

    def _catch_up_light(self) -> None:
        """The photodiode's edges since the last line, each on the tick it happened at (as the pin
        IRQ stamps them): edges are made when the host could next see them, not one timer each."""
        if self._light is None:
            return
        now = self.clock.now()
        if not self.core.light_on:
            self._light_until = None
            return
        start = self._light_until if self._light_until is not None else now
        for t, level in self._light(start, now):
            self.core.light_edge(level, round((t - self._boot) * self._rate))
            if len(self.core.light_held) >= LIGHT_BATCH:
                self.core.flush_light()  # sent as the board sends them, a batch at a time
        self._light_until = now

    def _ticks(self) -> int:
        return round((self.clock.now() - self._boot) * self._rate)

    def _schedule(self, when_us: int, fn: Callable[[], None]) -> None:
        self.clock.call_at(self._boot + when_us / self._rate, fn)

    def _stimulus(self, on: bool) -> None:
        self.stimuli.append((self.clock.now(), on))
        if self._on_stimulus is not None:
            self._on_stimulus(on)

    def _switch(self, relay: str, on: bool) -> None:
        self.relay_edges.append((self.clock.now(), relay, on))
        self._relays[relay](on)

    def _write(self, line: str) -> None:
        self.port.write_line(line)

    def close(self) -> None:
        self.port.close()
