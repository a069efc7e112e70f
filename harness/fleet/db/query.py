"""Reading the results database back: a run as its record said it, and the units of a lot.

A unit may be tested more than once (a re-test after a bench error, or after a failure); every
attempt is kept. A conclusive attempt is a run that failed (a failure is a fact even in a run that
did not finish) or one that finished and passed; runs that were interrupted or ended in a bench
error leave the unit to be re-tested. A unit's result is its first failure, if it has one (a pass
on a later attempt does not undo what the unit showed: the sample of a lot counts it
nonconforming), else its latest pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from harness.fleet.db.models import MeasurementRow, Run, ScenarioResult, Unit


def run_as_record(engine: Engine, key: str) -> dict[str, Any] | None:
    """The stored run in the layout of record.json (None: no such run): what a round trip must give back."""
    with Session(engine) as session:
        run = session.scalars(
            select(Run)
            .where(Run.run_key == key)
            .options(
                selectinload(Run.unit),
                selectinload(Run.scenarios).selectinload(ScenarioResult.measurements),
                selectinload(Run.scenarios).selectinload(ScenarioResult.evidence),
            )
        ).one_or_none()
        if run is None:
            return None
        tests = []
        for sr in run.scenarios:
            test: dict[str, Any] = {
                "scenario": sr.scenario,
                "title": sr.title,
                "requirements": sr.requirements,
                "verdict": sr.verdict,
                "error": sr.error,
                "measurements": [_measurement(m) for m in sr.measurements],
                "clips": [{"path": e.path, "sha256": e.sha256, **e.extra} for e in sr.evidence],
                **sr.extra,
            }
            if sr.duration_s is not None:
                test["duration_s"] = sr.duration_s
            if sr.notes is not None:
                test["notes"] = sr.notes
            tests.append(test)
        return {
            "phase": run.phase,
            "status": run.status,
            "start_utc": run.start_utc,
            "end_utc": run.end_utc,
            "camera": {"vendor": run.unit.vendor, "model": run.unit.model, "serial": run.unit.serial},
            "faults": run.faults,
            "catalogue": {"path": run.catalogue_path, "sha256": run.catalogue_sha256},
            "harness": {"version": run.harness_version},
            "tests": tests,
            "verdict": run.verdict,
            "lot": run.lot,
            "operator": run.operator,
            "bench": run.bench,
        }


def _measurement(m: MeasurementRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": m.name,
        "value": m.value,
        "unit": m.unit,
        "low": m.low,
        "high": m.high,
        "outcome": m.outcome,
        "requirement": m.requirement,
    }
    if m.quantity is not None:
        out["quantity"] = m.quantity
    if m.not_measurable is not None:
        out["not_measurable"] = m.not_measurable
    if m.calibration_id is not None:
        out["calibration_id"] = m.calibration_id
    return {**out, **m.extra}


@dataclass
class Attempt:
    """One run of a unit, with what failed in it (``requirement: measurement`` or ``scenario: error``)."""

    run_key: str
    start_utc: str
    status: str
    verdict: str
    bench: str | None
    operator: str | None
    reasons: list[str] = field(default_factory=list)


def unit_verdict(verdicts: list[str]) -> str | None:
    """A unit's result from its attempts' verdicts, oldest first: "fail" once any attempt failed (a
    later pass does not undo it), else "pass" once one passed, else None (nothing conclusive yet)."""
    if "fail" in verdicts:
        return "fail"
    return "pass" if "pass" in verdicts else None


@dataclass
class UnitResult:
    """A unit of a lot with every attempt, oldest first; ``verdict`` from the attempt that decides it."""

    vendor: str
    model: str
    serial: str
    attempts: list[Attempt]

    @property
    def first_start(self) -> str:
        return self.attempts[0].start_utc

    @property
    def conclusive(self) -> Attempt | None:
        """The attempt that decides the unit: its first failure, else its latest pass (None: none yet)."""
        failed = next((a for a in self.attempts if a.verdict == "fail"), None)
        return failed or next((a for a in reversed(self.attempts) if a.verdict == "pass"), None)

    @property
    def verdict(self) -> str | None:
        """pass, fail, or None: no conclusive attempt yet (to be tested again)."""
        return unit_verdict([a.verdict for a in self.attempts])

    @property
    def passed_after_failing(self) -> bool:
        """Failed an attempt and passed a later one: still a failure, shown so it can be looked into."""
        first = next((i for i, a in enumerate(self.attempts) if a.verdict == "fail"), None)
        return first is not None and any(a.verdict == "pass" for a in self.attempts[first + 1 :])


def lot_units(engine: Engine, lot: str, phase: str | None = None) -> list[UnitResult]:
    """Every unit with a run in ``lot`` (and ``phase``, if given), in the order they were first tested."""
    with Session(engine) as session:
        query = select(Run, Unit).join(Unit, Run.unit_id == Unit.id).where(Run.lot == lot)
        if phase is not None:
            query = query.where(Run.phase == phase)
        rows = session.execute(query.order_by(Run.start_utc, Run.id)).all()
        failing = _reasons(session, [r.id for r, _ in rows if r.verdict in ("fail", "error")])
        units: dict[int, UnitResult] = {}
        for run, unit in rows:
            u = units.setdefault(unit.id, UnitResult(unit.vendor, unit.model, unit.serial, []))
            u.attempts.append(
                Attempt(
                    run.run_key,
                    run.start_utc,
                    run.status,
                    run.verdict,
                    run.bench,
                    run.operator,
                    failing.get(run.id, []),
                )
            )
        return sorted(units.values(), key=lambda u: u.first_start)


def _reasons(session: Session, run_ids: list[int]) -> dict[int, list[str]]:
    """Per run: the failed measurements (``requirement name``) and the scenarios that ended in an error."""
    out: dict[int, list[str]] = {}
    if not run_ids:
        return out
    for run_id, requirement, name in session.execute(
        select(MeasurementRow.run_id, MeasurementRow.requirement, MeasurementRow.name)
        .where(MeasurementRow.run_id.in_(run_ids), MeasurementRow.outcome == "fail")
        .order_by(MeasurementRow.run_id, MeasurementRow.scenario_result_id, MeasurementRow.position)
    ):
        out.setdefault(run_id, []).append(f"{requirement} {name}")
    for run_id, scenario, verdict, error in session.execute(
        select(ScenarioResult.run_id, ScenarioResult.scenario, ScenarioResult.verdict, ScenarioResult.error)
        .where(ScenarioResult.run_id.in_(run_ids), ScenarioResult.verdict.in_(("fail", "error")))
        .order_by(ScenarioResult.run_id, ScenarioResult.position)
    ):
        if verdict == "error" or not out.get(run_id):
            why = (error or verdict).splitlines()[0][:120] if error else verdict
            out.setdefault(run_id, []).append(f"{scenario}: {why}")
    return out


def runs(engine: Engine, limit: int = 50, lot: str | None = None) -> list[dict[str, Any]]:
    """The latest runs, newest first, as one line's worth of fields each (``bwc db runs``)."""
    with Session(engine) as session:
        query = select(Run, Unit).join(Unit, Run.unit_id == Unit.id)
        if lot is not None:
            query = query.where(Run.lot == lot)
        rows = session.execute(query.order_by(Run.start_utc.desc(), Run.id.desc()).limit(limit)).all()
        return [
            {
                "run_key": r.run_key,
                "start_utc": r.start_utc,
                "serial": u.serial,
                "model": f"{u.vendor} {u.model}",
                "lot": r.lot,
                "bench": r.bench,
                "operator": r.operator,
                "phase": r.phase,
                "status": r.status,
                "verdict": r.verdict,
            }
            for r, u in rows
        ]
