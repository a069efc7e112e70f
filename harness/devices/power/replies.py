"""Parsing what an instrument answers: readings and error-queue entries."""

from __future__ import annotations

import math
import re

_READING = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)$")
_SCALE = {"": 1.0, "M": 1e-3, "U": 1e-6, "K": 1e3}
#: The code at the start of an error-queue reply (0 = queue empty).
ERROR_CODE = re.compile(r"^\s*([+-]?\d+)")
QUEUED_ERROR = re.compile(r'^[+-]?[1-9]\d*,"')  # a non-zero error-queue entry, e.g. -113,"Undefined header"
#: SCPI's "overflow" (9.9E37) and "not a number" (9.91E37) readings.
_SCPI_SPECIAL = 9.9e37


def parse_reading(reply: str, unit: str) -> float:
    """A numeric reply such as '3.850000E+00', '+3.85V', '3850 mV' or '0.5 ADC'.

    With FORMat:ELEMents the reading is the first data element, so further comma-separated
    elements (units, timestamps) are ignored - unless one of them is a bare number: then the
    reply is ambiguous (a second reading, or a decimal comma as in '3,85') and refused.
    Raises ValueError with the reason; the driver adds the instrument and command.
    """
    text, *elements = (part.strip() for part in reply.strip().split(","))
    if any((m := _READING.match(e)) and not m.group(2) for e in elements):
        raise ValueError("ambiguous: more than one number")
    m = _READING.match(text)
    if not m:
        raise ValueError("not a number")
    suffix = m.group(2).upper()
    if suffix.endswith("DC"):
        suffix = suffix[:-2]
    scale = 1.0
    if suffix:
        if not suffix.endswith(unit) or suffix[: -len(unit)] not in _SCALE:
            raise ValueError(f"unexpected unit {m.group(2)!r} (expected {unit})")
        scale = _SCALE[suffix[: -len(unit)]]
    value = float(m.group(1))
    if not math.isfinite(value) or abs(value) >= _SCPI_SPECIAL:
        raise ValueError("instrument reported overflow / not-a-number")
    return value * scale
