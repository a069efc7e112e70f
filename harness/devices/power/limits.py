"""The rig's limits for the battery a supply replaces; checked before anything is sent."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PowerLimits:
    """Rig limits for the battery this supply replaces (e.g. 4.35 V, 3 A for a 1S Li-ion)."""

    max_voltage: float
    max_current: float

    def __post_init__(self) -> None:
        for field_name in ("max_voltage", "max_current"):
            value = getattr(self, field_name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"PowerLimits.{field_name} must be a positive number, got {value!r}")
