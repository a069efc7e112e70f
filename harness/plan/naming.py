"""A camera's file naming pattern: format a name (the emulator) and read one back (the checks).

Cameras name their files after the device and the time (``X6039152_20251104_093012_0007_01``,
``WGV300-123456_2025-11-04_09-30-12``). A profile writes the pattern as a Python format string
with the fields ``serial``, ``start`` (the camera's clock at the first frame, with a strftime
format), ``event`` and ``segment`` (numbers, from 1). The same template gives the emulator its
names and gives the checks a regular expression that reads the fields back out of a name, so a
clip whose metadata says nothing still tells which camera made it and when.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

FIELDS = ("serial", "start", "event", "segment")

# strftime directives a file name may use, and the text each stands for
_DIRECTIVES = {
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "m": r"\d{2}",
    "d": r"\d{2}",
    "H": r"\d{2}",
    "I": r"\d{2}",
    "M": r"\d{2}",
    "S": r"\d{2}",
    "f": r"\d{6}",
    "j": r"\d{3}",
    "p": r"[AP]M",
    "b": r"[A-Za-z]{3}",
    "%": "%",
}
_INT_SPEC = re.compile(r"^0?\d*d?$")


class NamingError(ValueError):
    """A file name template that cannot be used; the message says which part and why."""


@dataclass(frozen=True)
class NameFields:
    """What a file name says (None: the template has no such field)."""

    serial: str | None = None
    start: datetime | None = None
    event: int | None = None
    segment: int | None = None


def _strftime_regex(spec: str) -> str:
    out, i = [], 0
    while i < len(spec):
        ch = spec[i]
        if ch == "%":
            code = spec[i + 1 : i + 2]
            if code not in _DIRECTIVES:
                raise NamingError(f"start: strftime code %{code} is not one a file name can be read back from")
            out.append(_DIRECTIVES[code])
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class FileNaming:
    """The naming pattern of one camera model (``template`` without the file suffix)."""

    template: str

    def __post_init__(self) -> None:
        self.pattern  # noqa: B018  (validates the template once, at construction)

    @cached_property
    def _parts(self) -> list[tuple[str, str | None, str]]:
        """(literal text, field or None, format spec) as the template is written."""
        try:
            parts = [(lit, name, spec or "") for lit, name, spec, _conv in string.Formatter().parse(self.template)]
        except ValueError as exc:
            raise NamingError(f"not a valid format string ({exc})") from None
        seen: set[str] = set()
        for _lit, name, spec in parts:
            if name is None:
                continue
            if name not in FIELDS:
                raise NamingError(f"unknown field {{{name}}}; a file name may use {', '.join(FIELDS)}")
            if name in seen:
                raise NamingError(f"field {{{name}}} appears twice")
            seen.add(name)
            if name == "start" and not spec:
                raise NamingError("{start} needs a strftime format, e.g. {start:%Y%m%d_%H%M%S}")
            if name in ("event", "segment") and not _INT_SPEC.match(spec):
                raise NamingError(f"{{{name}:{spec}}}: a number field takes an integer format such as 04d")
            if name == "serial" and spec:
                raise NamingError("{serial} takes no format")
        return parts

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for _lit, name, _spec in self._parts if name is not None)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The regular expression a name of this template matches, one named group per field."""
        out = []
        for lit, name, spec in self._parts:
            out.append(re.escape(lit))
            if name == "serial":
                out.append(r"(?P<serial>[^/\\]+?)")
            elif name == "start":
                out.append(f"(?P<start>{_strftime_regex(spec)})")
            elif name is not None:
                out.append(rf"(?P<{name}>\d+)")
        return re.compile("^" + "".join(out) + "$")

    def format(self, serial: str, start: datetime, event: int, segment: int) -> str:
        """The name the camera gives a file (without suffix)."""
        return self.template.format(serial=serial, start=start, event=event, segment=segment)

    def parse(self, name: str) -> NameFields | None:
        """The fields a file name (without suffix) states, or None when it does not follow the template."""
        match = self.pattern.match(name)
        if match is None:
            return None
        groups = match.groupdict()
        start = None
        if groups.get("start") is not None:
            spec = next(spec for _lit, field, spec in self._parts if field == "start")
            try:
                start = datetime.strptime(groups["start"], spec)
            except ValueError:
                return None
        return NameFields(
            serial=groups.get("serial"),
            start=start,
            event=int(groups["event"]) if groups.get("event") is not None else None,
            segment=int(groups["segment"]) if groups.get("segment") is not None else None,
        )
