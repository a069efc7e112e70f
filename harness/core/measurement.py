"""Measurements: declared once by their check, then made with a value, limits and a verdict.

A :class:`Declared` measurement names what a check measures (quantity, unit, the dimensions it
is made along, the requirement it serves and where its limits come from). The check makes a
:class:`Measurement` from it for each event, file or state; the dimensions stay structured
(``{"event": 1}``), and the printed name (``preroll_s[event 1]``) is derived from them, so no
reader has to parse a name back. Informative measurements have no limits and never fail.

A time measurement also carries its expanded uncertainty ``U`` (coverage factor ``k``, 2 for about
95 %) and the budget it was combined from: one :class:`BudgetItem` per source (standard
uncertainty in the measurement's unit). The decision rule turns value, U and limits into an
outcome: ``simple`` acceptance compares the value alone; ``guarded`` acceptance (ILAC-G8, guard
band w = U) calls a value whose interval ``value +/- U`` straddles a limit ``inconclusive``: neither
pass nor fail, and never a pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["limit", "info"]
#: the outcome of a measurement the camera model gives no way to make (neither pass nor fail)
NOT_MEASURABLE = "not measurable"
#: the outcome, under guarded acceptance, of a value whose uncertainty interval straddles a limit
INCONCLUSIVE = "inconclusive"
#: simple acceptance (the value alone against the limits) or guarded acceptance (ILAC-G8, w = U)
DecisionRule = Literal["simple", "guarded"]
DECISION_RULES: tuple[DecisionRule, ...] = ("simple", "guarded")
# where a measurement's limits come from: the requirement catalogue, the camera profile, the
# catalogue when it gives the figure and the profile otherwise, or nowhere (informative)
LimitSource = Literal["catalogue", "profile", "catalogue, else profile", "none"]
Dimension = str | int

# dimensions printed with their key ("[event 1]", "[file 1->2]"); others print their value only
# ("[burned-in]", "[buffering]")
_KEYED = ("event", "file")


def dimension_suffix(dimensions: dict[str, Dimension]) -> str:
    """The name suffix of ``dimensions`` in their order: ``[event 1][file 1->2]``."""
    return "".join(f"[{k} {v}]" if k in _KEYED else f"[{v}]" for k, v in dimensions.items())


@dataclass(frozen=True)
class BudgetItem:
    """One source of a measurement's uncertainty: its standard uncertainty in the measurement's unit."""

    source: str
    u: float
    note: str = ""

    def record(self) -> dict:
        return {"source": self.source, "u": self.u, "note": self.note}


def expanded(budget: tuple[BudgetItem, ...] | list[BudgetItem], k: float = 2.0) -> float:
    """Expanded uncertainty U = k * root sum of squares of independent standard uncertainties."""
    return k * math.sqrt(sum(b.u * b.u for b in budget))


@dataclass(frozen=True)
class Measurement:
    """A value with its unit, limits, verdict, requirement and the dimensions it was made along."""

    quantity: str
    value: float | None
    unit: str
    low: float | None
    high: float | None
    requirement: str
    note: str = ""
    dimensions: dict[str, Dimension] = field(default_factory=dict)
    kind: Kind = "limit"
    limits_from: LimitSource = "catalogue"
    #: why this camera model gives no way to make the measurement (None: it does). Such a
    #: measurement is reported as not measurable: it neither passes nor fails, and reports list it.
    not_measurable: str | None = None
    #: expanded uncertainty U (the measurement's unit) at coverage factor ``coverage_k``; None: not stated
    uncertainty: float | None = None
    coverage_k: float = 2.0
    #: the sources U was combined from (root sum of squares of their standard uncertainties)
    budget: tuple[BudgetItem, ...] = ()
    decision_rule: DecisionRule = "simple"

    @property
    def name(self) -> str:
        """The name records and reports show (``preroll_s[event 1]``): quantity plus dimensions."""
        return self.quantity + dimension_suffix(self.dimensions)

    @property
    def outcome(self) -> str:
        """'info' for an informative value; 'not measurable' when the camera model gives no way
        to measure it; under the guarded rule 'inconclusive' when ``value +/- U`` straddles a
        limit; 'pass' inside [low, high] (either side may be open); 'fail' otherwise or when it
        should have been measured and was not."""
        if self.kind == "info":
            return "info"
        if self.not_measurable is not None:
            return NOT_MEASURABLE
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return "fail"
        if self.decision_rule == "guarded" and self.uncertainty:
            u = self.uncertainty
            if any(lim is not None and self.value - u < lim < self.value + u for lim in (self.low, self.high)):
                return INCONCLUSIVE
        if self.low is not None and self.value < self.low:
            return "fail"
        if self.high is not None and self.value > self.high:
            return "fail"
        return "pass"

    @property
    def passed(self) -> bool:
        """Whether the measurement does not fail its requirement (an informative one never does)."""
        return self.outcome != "fail"

    def limits_text(self) -> str:
        if self.kind == "info":
            return "informative"
        lo = "-inf" if self.low is None else _fmt(self.low)
        hi = "+inf" if self.high is None else _fmt(self.high)
        return f"[{lo}, {hi}]"

    def __str__(self) -> str:
        if self.not_measurable is not None:
            value = "not measurable"
        else:
            value = "not measured" if self.value is None else f"{_fmt(self.value)} {self.unit}".rstrip()
            if self.value is not None and self.uncertainty is not None:
                value += f" +/- {_fmt(self.uncertainty)} (k={_fmt(self.coverage_k)})"
        text = f"{self.name} = {value}  limits {self.limits_text()}  {self.outcome.upper()}  ({self.requirement})"
        note = "; ".join(n for n in (self.not_measurable, self.note) if n)
        return text + (f"  - {note}" if note else "")

    def record(self) -> dict:
        """The record.json entry: ``name`` as printed (readers match on it), dimensions beside it."""
        return {
            "name": self.name,
            "quantity": self.quantity,
            "dimensions": dict(self.dimensions),
            "value": self.value,
            "unit": self.unit,
            "low": self.low,
            "high": self.high,
            "requirement": self.requirement,
            "note": self.note,
            "kind": self.kind,
            "limits_from": self.limits_from,
            "outcome": self.outcome,
            **({"not_measurable": self.not_measurable} if self.not_measurable is not None else {}),
            **(
                {
                    "uncertainty": self.uncertainty,
                    "coverage_k": self.coverage_k,
                    "budget": [b.record() for b in self.budget],
                }
                if self.uncertainty is not None
                else {}
            ),
            **({"decision_rule": self.decision_rule} if self.kind == "limit" else {}),
        }


@dataclass(frozen=True)
class Declared:
    """One measurement a check makes, declared in one place: the check only supplies values.

    ``dimensions`` lists the keys every measurement of it carries, in print order; ``limits_from``
    says where its limits come from, and ``informative`` marks a value reported without limits.
    """

    quantity: str
    unit: str
    requirement: str
    limits_from: LimitSource
    dimensions: tuple[str, ...] = ()
    informative: bool = False

    def __call__(
        self,
        value: float | None,
        low: float | None = None,
        high: float | None = None,
        *,
        note: str = "",
        not_measurable: str | None = None,
        **dimensions: Dimension,
    ) -> Measurement:
        """A measurement of ``value`` against [low, high] along ``dimensions``; ``not_measurable``
        says why this camera model gives no way to make it (then ``value`` is None)."""
        if set(dimensions) != set(self.dimensions):
            raise ValueError(
                f"{self.quantity}: dimensions {sorted(dimensions)} given, {list(self.dimensions)} declared"
            )
        ordered = {k: dimensions[k] for k in self.dimensions}
        if self.informative:
            return Measurement(
                self.quantity, value, self.unit, None, None, self.requirement, note, ordered, "info", "none"
            )
        return Measurement(
            self.quantity,
            None if not_measurable is not None else value,
            self.unit,
            low,
            high,
            self.requirement,
            note,
            ordered,
            "limit",
            self.limits_from,
            not_measurable,
        )


def _fmt(x: float) -> str:
    if isinstance(x, int) or (float(x).is_integer() and abs(x) < 1e9):
        return str(int(x))
    return f"{x:.4f}".rstrip("0").rstrip(".")
