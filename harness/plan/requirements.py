"""The requirement catalogue (scenarios/requirements.yaml): what a camera must do, why, and the figures.

Scenarios name the ids they prove, measurements carry the id they serve, and the certification
report is organised by them, so the catalogue is the spine of traceability. Each requirement
carries the numbers its criterion states (``limits``, each with its unit), and the checks read
them from here: an agency that certifies against its own catalogue (``bwc certify
--requirements FILE``) changes a verdict by changing a figure. ``coverage`` answers the question a
programme office asks first: which requirement is proven by which scenario, and which are not
proven at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from harness.core.config import load_model
from harness.core.measurement import DecisionRule
from harness.plan.profile import Strict

# units a catalogue figure may be written in; figures of one dimension convert into each other
TIME_UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0}
COUNT_UNITS = {"frames", "files", "events", "entries", "beeps", "clips"}
OTHER_UNITS = {"%", "ppm", "dBFS", "fraction", "A", "V"}
UNITS = set(TIME_UNITS) | COUNT_UNITS | OTHER_UNITS


class Limit(Strict):
    """A figure of a criterion: one ``value`` (a length, a tolerance) or a ``low``/``high`` range."""

    unit: str
    value: float | None = None
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _sound(self) -> Limit:
        if self.unit not in UNITS:
            raise ValueError(f"unknown unit {self.unit!r}; known: {sorted(UNITS)}")
        if self.value is None and self.low is None and self.high is None:
            raise ValueError("give value, low or high")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low:g} is above high {self.high:g}")
        return self

    def text(self) -> str:
        """How the report prints the figure: ``60 s``, ``5 .. 30 min``, ``>= 12 h``."""
        if self.value is not None:
            return f"{self.value:g} {self.unit}"
        if self.low is not None and self.high is not None:
            return f"{self.low:g} .. {self.high:g} {self.unit}"
        return f">= {self.low:g} {self.unit}" if self.low is not None else f"<= {self.high:g} {self.unit}"


def convert(x: float | None, unit: str, to: str) -> float | None:
    """``x`` from ``unit`` into ``to``; only time units convert (a frame count needs the frame rate)."""
    if x is None or unit == to:
        return x
    if unit in TIME_UNITS and to in TIME_UNITS:
        return x * TIME_UNITS[unit] / TIME_UNITS[to]
    raise ValueError(f"a figure in {unit} cannot serve as {to}")


class Requirement(Strict):
    id: str = Field(pattern=r"^BWC-[A-Z]+-\d{2}$")
    group: str
    statement: str
    criterion: str
    source: str
    level: Literal["must", "target"] = Field(
        "must", description="'target': missing it is reported, but does not fail the certification"
    )
    limits: dict[str, Limit] = Field(default_factory=dict, description="the criterion's figures, by name")

    @field_validator("limits", mode="before")
    @classmethod
    def _empty(cls, value: object) -> object:
        return {} if value is None else value  # 'limits:' with every figure left out


class CatalogueFile(Strict):
    #: how a value and its uncertainty become pass/fail: simple acceptance, or guarded acceptance
    #: (ILAC-G8, guard band w = U: a value whose interval straddles a limit is inconclusive)
    decision_rule: DecisionRule = "simple"
    requirements: list[Requirement] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CatalogueFile:
        ids = [r.id for r in self.requirements]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"requirement id(s) listed twice: {twice}")
        return self


class Catalogue:
    def __init__(self, path: Path, requirements: list[Requirement], decision_rule: DecisionRule = "simple") -> None:
        self.path = path
        self.by_id = {r.id: r for r in requirements}
        self.decision_rule: DecisionRule = decision_rule

    def with_decision_rule(self, rule: DecisionRule | None) -> Catalogue:
        """This catalogue judged under ``rule`` (None: its own), e.g. ``bwc certify --decision-rule``."""
        return self if rule is None else Catalogue(self.path, self.requirements, rule)

    @property
    def ids(self) -> set[str]:
        return set(self.by_id)

    @property
    def requirements(self) -> list[Requirement]:
        """In catalogue order, which groups related requirements together."""
        return list(self.by_id.values())

    def groups(self) -> dict[str, list[Requirement]]:
        out: dict[str, list[Requirement]] = {}
        for r in self.by_id.values():
            out.setdefault(r.group, []).append(r)
        return out

    def sha256(self) -> str:
        """Hash of the catalogue file, so a report says exactly which wording it was judged against."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def limit(self, requirement: str, name: str) -> Limit | None:
        """The figure ``name`` of ``requirement``, or None when the catalogue does not give it."""
        req = self.by_id.get(requirement)
        return None if req is None else req.limits.get(name)

    def figure(self, requirement: str, name: str, unit: str) -> float:
        """The single-valued figure ``name`` of ``requirement`` in ``unit``; a clear error when missing."""
        lim = self._needed(requirement, name)
        if lim.value is None:
            raise ValueError(f"{self.path}: requirements {requirement} limits.{name}: needs a value")
        return convert(lim.value, lim.unit, unit)  # type: ignore[return-value]

    def bounds(self, requirement: str, name: str, unit: str) -> tuple[float | None, float | None]:
        """The (low, high) range ``name`` of ``requirement`` in ``unit`` (either side may be open)."""
        lim = self._needed(requirement, name)
        if lim.low is None and lim.high is None:
            raise ValueError(f"{self.path}: requirements {requirement} limits.{name}: needs low and/or high")
        return convert(lim.low, lim.unit, unit), convert(lim.high, lim.unit, unit)

    def _needed(self, requirement: str, name: str) -> Limit:
        lim = self.limit(requirement, name)
        if lim is None:
            raise ValueError(f"{self.path}: requirement {requirement} gives no limits.{name}, which its check needs")
        return lim

    @classmethod
    def load(cls, path: Path | str) -> Catalogue:
        path = Path(path)
        file = load_model(path, CatalogueFile)
        return cls(path, file.requirements, file.decision_rule)


@dataclass
class Coverage:
    """Which scenarios prove each requirement; unknown ids and unreadable files are problems."""

    catalogue: Catalogue
    by_requirement: dict[str, list[str]] = field(default_factory=dict)
    unknown: dict[str, list[str]] = field(default_factory=dict)  # scenario file -> ids not in the catalogue
    errors: dict[str, str] = field(default_factory=dict)  # scenario file -> why it could not be read

    @property
    def uncovered(self) -> list[str]:
        return [r.id for r in self.catalogue.requirements if not self.by_requirement.get(r.id)]

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.errors


def coverage(catalogue: Catalogue, scenarios: dict[str, list[str]], errors: dict[str, str] | None = None) -> Coverage:
    """Build the coverage from ``{scenario name: [requirement ids]}`` (files are read by the caller)."""
    cov = Coverage(catalogue, {r.id: [] for r in catalogue.requirements}, errors=dict(errors or {}))
    for name, ids in scenarios.items():
        for req in ids:
            if req in catalogue.by_id:
                cov.by_requirement[req].append(name)
            else:
                cov.unknown.setdefault(name, []).append(req)
    return cov
