"""The emulated supply as an instrument: its command table and :class:`SupplyEmulator`, the
transport-free model (state, error queue, behaviour, dispatch) that executes program messages."""

from __future__ import annotations

import logging
import math
import random
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.emulator.scpi.battery import BatterySimulator
from harness.emulator.scpi.model import (
    DEFAULT_CURRENT,
    DEFAULT_IDENTITY,
    DEFAULT_VOLTAGE,
    Identity,
    SupplyModel,
    SupplyState,
)
from harness.emulator.scpi.parser import HEADER_SYNTAX, CommandTable, ScpiError, as_scpi_error, split_outside_quotes
from harness.emulator.scpi.simulator import battery_commands
from harness.emulator.scpi.supply import common_commands, entry_commands, power_supply_commands, system_commands

if TYPE_CHECKING:  # only for annotations
    from harness.core.clock import Clock

log = logging.getLogger(__name__)

#: Error queue depth; when full, the newest entry is replaced by -350 (SCPI 1999, 21.8).
ERROR_QUEUE_SIZE = 32


#: Every command group of the emulated instrument, registered in this order.
COMMAND_GROUPS: tuple[Callable[[CommandTable[SupplyModel]], None], ...] = (
    common_commands,
    system_commands,
    entry_commands,
    power_supply_commands,
    battery_commands,
)


def build_command_table(
    groups: Sequence[Callable[[CommandTable[SupplyModel]], None]] = COMMAND_GROUPS,
) -> CommandTable[SupplyModel]:
    """The command table of ``groups`` (leave out ``battery_commands`` for a plain supply)."""
    table: CommandTable[SupplyModel] = CommandTable()
    for register in groups:
        register(table)
    return table


#: A supply without the battery-simulator option: ``:BATT`` headers are undefined (-113).
PLAIN_SUPPLY_GROUPS = tuple(g for g in COMMAND_GROUPS if g is not battery_commands)


@dataclass
class ReadingNoise:
    """Noise on the supply's current readings, as a bench supply's readback shows it: a floor plus
    a fraction of the reading (standard deviations), from a seeded generator so a run repeats."""

    floor_a: float = 0.0005
    fraction: float = 0.001
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def read(self, amps: float) -> float:
        if amps < 0:  # a battery simulator sinking a charge current
            return amps + self._rng.gauss(0.0, self.floor_a - self.fraction * amps)
        return max(0.0, amps + self._rng.gauss(0.0, self.floor_a + self.fraction * amps))


class SupplyEmulator:
    """Transport-free model of the supply: feed it lines, get replies.

    One command executes at a time (like a real instrument) under ``lock``; callbacks run in
    the calling connection's thread while it is held, after the state changed, so they must
    not talk SCPI to this emulator from another thread and wait for the answer.
    """

    def __init__(
        self,
        identity: Identity = DEFAULT_IDENTITY,
        on_output: Callable[[bool], None] | None = None,
        load_current: Callable[[], float] | None = None,
        clock: Clock | None = None,
        table: CommandTable[SupplyModel] | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.identity = identity
        self.on_output = on_output
        self.load_current = load_current or (lambda: 0.0)
        self.clock = clock  # the battery model's time base (None: time stands still)
        #: Called (lock held) after a command changed what the terminals supply, so the load can react.
        self.on_change = on_change
        self.table = table or build_command_table()
        self.state = SupplyState()
        self.lock = threading.RLock()
        self.error_on_next: ScpiError | int | tuple[int, str] | None = None
        #: noise on current readings (None: exact readings, for tests that compare figures)
        self.reading_noise: ReadingNoise | None = None
        self._errors: deque[ScpiError] = deque()
        self.state.battery.settled_at = self.now()

    # -- error queue
    def push_error(self, error: ScpiError | int | tuple[int, str]) -> None:
        error = as_scpi_error(error)
        with self.lock:
            log.debug("emulated supply queues error %s", error.entry())
            if len(self._errors) >= ERROR_QUEUE_SIZE:
                self._errors[-1] = ScpiError(-350)
            else:
                self._errors.append(error)

    def pop_error(self) -> str:
        with self.lock:
            return self._errors.popleft().entry() if self._errors else ScpiError(0).entry()

    def error_count(self) -> int:
        with self.lock:
            return len(self._errors)

    def clear_errors(self) -> None:
        with self.lock:
            self._errors.clear()

    # -- behaviour
    def set_output(self, on: bool) -> None:
        with self.lock:
            changed = self.state.output != on
            if changed:
                self.settle()  # the charge drawn so far was drawn with the old output state
            self.state.output = on
            if changed and self.on_output is not None:
                try:
                    self.on_output(on)
                except Exception:  # the rig's emulator is broken: say so through SCPI too
                    log.exception("on_output(%s) callback failed", on)
                    self.push_error(ScpiError(-300, "Device-specific error;output callback failed"))

    def set_function(self, name: str) -> None:
        """Select POWER / TEST / SIMULATOR; a change switches the output off first, as instruments do."""
        with self.lock:
            if name != self.state.function:
                self.set_output(False)
                self.state.function = name
                self.changed()

    def reset(self) -> None:
        with self.lock:
            self.set_output(False)
            self.state.voltage_set = DEFAULT_VOLTAGE
            self.state.current_limit = DEFAULT_CURRENT
            self.state.function = "POWER"
            self.state.battery = BatterySimulator(settled_at=self.now())
            self.changed()

    @property
    def simulating(self) -> bool:
        """Whether the terminals present the battery model (SIMULATOR function)."""
        return self.state.function == "SIMULATOR"

    def now(self) -> float:
        return self.clock.now() if self.clock is not None else 0.0

    def _load(self) -> float:
        """What the load asks for now (A): >= 0 from a plain supply; negative from the battery
        simulator when the load charges the battery (a docked camera). An exception here is an
        emulator bug."""
        try:
            amps = float(self.load_current())
            return amps if self.simulating else max(0.0, amps)
        except Exception as exc:
            log.exception("load_current callback failed")
            raise ScpiError(-300, "Device-specific error;load model failed") from exc

    def settle(self) -> None:
        """Book the battery charge drawn since the last settle. The load calls this *before* its
        draw changes; every command that reads or changes the battery calls it first."""
        with self.lock:
            amps = self._load() if self.state.output and self.simulating else 0.0
            self.state.battery.settle(self.now(), amps)

    def changed(self) -> None:
        """Tell the load that what the terminals supply has changed (never raises)."""
        if self.on_change is None:
            return
        try:
            self.on_change()
        except Exception:
            log.exception("on_change callback failed")
            self.push_error(ScpiError(-300, "Device-specific error;load callback failed"))

    # -- what the load sees (the emulated camera's power input and fuel gauge)
    def supply_voltage(self) -> float:
        """Volts at the terminals under the present load; 0 with the output off."""
        with self.lock:
            if not self.state.output:
                return 0.0
            if not self.simulating:
                return self.state.voltage_set
            self.settle()
            return self.state.battery.terminal_voltage(self._load())

    def seconds_until_voltage(self, volts: float) -> float:
        """Seconds until the terminals fall to ``volts`` if the present load continues
        (``inf`` from a bench supply, whose voltage does not sag)."""
        with self.lock:
            if not self.state.output:
                return 0.0
            if not self.simulating:
                return 0.0 if self.state.voltage_set <= volts else math.inf
            self.settle()
            return self.state.battery.seconds_until(volts, self._load())

    def measured_voltage(self) -> float:
        """Terminal voltage: the setpoint in power-supply mode, the battery model's terminal
        voltage under the present load in SIMULATOR mode; 0 with the output off."""
        return self.supply_voltage()

    def measured_current(self) -> float:
        """What the load draws, clipped by the active current limit, with the reading's noise; 0
        with the output off."""
        with self.lock:
            if not self.state.output:
                return 0.0
            amps = self._load()
            limit = self.state.battery.current_limit if self.simulating else self.state.current_limit
            amps = min(amps, limit)
            return amps if self.reading_noise is None else self.reading_noise.read(amps)

    # -- parsing and dispatch
    def execute_line(self, line: str) -> str | None:
        """Run one program message; return the joined query replies or None.

        After an error the rest of the message is discarded, so ``VOLT 99;OUTP ON`` does not
        switch on at an old setpoint.
        """
        replies: list[str] = []
        path: list[str] = []
        for unit in split_outside_quotes(line, ";"):
            if not unit.strip():
                continue
            try:
                with self.lock:
                    reply, path = self._execute_unit(unit.strip(), path)
            except ScpiError as error:
                self.push_error(error)
                break
            if reply is not None:
                replies.append(reply)
        return ";".join(replies) if replies else None

    def _execute_unit(self, unit: str, path: list[str]) -> tuple[str | None, list[str]]:
        header, *rest = re.split(r"[ \t]+", unit, maxsplit=1)
        argtext = rest[0] if rest else ""
        if not header.isascii() or not header.isprintable():
            raise ScpiError(-101)
        if not HEADER_SYNTAX.match(header):
            raise ScpiError(-113)
        is_query = header.endswith("?")
        header = header.rstrip("?")
        if header.startswith("*"):
            tokens, new_path = [header], path  # common commands leave the path alone
        else:
            parts = header.lstrip(":").split(":")
            tokens = parts if header.startswith(":") else path + parts
            new_path = tokens[:-1]
        command = self.table.find(tokens)
        if command is None:
            raise ScpiError(-113)
        handler = command.query if is_query else command.write
        if handler is None:
            raise ScpiError(-113)
        if self.error_on_next is not None and not command.diagnostic:
            injected, self.error_on_next = as_scpi_error(self.error_on_next), None
            raise injected
        argtext = argtext.strip()
        args = [a.strip() for a in split_outside_quotes(argtext, ",")] if argtext else []
        return handler(self, args), new_path
