"""Emulated rig controller: the firmware core on a pty, its solenoids wired to the emulated camera."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from harness.core.clock import Clock
from harness.emulator.serial_port import PtyLineServer
from harness.firmware.rigctl_core import RigControllerCore

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
    ) -> None:
        """``relays``: the controller's relays by name, each wired to what it switches (the
        camera's dock contacts); their switching is recorded in :attr:`relay_edges` too."""
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
            identity=f"BWC-RIG-EMU,1.2,{serial}",
            stimulus=self._stimulus,
            relays=tuple(self._relays),
            switch=self._switch,
        )
        self.misbehave_at_action: Misbehaviour | None = None
        self._silent_until = float("-inf")
        self.port = PtyLineServer(self._line, name="rigctl")

    @property
    def url(self) -> str:
        return self.port.path

    def _line(self, line: str) -> None:
        """One line from the host: to the firmware core, unless a misbehaviour takes it."""
        if self.clock.now() < self._silent_until:
            return
        words = line.split()
        kind = self.misbehave_at_action
        if kind is None or not words or words[0].upper() not in ACTIONS:
            self.core.feed_line(line)
            return
        self.misbehave_at_action = None
        log.warning("emulated rig controller at %s: %s instead of %r", self.url, kind, line)
        if kind == "vanish":
            self.port.vanish()
        elif kind == "garbage":
            self.port.write_raw(GARBAGE_LINE)
        else:
            self._silent_until = self.clock.now() + SILENCE_S

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
