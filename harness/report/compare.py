"""What changed between two runs (usually the last phase's certification and this one).

Measurements are matched by scenario and name. A measurement "moved" when it changed by more than
a fraction (10 % by default) of its tolerance band; for a one-sided or zero-width band, by more than
that fraction of its old value (any change at all from zero). So a pre-roll that crept 4 ms inside
a ±33 ms band is quiet, a join that now loses one frame is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness.plan.requirements import Catalogue
from harness.report.compliance import requirement_results

MOVE_FRACTION = 0.1


@dataclass(frozen=True)
class MeasurementChange:
    scenario: str
    name: str
    requirement: str
    unit: str
    old: float | None
    new: float | None
    old_outcome: str | None  # None: the measurement did not exist
    new_outcome: str | None
    low: float | None
    high: float | None

    @property
    def delta(self) -> float | None:
        if self.old is None or self.new is None:
            return None
        return self.new - self.old


@dataclass
class Comparison:
    old_label: str
    new_label: str
    requirements: list[tuple[str, str, str]] = field(default_factory=list)  # (id, old status, new status)
    verdicts: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # scenario, old, new
    new_failures: list[MeasurementChange] = field(default_factory=list)
    fixed: list[MeasurementChange] = field(default_factory=list)
    moved: list[MeasurementChange] = field(default_factory=list)
    appeared: list[MeasurementChange] = field(default_factory=list)
    gone: list[MeasurementChange] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        return not (
            self.requirements
            or self.verdicts
            or self.new_failures
            or self.fixed
            or self.moved
            or self.appeared
            or self.gone
        )


def label(record: dict) -> str:
    cam = record.get("camera") or {}
    return f"{record.get('phase', '?')} ({cam.get('model', '?')} fw {cam.get('firmware', '?')}, {record.get('start_utc', '?')[:10]})"


def _measurements(record: dict) -> dict[tuple[str, str], dict]:
    return {(t["scenario"], m["name"]): m for t in record["tests"] for m in t.get("measurements") or []}


def moved(old: float, new: float, low: float | None, high: float | None, fraction: float = MOVE_FRACTION) -> bool:
    if low is not None and high is not None and high > low:
        scale = high - low
    else:
        scale = abs(old)
    if scale == 0:
        return not math.isclose(new, old, abs_tol=1e-12)
    return abs(new - old) > fraction * scale


def compare(old: dict, new: dict, catalogue: Catalogue, fraction: float = MOVE_FRACTION) -> Comparison:
    out = Comparison(label(old), label(new))
    old_rows = {r.id: r.status for r in requirement_results(old, catalogue)}
    for row in requirement_results(new, catalogue):
        before = old_rows.get(row.id, "not tested")
        if before != row.status:
            out.requirements.append((row.id, before, row.status))
    old_v = {t["scenario"]: t["verdict"] for t in old["tests"]}
    new_v = {t["scenario"]: t["verdict"] for t in new["tests"]}
    for scenario in [*new_v, *(s for s in old_v if s not in new_v)]:
        if old_v.get(scenario) != new_v.get(scenario):
            out.verdicts.append((scenario, old_v.get(scenario), new_v.get(scenario)))
    om, nm = _measurements(old), _measurements(new)
    for key in [*nm, *(k for k in om if k not in nm)]:
        a, b = om.get(key), nm.get(key)
        ref = b if b is not None else a
        assert ref is not None  # the key came from one of the two records
        change = MeasurementChange(
            key[0],
            key[1],
            ref["requirement"],
            ref["unit"],
            a["value"] if a is not None else None,
            b["value"] if b is not None else None,
            a["outcome"] if a is not None else None,
            b["outcome"] if b is not None else None,
            ref["low"],
            ref["high"],
        )
        if a is None:
            assert b is not None
            (out.new_failures if b["outcome"] == "fail" else out.appeared).append(change)
        elif b is None:
            out.gone.append(change)
        elif a["outcome"] != "fail" and b["outcome"] == "fail":  # 'info' values never fail
            out.new_failures.append(change)
        elif a["outcome"] == "fail" and b["outcome"] != "fail":
            out.fixed.append(change)
        elif (_numbers(a["value"], b["value"]) and moved(a["value"], b["value"], b["low"], b["high"], fraction)) or (
            a["value"] is None
        ) != (b["value"] is None):
            out.moved.append(change)
    return out


def _numbers(*values: object) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
