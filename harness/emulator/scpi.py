"""Emulated bench supply (Keithley 2281S-20-6, power-supply mode) over a real TCP socket.

The harness talks to a real instrument through pyvisa; on an emulated rig it talks to this
server through exactly the same pyvisa-py SOCKET path, so the driver code under test is the
production driver, byte for byte. Three layers, each usable alone:

* a small SCPI parser (:class:`CommandTable`, :func:`parse_numeric`, :func:`parse_bool`):
  long/short mnemonics, optional ``[...]`` nodes, ``;`` chaining with the SCPI current-path
  rule, queries, unit suffixes, MIN/MAX/DEF, and the standard error queue;
* :class:`SupplyEmulator`: the instrument model (state, error queue, command handlers). It is
  coupled to the emulated camera through two callbacks: ``on_output(on)`` and
  ``load_current() -> amps``;
* :class:`ScpiServer`: the threaded line-oriented TCP transport with misbehaviour switches
  (``mute``, ``garble``, ``error_on_next``) so driver error paths can be tested for real.

Battery simulator (``:ENTR:FUNC SIMULATOR``): the ``:BATTery:...`` subset of the 2281S is one
more registration function in :data:`COMMAND_GROUPS`. The terminal voltage then comes from a
battery model (:mod:`harness.emulator.battery`) discharged by the load current over the injected
Clock; the load (the emulated camera) settles the discharge before its draw changes
(:meth:`SupplyEmulator.settle`) and reads its own supply through :meth:`SupplyEmulator.supply_voltage`
and :meth:`SupplyEmulator.seconds_until_voltage` (its fuel gauge). In the emulator, commands of the
other function are refused with -221 (settings conflict); the physical output is shared, so
``:OUTP`` and ``:BATT:OUTP`` switch the same terminals. Changing the function switches the output off.
"""

from __future__ import annotations

import logging
import math
import re
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

from harness.emulator.battery import BatterySimulator, find_model

if TYPE_CHECKING:  # only for annotations
    from harness.core.clock import Clock

log = logging.getLogger(__name__)

#: Longest accepted program message (bytes, without terminator). Longer lines are discarded
#: whole and reported as -363, so a runaway client cannot grow the server's memory.
MAX_LINE = 4096
#: Error queue depth; when full, the newest entry is replaced by -350 (SCPI 1999, 21.8).
ERROR_QUEUE_SIZE = 32

VOLTAGE_RANGE = (0.0, 20.0)
CURRENT_RANGE = (0.1, 6.1)
SOC_RANGE = (0.0, 100.0)  # percent
CAPACITY_RANGE = (0.001, 99.0)  # Ah
#: Values after *RST / for ``DEF``. The real instrument's factory defaults are not relied upon.
DEFAULT_VOLTAGE = 0.0
DEFAULT_CURRENT = 1.0

#: What a garbled reply looks like: not ASCII, not a number, but properly terminated so the
#: client reads it as one (bad) message rather than timing out.
GARBAGE_REPLY = b"\xfe\xb5#?\x00gArB\x1b\xff\n"

STANDARD_ERRORS: dict[int, str] = {
    0: "No error",
    -100: "Command error",
    -101: "Invalid character",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -131: "Invalid suffix",
    -200: "Execution error",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -300: "Device-specific error",
    -350: "Queue overflow",
    -363: "Input buffer overrun",
}


class ScpiError(Exception):
    """A SCPI error a handler raises; the emulator turns it into an error-queue entry."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message if message is not None else STANDARD_ERRORS.get(code, "Error")
        super().__init__(self.entry())

    def entry(self) -> str:
        """The text ``SYST:ERR?`` returns for this error."""
        return f'{self.code},"{self.message}"'


def as_scpi_error(error: ScpiError | int | tuple[int, str]) -> ScpiError:
    """Accept ``-222``, ``(-222, "text")`` or a ScpiError (used by ``error_on_next``)."""
    if isinstance(error, ScpiError):
        return error
    if isinstance(error, int):
        return ScpiError(error)
    code, message = error
    return ScpiError(code, message)


# --------------------------------------------------------------------------- parser


@dataclass(frozen=True)
class Mnemonic:
    """One header node. ``VOLTage`` matches VOLT and VOLTAGE (any case), nothing between."""

    short: str
    long: str
    optional: bool = False

    @classmethod
    def parse(cls, text: str, optional: bool = False) -> "Mnemonic":
        if text.startswith("*"):
            return cls(text.upper(), text.upper(), optional)
        short = "".join(c for c in text if c.isupper() or c.isdigit())
        return cls(short or text.upper(), text.upper(), optional)

    def matches(self, token: str) -> bool:
        token = token.upper()
        return token == self.short or token == self.long


_PATTERN_NODE = re.compile(r"\[:([A-Za-z][A-Za-z0-9]*)\]|:?(\*?[A-Za-z][A-Za-z0-9]*)")


def compile_header(pattern: str) -> tuple[Mnemonic, ...]:
    """``"[:SOURce]:VOLTage[:LEVel]"`` -> nodes; brackets mark optional nodes."""
    nodes: list[Mnemonic] = []
    pos = 0
    while pos < len(pattern):
        m = _PATTERN_NODE.match(pattern, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad SCPI header pattern {pattern!r} at {pos}")
        if m.group(1):
            nodes.append(Mnemonic.parse(m.group(1), optional=True))
        else:
            nodes.append(Mnemonic.parse(m.group(2)))
        pos = m.end()
    return tuple(nodes)


def _match_nodes(nodes: Sequence[Mnemonic], tokens: Sequence[str]) -> bool:
    """True if ``tokens`` spell ``nodes`` with some optional nodes left out."""

    def walk(i: int, j: int) -> bool:
        if j == len(nodes):
            return i == len(tokens)
        node = nodes[j]
        if i < len(tokens) and node.matches(tokens[i]) and walk(i + 1, j + 1):
            return True
        return node.optional and walk(i, j + 1)

    return walk(0, 0)


Handler = Callable[["SupplyEmulator", list[str]], "str | None"]


@dataclass(frozen=True)
class ScpiCommand:
    """A header with its set handler and/or query handler (either may be absent)."""

    pattern: str
    nodes: tuple[Mnemonic, ...]
    write: Handler | None = None
    query: Handler | None = None
    #: Diagnostic commands (the error queue) are never hit by ``error_on_next``.
    diagnostic: bool = False


class CommandTable:
    """Header patterns -> handlers. Patterns are SCPI notation, e.g. ``:OUTPut[:STATe]``."""

    def __init__(self) -> None:
        self._commands: list[ScpiCommand] = []

    def add(
        self,
        pattern: str,
        *,
        write: Handler | None = None,
        query: Handler | None = None,
        diagnostic: bool = False,
    ) -> None:
        if write is None and query is None:
            raise ValueError(f"{pattern}: needs a write or a query handler")
        self._commands.append(ScpiCommand(pattern, compile_header(pattern), write, query, diagnostic))

    def find(self, tokens: Sequence[str]) -> ScpiCommand | None:
        for command in self._commands:
            if _match_nodes(command.nodes, tokens):
                return command
        return None

    def __len__(self) -> int:
        return len(self._commands)


def split_outside_quotes(text: str, sep: str) -> list[str]:
    """Split on ``sep`` except inside "..." or '...' string data."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            current.append(ch)
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


_NUMBER = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)$")
#: SCPI suffix multipliers; note M is milli (MA = milliampere, MV = millivolt).
_PREFIXES = {"": 1.0, "M": 1e-3, "U": 1e-6, "K": 1e3}
_MIN = Mnemonic.parse("MINimum")
_MAX = Mnemonic.parse("MAXimum")
_DEF = Mnemonic.parse("DEFault")


def parse_numeric(arg: str, unit: str, lo: float, hi: float, default: float) -> float:
    """Numeric program data with optional unit suffix, or MIN/MAX/DEF; range-checked."""
    arg = arg.strip()
    if not arg:
        raise ScpiError(-109)
    if _MIN.matches(arg):
        return lo
    if _MAX.matches(arg):
        return hi
    if _DEF.matches(arg):
        return default
    m = _NUMBER.match(arg)
    if not m:
        raise ScpiError(-224 if arg.isalpha() else -104)
    suffix = m.group(2).upper()
    scale = 1.0
    if suffix:
        prefix = suffix[: -len(unit)] if suffix.endswith(unit) else None
        if prefix is None or prefix not in _PREFIXES:
            raise ScpiError(-131)
        scale = _PREFIXES[prefix]
    value = float(m.group(1)) * scale
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ScpiError(-222)
    return value


def parse_bool(arg: str) -> bool:
    """Boolean program data: ON/OFF/1/0 (any case)."""
    word = arg.strip().upper()
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    if not word:
        raise ScpiError(-109)
    raise ScpiError(-224)


def _one_arg(args: list[str]) -> str:
    if not args or not args[0].strip():
        raise ScpiError(-109)
    if len(args) > 1:
        raise ScpiError(-108)
    return args[0]


def _no_args(args: list[str]) -> None:
    if args:
        raise ScpiError(-108)


def _fmt(value: float) -> str:
    return f"{value:.6E}"


_HEADER = re.compile(r"^(?:\*[A-Za-z]+|:?[A-Za-z][A-Za-z0-9]*(?::[A-Za-z][A-Za-z0-9]*)*)\??$")


# --------------------------------------------------------------------------- instrument


@dataclass(frozen=True)
class Identity:
    """What ``*IDN?`` reports; configurable so tests can tell rigs apart."""

    manufacturer: str = "KEITHLEY INSTRUMENTS"
    model: str = "MODEL 2281S-20-6"
    serial: str = "4466001"
    firmware: str = "02.03.0008"

    def idn(self) -> str:
        return f"{self.manufacturer},{self.model},{self.serial},{self.firmware}"


@dataclass
class SupplyState:
    """Settings of the emulated supply; read by tests, written only by commands."""

    output: bool = False
    voltage_set: float = DEFAULT_VOLTAGE
    current_limit: float = DEFAULT_CURRENT
    function: str = "POWER"
    #: The simulated battery (SIMULATOR function): model, state of charge, limits, method.
    battery: BatterySimulator = field(default_factory=BatterySimulator)


_FUNCTIONS = {Mnemonic.parse("POWer"): "POWER", Mnemonic.parse("TEST"): "TEST",
              Mnemonic.parse("SIMulator"): "SIMULATOR"}


class SupplyEmulator:
    """Transport-free model of the supply: feed it lines, get replies.

    One command executes at a time (like a real instrument) under ``lock``; callbacks run in
    the calling connection's thread while it is held, after the state changed, so they must
    not talk SCPI to this emulator from another thread and wait for the answer.
    """

    def __init__(
        self,
        identity: Identity = Identity(),
        on_output: Callable[[bool], None] | None = None,
        load_current: Callable[[], float] | None = None,
        clock: "Clock | None" = None,
        table: CommandTable | None = None,
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
        self._errors: deque[ScpiError] = deque()
        self.state.battery.settled_at = self._now()

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
            self.state.battery = BatterySimulator(settled_at=self._now())
            self.changed()

    @property
    def simulating(self) -> bool:
        """Whether the terminals present the battery model (SIMULATOR function)."""
        return self.state.function == "SIMULATOR"

    def _now(self) -> float:
        return self.clock.now() if self.clock is not None else 0.0

    def _load(self) -> float:
        """What the load asks for now (A), >= 0; an exception here is an emulator bug."""
        try:
            return max(0.0, float(self.load_current()))
        except Exception as exc:
            log.exception("load_current callback failed")
            raise ScpiError(-300, "Device-specific error;load model failed") from exc

    def settle(self) -> None:
        """Book the battery charge drawn since the last settle. The load calls this *before* its
        draw changes; every command that reads or changes the battery calls it first."""
        with self.lock:
            amps = self._load() if self.state.output and self.simulating else 0.0
            self.state.battery.settle(self._now(), amps)

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
        """What the load draws, clipped by the active current limit; 0 with the output off."""
        with self.lock:
            if not self.state.output:
                return 0.0
            amps = self._load()
            limit = self.state.battery.current_limit if self.simulating else self.state.current_limit
            return min(amps, limit)

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
        if not _HEADER.match(header):
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


# --------------------------------------------------------------------------- command set


def _common_commands(t: CommandTable) -> None:
    def idn(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        return inst.identity.idn()

    def rst(inst: SupplyEmulator, args: list[str]) -> None:
        _no_args(args)
        inst.reset()

    def cls(inst: SupplyEmulator, args: list[str]) -> None:
        _no_args(args)
        inst.clear_errors()

    def opc_query(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        return "1"  # commands complete before the next is parsed

    def nothing(inst: SupplyEmulator, args: list[str]) -> None:
        _no_args(args)

    t.add("*IDN", query=idn)
    t.add("*RST", write=rst)
    t.add("*CLS", write=cls, diagnostic=True)
    t.add("*OPC", write=nothing, query=opc_query)
    t.add("*WAI", write=nothing)


def _system_commands(t: CommandTable) -> None:
    def next_error(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        return inst.pop_error()

    def error_count(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        return str(inst.error_count())

    t.add(":SYSTem:ERRor:COUNt", query=error_count, diagnostic=True)
    t.add(":SYSTem:ERRor[:NEXT]", query=next_error, diagnostic=True)


def _entry_commands(t: CommandTable) -> None:
    def set_function(inst: SupplyEmulator, args: list[str]) -> None:
        word = _one_arg(args)
        for mnemonic, name in _FUNCTIONS.items():
            if mnemonic.matches(word):
                inst.set_function(name)
                return
        raise ScpiError(-224)

    def get_function(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        return inst.state.function

    t.add(":ENTRy:FUNCtion", write=set_function, query=get_function)


def _limit_query(args: list[str], current: float, lo: float, hi: float, default: float) -> str:
    """``VOLT?`` -> setpoint; ``VOLT? MAX`` -> the range limit."""
    if not args:
        return _fmt(current)
    word = _one_arg(args)
    for mnemonic, value in ((_MIN, lo), (_MAX, hi), (_DEF, default)):
        if mnemonic.matches(word):
            return _fmt(value)
    raise ScpiError(-224)


def _power_supply_commands(t: CommandTable) -> None:
    def set_voltage(inst: SupplyEmulator, args: list[str]) -> None:
        inst.state.voltage_set = parse_numeric(_one_arg(args), "V", *VOLTAGE_RANGE, DEFAULT_VOLTAGE)
        if inst.state.output and not inst.simulating:
            inst.changed()

    def get_voltage(inst: SupplyEmulator, args: list[str]) -> str:
        return _limit_query(args, inst.state.voltage_set, *VOLTAGE_RANGE, DEFAULT_VOLTAGE)

    def set_current(inst: SupplyEmulator, args: list[str]) -> None:
        inst.state.current_limit = parse_numeric(_one_arg(args), "A", *CURRENT_RANGE, DEFAULT_CURRENT)

    def get_current(inst: SupplyEmulator, args: list[str]) -> str:
        return _limit_query(args, inst.state.current_limit, *CURRENT_RANGE, DEFAULT_CURRENT)

    def set_output(inst: SupplyEmulator, args: list[str]) -> None:
        inst.set_output(parse_bool(_one_arg(args)))

    def get_output(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        return "1" if inst.state.output else "0"

    def meas_voltage(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        return _fmt(inst.measured_voltage())

    def meas_current(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        return _fmt(inst.measured_current())

    t.add("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", write=set_voltage, query=get_voltage)
    t.add("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]", write=set_current, query=get_current)
    t.add(":OUTPut[:STATe]", write=set_output, query=get_output)
    t.add(":MEASure:VOLTage[:DC]", query=meas_voltage)
    t.add(":MEASure:CURRent[:DC]", query=meas_current)


_METHODS = {Mnemonic.parse("DYNamic"): True, Mnemonic.parse("STATic"): False}


def _simulator(inst: SupplyEmulator) -> BatterySimulator:
    """The battery, brought up to now; refused (-221) outside the SIMULATOR function."""
    if not inst.simulating:
        raise ScpiError(-221, "Settings conflict;battery command outside SIMULATOR function")
    inst.settle()
    return inst.state.battery


def _battery_commands(t: CommandTable) -> None:
    """The 2281S battery-simulator subset: model recall, output, state of charge, Voc, limits,
    method, and the readings of terminal voltage and current."""

    def recall(inst: SupplyEmulator, args: list[str]) -> None:
        battery = _simulator(inst)
        model = find_model(_one_arg(args))
        if model is None:
            raise ScpiError(-224, "Illegal parameter value;no battery model stored there")
        battery.recall(model, inst._now())
        inst.changed()

    def set_output(inst: SupplyEmulator, args: list[str]) -> None:
        _simulator(inst)
        inst.set_output(parse_bool(_one_arg(args)))

    def get_output(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        _simulator(inst)
        return "1" if inst.state.output else "0"

    def set_soc(inst: SupplyEmulator, args: list[str]) -> None:
        battery = _simulator(inst)
        battery.soc = parse_numeric(_one_arg(args), "PCT", *SOC_RANGE, 100.0) / 100.0
        inst.changed()

    def get_soc(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        return _fmt(_simulator(inst).soc * 100.0)

    def set_voc(inst: SupplyEmulator, args: list[str]) -> None:
        battery = _simulator(inst)
        lo, hi = battery.model.voc[0], battery.model.voc[-1]
        volts = parse_numeric(_one_arg(args), "V", lo, hi, hi)
        battery.soc = battery.model.soc_at_terminal(volts, 0.0)
        inst.changed()

    def get_voc(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        battery = _simulator(inst)
        return _fmt(battery.model.open_circuit(battery.soc))

    def set_capacity(inst: SupplyEmulator, args: list[str]) -> None:
        battery = _simulator(inst)
        battery.capacity_ah = parse_numeric(_one_arg(args), "AH", *CAPACITY_RANGE, battery.model.capacity_ah)
        inst.changed()

    def get_capacity(inst: SupplyEmulator, args: list[str]) -> str:
        battery = _simulator(inst)
        return _limit_query(args, battery.capacity_ah, *CAPACITY_RANGE, battery.model.capacity_ah)

    def set_current_limit(inst: SupplyEmulator, args: list[str]) -> None:
        battery = _simulator(inst)
        battery.current_limit = parse_numeric(_one_arg(args), "A", *CURRENT_RANGE, DEFAULT_CURRENT)
        inst.changed()

    def get_current_limit(inst: SupplyEmulator, args: list[str]) -> str:
        return _limit_query(args, _simulator(inst).current_limit, *CURRENT_RANGE, DEFAULT_CURRENT)

    def set_method(inst: SupplyEmulator, args: list[str]) -> None:
        battery = _simulator(inst)
        word = _one_arg(args)
        for mnemonic, dynamic in _METHODS.items():
            if mnemonic.matches(word):
                battery.dynamic = dynamic
                inst.changed()
                return
        raise ScpiError(-224)

    def get_method(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        return "DYN" if _simulator(inst).dynamic else "STAT"

    def current(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        _simulator(inst)
        return _fmt(inst.measured_current())

    def terminal_voltage(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        _simulator(inst)
        return _fmt(inst.measured_voltage())

    def resistance(inst: SupplyEmulator, args: list[str]) -> str:
        _no_args(args)
        battery = _simulator(inst)
        return _fmt(battery.model.series_resistance(battery.soc))

    t.add(":BATTery:MODel:RCL", write=recall)
    t.add(":BATTery:OUTPut[:STATe]", write=set_output, query=get_output)
    t.add(":BATTery:SIMulator:SOC", write=set_soc, query=get_soc)
    t.add(":BATTery:SIMulator:VOC", write=set_voc, query=get_voc)
    t.add(":BATTery:SIMulator:CAPacity:LIMit", write=set_capacity, query=get_capacity)
    t.add(":BATTery:SIMulator:CURRent:LIMit", write=set_current_limit, query=get_current_limit)
    t.add(":BATTery:SIMulator:CURRent", query=current)
    t.add(":BATTery:SIMulator:TVOLtage", query=terminal_voltage)
    t.add(":BATTery:SIMulator:METHod", write=set_method, query=get_method)
    t.add(":BATTery:SIMulator:RESistance", query=resistance)


#: Every command group of the emulated instrument, registered in this order.
COMMAND_GROUPS: tuple[Callable[[CommandTable], None], ...] = (
    _common_commands,
    _system_commands,
    _entry_commands,
    _power_supply_commands,
    _battery_commands,
)


def build_command_table(groups: Sequence[Callable[[CommandTable], None]] = COMMAND_GROUPS) -> CommandTable:
    """The command table of ``groups`` (leave out ``_battery_commands`` for a plain supply)."""
    table = CommandTable()
    for register in groups:
        register(table)
    return table


#: A supply without the battery-simulator option: ``:BATT`` headers are undefined (-113).
PLAIN_SUPPLY_GROUPS = tuple(g for g in COMMAND_GROUPS if g is not _battery_commands)


# --------------------------------------------------------------------------- transport


class ScpiServer:
    """Raw-socket SCPI server (like port 5025 on a real instrument) around a SupplyEmulator.

    One thread per connection; each connection's lines are executed in order and a reply is
    sent only after everything before it took effect, so a query round trip is a barrier.
    Misbehaviour switches: ``mute`` (execute, never reply), ``drop_replies`` (execute, but lose
    the next N replies: a reply lost once, then normal service), ``garble`` (reply with
    :data:`GARBAGE_REPLY`), ``error_on_next`` (reject the next non-diagnostic command with
    that error; a rejected query gets no reply, as on real instruments).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        identity: Identity = Identity(),
        on_output: Callable[[bool], None] | None = None,
        load_current: Callable[[], float] | None = None,
        clock: "Clock | None" = None,
        max_line: int = MAX_LINE,
        on_change: Callable[[], None] | None = None,
        battery: bool = True,
    ) -> None:
        """``battery=False`` emulates a supply without the battery simulator (``:BATT`` undefined)."""
        self.host = host
        self._requested_port = port
        self.max_line = max_line
        table = build_command_table(COMMAND_GROUPS if battery else PLAIN_SUPPLY_GROUPS)
        self.instrument = SupplyEmulator(identity, on_output, load_current, clock, table, on_change)
        self.mute = False
        self.drop_replies = 0
        self.garble = False
        #: Last lines received (decoded), newest last: lets tests prove what was never sent.
        self.received: deque[str] = deque(maxlen=1000)
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._conn_lock = threading.Lock()
        self._closing = threading.Event()

    # -- public
    @property
    def state(self) -> SupplyState:
        return self.instrument.state

    @property
    def error_on_next(self) -> ScpiError | int | tuple[int, str] | None:
        return self.instrument.error_on_next

    @error_on_next.setter
    def error_on_next(self, error: ScpiError | int | tuple[int, str] | None) -> None:
        self.instrument.error_on_next = error

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("ScpiServer not started")
        return self._listener.getsockname()[1]

    @property
    def resource(self) -> str:
        """VISA resource string for pyvisa-py (needs read/write termination "\\n")."""
        return f"TCPIP::{self.host}::{self.port}::SOCKET"

    def connection_count(self) -> int:
        with self._conn_lock:
            return len(self._connections)

    def start(self) -> "ScpiServer":
        if self._listener is not None:
            raise RuntimeError("ScpiServer already started")
        self._closing.clear()
        self._listener = socket.create_server((self.host, self._requested_port))
        self._listener.settimeout(0.25)  # belt and braces: close() also shuts the socket down
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"scpi-accept-{self.port}", daemon=True
        )
        self._accept_thread.start()
        log.info("emulated supply listening on %s", self.resource)
        return self

    def close(self) -> None:
        """Stop accepting, drop every connection, join the threads. Idempotent."""
        self._closing.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            _quiet_shutdown(listener)
            listener.close()
        with self._conn_lock:
            connections = dict(self._connections)
        for conn in connections:
            _quiet_shutdown(conn)
        threads = list(connections.values())
        if self._accept_thread is not None:
            threads.append(self._accept_thread)
            self._accept_thread = None
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)

    def __enter__(self) -> "ScpiServer":
        if self._listener is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- threads
    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._closing.is_set():
            try:
                conn, addr = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                if self._closing.is_set():
                    return
                log.warning("accept failed on the emulated supply", exc_info=True)
                self._closing.wait(0.05)
                continue
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(
                target=self._serve, args=(conn, addr), name=f"scpi-conn-{addr[1]}", daemon=True
            )
            with self._conn_lock:
                self._connections[conn] = thread
            thread.start()

    def _serve(self, conn: socket.socket, addr: tuple) -> None:
        log.debug("SCPI client %s connected", addr)
        buffer = bytearray()
        discarding = False  # inside an over-long line: drop bytes up to its newline
        try:
            while not self._closing.is_set():
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    break
                if not chunk:
                    break
                buffer += chunk
                while True:
                    newline = buffer.find(b"\n")
                    if newline < 0:
                        if len(buffer) > self.max_line:
                            if not discarding:
                                self.instrument.push_error(-363)
                            discarding = True
                            buffer.clear()
                        break
                    raw = bytes(buffer[:newline])
                    del buffer[: newline + 1]
                    if discarding:
                        discarding = False
                        continue
                    if len(raw) > self.max_line:
                        self.instrument.push_error(-363)
                        continue
                    if not self._handle_line(conn, raw):
                        return
        finally:
            with self._conn_lock:
                self._connections.pop(conn, None)
            _quiet_shutdown(conn)
            conn.close()
            log.debug("SCPI client %s gone", addr)

    def _handle_line(self, conn: socket.socket, raw: bytes) -> bool:
        """Execute one line and answer it; False when the client is gone."""
        text = raw.rstrip(b"\r").decode("ascii", errors="replace")
        self.received.append(text)
        try:
            reply = self.instrument.execute_line(text)
        except Exception:  # an emulator bug must not take the rig down
            log.exception("emulated supply failed on %r", text)
            self.instrument.push_error(-300)
            reply = None
        if reply is None or self.mute:
            return True
        if self.drop_replies > 0:
            self.drop_replies -= 1
            log.warning("emulated supply drops its reply to %r", text)
            return True
        data = GARBAGE_REPLY if self.garble else reply.encode("ascii", errors="replace") + b"\n"
        try:
            conn.sendall(data)
        except OSError:
            return False
        return True


def _quiet_shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
