"""Lot acceptance from the results database: ISO 2859-1 single sampling with its switching rules.

A lot is registered with its size and AQL (and inspection level, and the product whose series of
lots the switching rules follow). Its decision walks the product's lots in the order they were
registered, from normal inspection (ISO 2859-1 clause 9.1: inspection starts normal), deciding
each lot from its units in the database with the plan of the severity in force, and moving between
normal, tightened and reduced inspection by the rules of clause 9.3 (:class:`Switching`), until it
reaches the lot asked about.

The sample of a lot is its first ``n`` units tested (``n`` from the plan; every unit when the sample
covers the lot). A unit counts as nonconforming when any of its conclusive attempts
failed, even if a re-test later passed (:mod:`harness.fleet.db.query`). The lot is rejected as soon as the nonconforming units
reach Re; it is accepted only when every unit of the sample has a conclusive result with Ac or
fewer nonconforming; otherwise it is still open.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from harness.core.clock import wall_utc
from harness.fleet.db.models import Lot
from harness.fleet.db.query import UnitResult, lot_units
from harness.fleet.db.store import DatabaseError, error_text, shown
from harness.fleet.sampling import LotDecision, Plan, SamplingError, SamplingTables, Switching, decide, standard_tables


class LotError(ValueError):
    """A lot that cannot be registered or decided: the message is one line naming the lot."""


@dataclass(frozen=True)
class LotInfo:
    name: str
    product: str
    size: int
    aql: str
    level: str
    production_steady: bool = True
    reduced_approved: bool = False
    corrective_action: str | None = None  # the supplier's action this lot follows (resumes inspection)


def register_lot(engine: Engine, lot: LotInfo, tables: SamplingTables | None = None) -> str:
    """Add a lot (its plan must exist in the tables); registering the same lot again changes nothing.

    Returns "added" or "unchanged"; a lot registered with other numbers raises :class:`LotError`.
    """
    tables = tables or standard_tables()
    level = lot.level.strip().upper()
    try:
        aql = tables.aql_column(lot.aql)
        tables.plan(lot.size, aql, level)
    except SamplingError as exc:
        raise LotError(f"lot {lot.name}: {exc}") from None
    action = (lot.corrective_action or "").strip() or None
    wanted = LotInfo(lot.name, lot.product, lot.size, aql, level, lot.production_steady, lot.reduced_approved, action)
    try:
        with Session(engine) as session, session.begin():
            row = session.scalars(select(Lot).where(Lot.name == lot.name)).one_or_none()
            if row is not None:
                if _info(row) == wanted:
                    return "unchanged"
                raise LotError(f"lot {lot.name} is already registered as {_describe(_info(row))}")
            session.add(
                Lot(
                    name=lot.name,
                    product=lot.product,
                    size=lot.size,
                    aql=aql,
                    level=level,
                    production_steady=lot.production_steady,
                    reduced_approved=lot.reduced_approved,
                    corrective_action=action,
                    registered_utc=wall_utc().isoformat(),
                )
            )
    except IntegrityError:
        raise LotError(f"lot {lot.name} was registered at the same moment by another bench; run again") from None
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database {shown(str(engine.url))}: {error_text(exc)}") from exc
    return "added"


def lot_registered(engine: Engine, name: str) -> bool:
    """Whether ``name`` is a registered lot (a station warns of units tested into a lot with no plan)."""
    try:
        with Session(engine) as session:
            return session.scalars(select(Lot.id).where(Lot.name == name)).first() is not None
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database {shown(str(engine.url))}: {error_text(exc)}") from exc


def _info(row: Lot) -> LotInfo:
    return LotInfo(
        row.name, row.product, row.size, row.aql, row.level, row.production_steady, row.reduced_approved,
        row.corrective_action,
    )  # fmt: skip


def _describe(lot: LotInfo) -> str:
    product = f"product {lot.product!r}, " if lot.product else ""
    flags = ("" if lot.production_steady else ", irregular production") + (
        ", reduced inspection approved" if lot.reduced_approved else ""
    )
    action = f", after corrective action {lot.corrective_action!r}" if lot.corrective_action else ""
    return f"{product}size {lot.size}, AQL {lot.aql}, level {lot.level}{flags}{action}"


@dataclass
class LotOutcome:
    """One lot of the series as inspected: plan, sample counts and the decision (None: still open)."""

    lot: LotInfo
    plan: Plan
    severity_reason: str
    units: list[UnitResult]
    sample: list[UnitResult]
    nonconforming: list[UnitResult]
    beyond_sample: list[UnitResult]
    decision: LotDecision | None
    next_state: Switching | None = None

    @property
    def conclusive(self) -> int:
        return sum(1 for u in self.sample if u.verdict is not None)

    @property
    def untested(self) -> int:
        """Units of the sample still to test (or to re-test: no conclusive attempt yet)."""
        return self.plan.units - self.conclusive


@dataclass
class LotReport:
    """The decision on the lot asked about, with the lots before it in its series.

    ``outcome`` is None when no decision can be made: ``blocked_by`` says why (a lot before it still
    open, or inspection discontinued).
    """

    target: LotInfo
    outcome: LotOutcome | None
    history: list[LotOutcome] = field(default_factory=list)
    blocked_by: str | None = None
    discontinued: bool = False


def inspect(lot: LotInfo, plan: Plan, units: list[UnitResult], reason: str) -> LotOutcome:
    """Decide one lot from its units under ``plan`` (see the module's description)."""
    sample, beyond = units[: plan.units], units[plan.units :]
    bad = [u for u in sample if u.verdict == "fail"]
    decision: LotDecision | None
    if len(bad) >= plan.re:
        decision = LotDecision(False)
    elif all(u.verdict is not None for u in sample) and len(sample) == plan.units:
        decision = decide(plan, len(bad))
    else:
        decision = None
    return LotOutcome(lot, plan, reason, units, sample, bad, beyond, decision)


def decide_lot(engine: Engine, name: str, phase: str | None = None, tables: SamplingTables | None = None) -> LotReport:
    """Walk the lot's series in registration order and decide it (the module's description)."""
    tables = tables or standard_tables()
    try:
        with Session(engine) as session:
            target = session.scalars(select(Lot).where(Lot.name == name)).one_or_none()
            if target is None:
                raise LotError(f"lot {name} is not registered (bwc lot add {name} --size N --aql A)")
            series = [
                _info(r)
                for r in session.scalars(
                    select(Lot).where(Lot.product == target.product, Lot.id <= target.id).order_by(Lot.id)
                )
            ]
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database {shown(str(engine.url))}: {error_text(exc)}") from exc
    target_info = series[-1]
    state = Switching()  # clause 9.1: normal inspection at the start
    history: list[LotOutcome] = []
    for lot in series:
        if state.discontinued and lot.corrective_action:
            state = state.resume()  # clause 9.4: after the supplier's action, on tightened inspection
        if state.discontinued and lot.name != name:
            continue  # a lot offered while inspection is discontinued is not inspected; the series goes on
        if state.discontinued:
            return LotReport(
                target_info,
                None,
                history,
                f"inspection was discontinued after lot {history[-1].lot.name} ({state.reason}); "
                "ISO 2859-1 clause 9.4: no lot is accepted until the supplier has corrected the quality "
                "(register the next lot with bwc lot add --after-corrective-action NOTE)",
                discontinued=True,
            )
        plan = tables.plan(lot.size, lot.aql, lot.level, state.severity)
        outcome = inspect(lot, plan, lot_units(engine, lot.name, phase), state.reason)
        if lot.name == name:
            if outcome.decision is not None:
                outcome.next_state = _after(state, outcome, tables)
            return LotReport(target_info, outcome, history)
        if outcome.decision is None:
            return LotReport(
                target_info,
                None,
                [*history, outcome],
                f"lot {lot.name}, registered before it in the series, is still open ({outcome.conclusive} of "
                f"{plan.units} sample units with a result): the switching rules need its decision first",
            )
        state = outcome.next_state = _after(state, outcome, tables)
        history.append(outcome)
    raise LotError(f"lot {name} is not in its own series")  # unreachable: the target is the last lot of it


def _after(state: Switching, outcome: LotOutcome, tables: SamplingTables) -> Switching:
    """The switching rules after one decided lot (ISO 2859-1 clause 9.3, see :class:`Switching`)."""
    assert outcome.decision is not None
    return state.after(
        outcome.decision,
        nonconforming=len(outcome.nonconforming),
        ac=outcome.plan.ac,
        ac_tighter=tables.ac_one_step_tighter(outcome.plan),
        production_steady=outcome.lot.production_steady,
        reduced_approved=outcome.lot.reduced_approved,
    )


def _units(units: list[UnitResult]) -> str:
    return ", ".join(u.serial for u in units)


def _decision_text(o: LotOutcome) -> str:
    n, plan = len(o.nonconforming), o.plan
    if o.decision is None:
        return (
            f"OPEN: {o.conclusive} of {plan.units} sample units have a result, {n} nonconforming "
            f"(accept with {plan.ac} or fewer, reject at {plan.re}); {o.untested} unit(s) still to test"
        )
    if not o.decision.accepted:
        done = "" if o.conclusive == plan.units else f" after {o.conclusive} of {plan.units} sample units"
        return f"REJECTED: {n} nonconforming >= Re {plan.re}{done}"
    gap = "; normal inspection is reinstated (between Ac and Re on reduced)" if o.decision.reinstate_normal else ""
    return f"ACCEPTED: {n} nonconforming <= Ac {plan.ac} in {plan.units} sample units{gap}"


def report_lines(report: LotReport) -> list[str]:
    """The decision for a person: the plan with its numbers, the units that failed, the series so far."""
    t = report.target
    product = f" (product {t.product})" if t.product else ""
    lines = [f"lot {t.name}{product}: lot size {t.size}, AQL {t.aql}, inspection level {t.level}"]
    if report.history:
        lines.append("series so far (ISO 2859-1 clause 9 switching rules):")
        for h in report.history:
            verdict = "open" if h.decision is None else "accepted" if h.decision.accepted else "rejected"
            after = f" -> {h.next_state.reason}" if h.next_state is not None else ""
            lines.append(
                f"  {h.lot.name}: {h.plan.severity}, n={h.plan.units} Ac {h.plan.ac} Re {h.plan.re}, "
                f"{len(h.nonconforming)} nonconforming, {verdict}{after}"
            )
    o = report.outcome
    if o is None:
        lines.append(f"no decision: {report.blocked_by}")
        return lines
    plan = o.plan
    via = (
        ""
        if plan.code_letter == plan.table_letter
        else f" (Table I gives {plan.table_letter}; arrow to {plan.code_letter})"
    )
    lines.append(f"inspection: {plan.severity} ({o.severity_reason})")
    if o.lot.corrective_action:
        resumed = o.severity_reason.startswith("resumed")
        lines.append(
            f"registered after the supplier's corrective action: {o.lot.corrective_action}"
            + ("" if resumed else " (no effect: inspection was not discontinued)")
        )
    whole = " (100 % inspection)" if plan.hundred_percent else ""
    lines.append(
        f"plan: code letter {plan.code_letter}{via}, sample {plan.units} units{whole}, Ac {plan.ac}, Re {plan.re}"
    )
    for note in plan.unverified:
        lines.append(f"note: table cell not verified against the printed standard: {note}")
    lines.append(
        f"units tested in the lot: {len(o.units)}; in the sample: {len(o.sample)}, {o.conclusive} with a result"
    )
    for u in o.nonconforming:
        last = u.conclusive
        why = "; ".join(last.reasons[:3]) if last is not None and last.reasons else "failed"
        lines.append(f"  nonconforming: {u.model} {u.serial}: {why}")
    retest = [u for u in o.sample if u.verdict is None]
    if retest:
        lines.append(f"  to test or re-test (no conclusive result yet): {_units(retest)}")
    passed_on_retest = [u for u in o.sample if u.passed_after_failing]
    if passed_on_retest:
        lines.append(
            f"  passed a re-test after failing, counted nonconforming (the failure stands): {_units(passed_on_retest)}"
        )
    if o.beyond_sample:
        bad = [u for u in o.beyond_sample if u.verdict == "fail"]
        lines.append(
            f"  {len(o.beyond_sample)} unit(s) tested beyond the sample are not counted for the lot"
            + (f"; failed, to be set aside: {_units(bad)}" if bad else "")
        )
    lines.append(f"decision: {_decision_text(o)}")
    if o.next_state is not None:
        lines.append(f"next lot of the series: {o.next_state.severity} inspection ({o.next_state.reason})")
    return lines


def report_dict(report: LotReport) -> dict[str, object]:
    """The decision as data (``bwc lot decide --json``)."""

    def one(o: LotOutcome) -> dict[str, object]:
        return {
            "lot": o.lot.name,
            "plan": o.plan.as_dict(),
            "severity_reason": o.severity_reason,
            "units_tested": len(o.units),
            "sample_with_result": o.conclusive,
            "nonconforming": [u.serial for u in o.nonconforming],
            "to_test": [u.serial for u in o.sample if u.verdict is None],
            "units_still_needed": o.untested,
            "beyond_sample": [u.serial for u in o.beyond_sample],
            "decision": None if o.decision is None else ("accepted" if o.decision.accepted else "rejected"),
            "reinstate_normal": bool(o.decision and o.decision.reinstate_normal),
            "next_severity": o.next_state.severity if o.next_state else None,
            "next_reason": o.next_state.reason if o.next_state else None,
        }

    t = report.target
    return {
        "lot": t.name,
        "product": t.product,
        "size": t.size,
        "aql": t.aql,
        "level": t.level,
        "decision": one(report.outcome) if report.outcome else None,
        "blocked_by": report.blocked_by,
        "discontinued": report.discontinued,
        "series": [one(h) for h in report.history],
    }
