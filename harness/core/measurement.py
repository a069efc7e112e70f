"""A measurement is a value with its unit, its limits, its verdict and the requirement it serves."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Measurement:
    name: str
    value: float | None
    unit: str
    low: float | None
    high: float | None
    requirement: str
    note: str = ""

    @property
    def outcome(self) -> str:
        """'pass' inside [low, high] (either side may be open); 'fail' otherwise or when unmeasured."""
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return "fail"
        if self.low is not None and self.value < self.low:
            return "fail"
        if self.high is not None and self.value > self.high:
            return "fail"
        return "pass"

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    def limits_text(self) -> str:
        lo = "-inf" if self.low is None else _fmt(self.low)
        hi = "+inf" if self.high is None else _fmt(self.high)
        return f"[{lo}, {hi}]"

    def __str__(self) -> str:
        value = "not measured" if self.value is None else f"{_fmt(self.value)} {self.unit}".rstrip()
        text = f"{self.name} = {value}  limits {self.limits_text()}  {self.outcome.upper()}  ({self.requirement})"
        return text + (f"  - {self.note}" if self.note else "")

    def record(self) -> dict:
        data = asdict(self)
        data["outcome"] = self.outcome
        return data


def _fmt(x: float) -> str:
    if isinstance(x, int) or float(x).is_integer() and abs(x) < 1e9:
        return str(int(x))
    return f"{x:.4f}".rstrip("0").rstrip(".")
