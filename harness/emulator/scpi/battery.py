"""The battery inside the emulated battery simulator: open-circuit voltage against state of charge,
internal resistance, capacity, and a discharge integrated over the injected Clock.

A battery simulator (Keithley 2281S in SIMULATOR function) presents a battery *model* at its
terminals: a table of open-circuit voltage (Voc) and series resistance at each percent of state
of charge, and a capacity. The load current drains the state of charge, so the terminal voltage
sags with time and with the load: ``V = Voc(soc) - I * R(soc)``.

The emulated camera is a constant-current load between state changes, so the discharge is exact
in closed form: the state of charge falls linearly while the draw is constant, and the instant
the terminal voltage reaches a threshold is found by solving on the piecewise-linear table
(:meth:`BatterySimulator.seconds_until`). Nothing polls: a 12-hour discharge costs a handful of
arithmetic steps, one per state change of the camera.

The built-in models are this project's own figures for typical cells, not a vendor's data.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field

#: Points of a model table: one per percent of state of charge, as in a 2281S model file.
TABLE_POINTS = 101


def _table(knots: list[tuple[float, float]]) -> tuple[float, ...]:
    """A 101-point table (0..100 % in 1 % steps) interpolated linearly through ``knots`` (percent, value)."""
    xs = [k[0] for k in knots]
    if xs[0] != 0 or xs[-1] != 100 or xs != sorted(xs):
        raise ValueError("knots must run from 0 to 100 % in order")
    out = []
    for p in range(TABLE_POINTS):
        i = min(bisect_right(xs, p), len(xs) - 1)
        (x0, y0), (x1, y1) = knots[i - 1], knots[i]
        out.append(y0 + (y1 - y0) * (p - x0) / (x1 - x0) if x1 > x0 else y1)
    return tuple(out)


@dataclass(frozen=True)
class BatteryModel:
    """A battery as a simulator holds it: Voc and series resistance per percent, and a capacity."""

    name: str
    capacity_ah: float
    voc: tuple[float, ...]  # volts at 0, 1, ..., 100 % state of charge
    resistance: tuple[float, ...]  # ohms at 0, 1, ..., 100 %

    def __post_init__(self) -> None:
        if len(self.voc) != TABLE_POINTS or len(self.resistance) != TABLE_POINTS:
            raise ValueError(f"{self.name}: tables need {TABLE_POINTS} points (0..100 %)")
        if any(b < a for a, b in zip(self.voc, self.voc[1:])):
            raise ValueError(f"{self.name}: Voc must not fall as the charge rises")
        if any(b > a for a, b in zip(self.resistance, self.resistance[1:])):
            raise ValueError(f"{self.name}: resistance must not rise with the charge")
        if not self.capacity_ah > 0 or min(self.resistance) < 0:
            raise ValueError(f"{self.name}: capacity must be positive and resistance not negative")

    def _lookup(self, table: tuple[float, ...], soc: float) -> float:
        x = min(max(soc, 0.0), 1.0) * (TABLE_POINTS - 1)
        i = min(int(x), TABLE_POINTS - 2)
        return table[i] + (table[i + 1] - table[i]) * (x - i)

    def open_circuit(self, soc: float) -> float:
        """Voc at state of charge ``soc`` (0..1)."""
        return self._lookup(self.voc, soc)

    def series_resistance(self, soc: float) -> float:
        return self._lookup(self.resistance, soc)

    def terminal(self, soc: float, amps: float) -> float:
        """Terminal voltage with ``amps`` drawn (never below 0)."""
        return max(0.0, self.open_circuit(soc) - amps * self.series_resistance(soc))

    def soc_at_terminal(self, volts: float, amps: float) -> float:
        """The state of charge at which the terminal voltage under ``amps`` equals ``volts``.

        ``terminal`` rises with the charge (Voc rises, resistance falls), and is linear between
        table points, so the crossing is solved exactly on the segment that brackets it.
        Returns 0 if even an empty battery stays above ``volts``, 1 if a full one stays below.
        """
        values = [v - amps * r for v, r in zip(self.voc, self.resistance)]
        if volts <= values[0]:
            return 0.0
        if volts > values[-1]:
            return 1.0
        i = max(0, bisect_right(values, volts) - 1)
        i = min(i, TABLE_POINTS - 2)
        lo, hi = values[i], values[i + 1]
        frac = 0.0 if hi == lo else (volts - lo) / (hi - lo)
        return (i + frac) / (TABLE_POINTS - 1)


#: A 1S lithium-ion cell charged to 4.2 V, as body-worn cameras use (project figures).
LI_ION_4V2 = BatteryModel(
    name="LI-ION4_2",
    capacity_ah=5.0,
    voc=_table(
        [
            (0, 3.00),
            (2, 3.30),
            (5, 3.45),
            (10, 3.58),
            (15, 3.64),
            (20, 3.68),
            (30, 3.73),
            (40, 3.77),
            (50, 3.81),
            (60, 3.86),
            (70, 3.93),
            (80, 4.00),
            (90, 4.08),
            (100, 4.18),
        ]
    ),
    resistance=_table([(0, 0.18), (10, 0.12), (30, 0.10), (100, 0.08)]),
)

#: A high-voltage 1S lithium-ion cell (4.35 V full charge), smaller.
LI_ION_4V35 = BatteryModel(
    name="LI-ION4_35",
    capacity_ah=3.0,
    voc=_table(
        [(0, 3.00), (2, 3.32), (5, 3.48), (10, 3.61), (20, 3.71), (40, 3.82), (60, 3.93), (80, 4.10), (100, 4.33)]
    ),
    resistance=_table([(0, 0.20), (10, 0.14), (30, 0.11), (100, 0.09)]),
)

#: Model memory of the emulated instrument: ``:BATT:MOD:RCL 1`` or ``:BATT:MOD:RCL LI-ION4_2``.
BUILTIN_MODELS: dict[int, BatteryModel] = {1: LI_ION_4V2, 2: LI_ION_4V35}


def find_model(key: str) -> BatteryModel | None:
    """A stored model by slot number ('1'..'9') or by name (any case); None if there is none."""
    key = key.strip().strip('"').strip("'")
    if key.isdigit():
        return BUILTIN_MODELS.get(int(key))
    return next((m for m in BUILTIN_MODELS.values() if m.name.upper() == key.upper()), None)


@dataclass
class BatterySimulator:
    """The simulated battery's state: which model, how full, and the simulation settings.

    ``settle(now, amps)`` books the charge drawn since the last settle at ``amps``; the caller
    settles *before* the load changes, so the discharge is exact for a piecewise-constant load.
    In STATIC method the state of charge stays where it was set (a fixed operating point).
    """

    model: BatteryModel = LI_ION_4V2
    soc: float = 1.0
    capacity_ah: float = field(default=LI_ION_4V2.capacity_ah)
    current_limit: float = 3.0
    dynamic: bool = True
    settled_at: float = 0.0
    drawn_ah: float = 0.0  # charge drawn since the model was recalled (ground truth for tests)

    def recall(self, model: BatteryModel, now: float) -> None:
        """Load ``model``: full charge, its own capacity (as a real recall resets the settings)."""
        self.model = model
        self.capacity_ah = model.capacity_ah
        self.soc = 1.0
        self.settled_at = now
        self.drawn_ah = 0.0

    def settle(self, now: float, amps: float) -> None:
        dt = now - self.settled_at
        self.settled_at = max(self.settled_at, now)
        if dt <= 0 or amps == 0:
            return
        used = amps * dt / 3600.0  # negative: the load charges the battery (a docked camera)
        self.drawn_ah += used
        if self.dynamic:
            self.soc = min(1.0, max(0.0, self.soc - used / self.capacity_ah))

    def supplies(self, amps: float) -> bool:
        """False when the load asks for more than the current limit (the output folds back)."""
        return amps <= self.current_limit + 1e-12

    def terminal_voltage(self, amps: float) -> float:
        """Terminal voltage under ``amps``; 0 V when the load exceeds the current limit."""
        if not self.supplies(amps):
            return 0.0
        return self.model.terminal(self.soc, amps)

    def seconds_until(self, volts: float, amps: float) -> float:
        """Seconds until the terminal voltage falls to ``volts`` if ``amps`` keeps flowing.

        0 if it is there already; ``inf`` if it never gets there (no load, STATIC method, or a
        threshold below what an empty battery gives under this load).
        """
        if self.terminal_voltage(amps) <= volts:
            return 0.0
        if amps <= 0 or not self.dynamic:
            return math.inf
        target = self.model.soc_at_terminal(volts, amps)
        if target <= 0.0 and self.model.terminal(0.0, amps) > volts:
            return math.inf
        return max(0.0, (self.soc - target) * self.capacity_ah * 3600.0 / amps)
