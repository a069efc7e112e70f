"""Emulated rig controller: the firmware core on a pty, its solenoids wired to the emulated camera."""

from __future__ import annotations

from typing import Callable

from harness.clock import Clock
from harness.emulator.serial_port import PtyLineServer
from harness.firmware.rigctl_core import RigControllerCore


class EmulatedRigController:
    """Runs :class:`RigControllerCore` with ticks taken from the injected clock.

    ``drift_ppm`` makes the controller's crystal run fast or slow, so the host's tick-to-clock
    mapping is exercised as it is on a real board. ``stimulus`` receives the flash/beep
    switching (default: recorded in :attr:`stimuli` only); ``boot_ticks`` is the counter value
    at start (a board that has been up for a while).
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
    ) -> None:
        self.clock = clock
        self._rate = 1e6 * (1.0 + drift_ppm * 1e-6)
        self._boot = clock.now() - boot_ticks / self._rate
        self.stimuli: list[tuple[float, bool]] = []
        self._on_stimulus = stimulus
        self.core = RigControllerCore(
            buttons=buttons,
            ticks_us=self._ticks,
            schedule=self._schedule,
            drive=drive,
            write=self._write,
            identity=f"BWC-RIG-EMU,1.1,{serial}",
            stimulus=self._stimulus,
        )
        self.port = PtyLineServer(self.core.feed_line, name="rigctl")

    @property
    def url(self) -> str:
        return self.port.path

    def _ticks(self) -> int:
        return round((self.clock.now() - self._boot) * self._rate)

    def _schedule(self, when_us: int, fn: Callable[[], None]) -> None:
        self.clock.call_at(self._boot + when_us / self._rate, fn)

    def _stimulus(self, on: bool) -> None:
        self.stimuli.append((self.clock.now(), on))
        if self._on_stimulus is not None:
            self._on_stimulus(on)

    def _write(self, line: str) -> None:
        self.port.write_line(line)

    def close(self) -> None:
        self.port.close()
