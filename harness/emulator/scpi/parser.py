"""A small SCPI parser, independent of any instrument: long/short mnemonics, optional ``[...]``
header nodes, numeric data with unit suffixes and MIN/MAX/DEF, booleans, string-aware splitting,
and the standard error codes. :class:`CommandTable` maps header patterns to handlers of any
instrument type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

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


# --------------------------------------------------------------------------- headers and command table


@dataclass(frozen=True)
class Mnemonic:
    """One header node. ``VOLTage`` matches VOLT and VOLTAGE (any case), nothing between."""

    short: str
    long: str
    optional: bool = False

    @classmethod
    def parse(cls, text: str, optional: bool = False) -> Mnemonic:
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


#: The instrument a handler acts on (the parser does not need to know its type).
Inst = TypeVar("Inst")
#: A command handler: the instrument and the arguments -> the query reply, or None.
Handler = Callable[[Inst, list[str]], str | None]


@dataclass(frozen=True)
class ScpiCommand(Generic[Inst]):
    """A header with its set handler and/or query handler (either may be absent)."""

    pattern: str
    nodes: tuple[Mnemonic, ...]
    write: Handler[Inst] | None = None
    query: Handler[Inst] | None = None
    #: Diagnostic commands (the error queue) are never hit by ``error_on_next``.
    diagnostic: bool = False


class CommandTable(Generic[Inst]):
    """Header patterns -> handlers. Patterns are SCPI notation, e.g. ``:OUTPut[:STATe]``."""

    def __init__(self) -> None:
        self._commands: list[ScpiCommand[Inst]] = []

    def add(
        self,
        pattern: str,
        *,
        write: Handler[Inst] | None = None,
        query: Handler[Inst] | None = None,
        diagnostic: bool = False,
    ) -> None:
        if write is None and query is None:
            raise ValueError(f"{pattern}: needs a write or a query handler")
        self._commands.append(ScpiCommand(pattern, compile_header(pattern), write, query, diagnostic))

    def find(self, tokens: Sequence[str]) -> ScpiCommand[Inst] | None:
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
MIN = Mnemonic.parse("MINimum")
MAX = Mnemonic.parse("MAXimum")
DEF = Mnemonic.parse("DEFault")


def parse_numeric(arg: str, unit: str, lo: float, hi: float, default: float) -> float:
    """Numeric program data with optional unit suffix, or MIN/MAX/DEF; range-checked."""
    arg = arg.strip()
    if not arg:
        raise ScpiError(-109)
    if MIN.matches(arg):
        return lo
    if MAX.matches(arg):
        return hi
    if DEF.matches(arg):
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


def one_arg(args: list[str]) -> str:
    """The single argument of a command that takes exactly one (-109 missing, -108 too many)."""
    if not args or not args[0].strip():
        raise ScpiError(-109)
    if len(args) > 1:
        raise ScpiError(-108)
    return args[0]


def no_args(args: list[str]) -> None:
    """Refuse arguments to a command that takes none (-108)."""
    if args:
        raise ScpiError(-108)


def format_real(value: float) -> str:
    """A numeric reply in the instrument's NR3 form, e.g. ``3.850000E+00``."""
    return f"{value:.6E}"


#: What a program header may look like (common ``*XXX`` or a path of mnemonics, ``?`` for a query).
HEADER_SYNTAX = re.compile(r"^(?:\*[A-Za-z]+|:?[A-Za-z][A-Za-z0-9]*(?::[A-Za-z][A-Za-z0-9]*)*)\??$")


def limit_query(args: list[str], current: float, lo: float, hi: float, default: float) -> str:
    """``VOLT?`` -> setpoint; ``VOLT? MAX`` -> the range limit."""
    if not args:
        return format_real(current)
    word = one_arg(args)
    for mnemonic, value in ((MIN, lo), (MAX, hi), (DEF, default)):
        if mnemonic.matches(word):
            return format_real(value)
    raise ScpiError(-224)
