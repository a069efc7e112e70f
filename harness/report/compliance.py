"""The requirement compliance matrix and the summary verdict, computed from a run record.

A requirement passes only when it was measured, every measurement made for it is inside its
limits, and every scenario that claims to prove it ran to the end and measured it. A scenario
that errored, was skipped, or names a requirement it never measured leaves the requirement
"inconclusive": the evidence the catalogue promised is not all there. Nothing measured at all is
"not tested". A miss of a ``target`` requirement is reported but does not fail the certification.

A measurement the camera model gives no way to make (outcome "not measurable": no event marker
and audio in the buffer, no serial anywhere) is never counted as a pass: a requirement with only
such measurements is "not measurable", one that also passed measurements passes with the gap
named, and the summary lists every one of them. It does not fail the certification: the camera
cannot be judged there, and the report says so.

Under guarded acceptance a measurement whose interval ``value +/- U`` straddles a limit is
"inconclusive": never a pass; its requirement is inconclusive (unless another measurement failed
it), so the summary verdict cannot be PASS, and the summary lists every such measurement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from harness.core.measurement import INCONCLUSIVE, NOT_MEASURABLE
from harness.plan.requirements import Catalogue, Requirement

Status = Literal["pass", "fail", "inconclusive", "not measurable", "not tested"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "inconclusive", "not measurable", "not tested")


@dataclass
class RequirementResult:
    id: str
    requirement: Requirement | None  # None: the record names an id the catalogue does not have
    status: Status
    scenarios: list[str] = field(default_factory=list)
    measurements: list[dict] = field(default_factory=list)  # record measurements plus "scenario"
    reasons: list[str] = field(default_factory=list)

    @property
    def level(self) -> str:
        return self.requirement.level if self.requirement else "must"

    @property
    def not_measurable(self) -> list[dict]:
        """The measurements this camera model gives no way to make."""
        return [m for m in self.measurements if m["outcome"] == NOT_MEASURABLE]


@dataclass
class Verdict:
    word: Literal["pass", "fail", "incomplete"]
    reasons: list[str]
    observations: list[str]
    counts: dict[Status, int]
    not_measurable: list[dict] = field(default_factory=list)  # record measurements plus "scenario"
    inconclusive: list[dict] = field(default_factory=list)  # record measurements plus "scenario"
    decision_rule: str = "simple"


def requirement_results(record: dict, catalogue: Catalogue) -> list[RequirementResult]:
    """One row per catalogued requirement (catalogue order), then any id only the record knows."""
    ids = [r.id for r in catalogue.requirements]
    for test in record["tests"]:
        for rid in [*test.get("requirements", []), *(m["requirement"] for m in test.get("measurements") or [])]:
            if rid not in ids:
                ids.append(rid)
    return [_judge(rid, catalogue.by_id.get(rid), record["tests"]) for rid in ids]


def _judge(rid: str, requirement: Requirement | None, tests: list[dict]) -> RequirementResult:
    row = RequirementResult(rid, requirement, "not tested")
    for test in tests:
        measured = [m for m in test.get("measurements") or [] if m["requirement"] == rid]
        claimed = rid in (test.get("requirements") or [])
        if not measured and not claimed:
            continue
        row.scenarios.append(test["scenario"])
        row.measurements += [{**m, "scenario": test["scenario"]} for m in measured]
        if test["verdict"] in ("error", "skip"):
            why = (test.get("error") or "").splitlines()[0][:160] if test.get("error") else ""
            row.reasons.append(f"scenario {test['scenario']} ended in {test['verdict']}" + (f": {why}" if why else ""))
        elif claimed and not measured:
            row.reasons.append(f"scenario {test['scenario']} names {rid} but measured nothing for it")
    failed = [m for m in row.measurements if m["outcome"] == "fail"]  # an informative value never fails
    unsure = [m for m in row.measurements if m["outcome"] == INCONCLUSIVE]
    row.reasons += [
        f"{m['scenario']}: {m['name']} = {m['value']:g} +/- {m.get('uncertainty') or 0:g} {m['unit']} "
        "straddles a limit (guarded acceptance): inconclusive"
        for m in unsure
    ]
    if failed:
        row.status = "fail"
        row.reasons[:0] = [f"{m['scenario']}: {m['name']} out of limits" for m in failed]
    elif row.reasons:
        row.status = "inconclusive"
    elif any(m["outcome"] != NOT_MEASURABLE for m in row.measurements):
        row.status = "pass"
    elif row.measurements:
        row.status = "not measurable"
    gaps = row.not_measurable
    if gaps:
        row.reasons.append(f"{len(gaps)} measurement(s) not measurable on this model: {_why(gaps)}")
    if requirement is None:
        row.reasons.append("not in the requirement catalogue")
    return row


def _why(measurements: list[dict]) -> str:
    """The distinct reasons a set of measurements could not be made, each once."""
    return "; ".join(dict.fromkeys(str(m.get("not_measurable") or "no reason recorded") for m in measurements))


def inconclusive(record: dict) -> list[dict]:
    """Every measurement of the run whose uncertainty interval straddled a limit (guarded rule)."""
    return [
        {**m, "scenario": t["scenario"]}
        for t in record["tests"]
        for m in t.get("measurements") or []
        if m["outcome"] == INCONCLUSIVE
    ]


def decision_rule(record: dict) -> str:
    """The decision rule the run was judged under (records before it was stated: simple)."""
    rules = {
        m.get("decision_rule", "simple")
        for t in record.get("tests", [])
        for m in t.get("measurements") or []
        if m.get("kind", "limit") == "limit"
    }
    return (record.get("catalogue") or {}).get("decision_rule") or (" and ".join(sorted(rules)) if rules else "simple")


def not_measurable(record: dict) -> list[dict]:
    """Every measurement of the run the camera model gave no way to make, with its scenario."""
    return [
        {**m, "scenario": t["scenario"]}
        for t in record["tests"]
        for m in t.get("measurements") or []
        if m["outcome"] == NOT_MEASURABLE
    ]


def summary_verdict(record: dict, rows: list[RequirementResult], evidence_problems: list[str]) -> Verdict:
    """PASS only if every must-requirement passed (or could not be measured on this model, which
    the observations name), the run completed and the evidence is intact."""
    counts = {s: sum(1 for r in rows if r.status == s) for s in STATUSES}
    must = [r for r in rows if r.level == "must"]
    reasons: list[str] = []
    observations = [f"{r.id} (target) not met" for r in rows if r.level == "target" and r.status == "fail"]
    observations += [
        f"{r.id} not measurable on this model: {_why(r.not_measurable)}" for r in rows if r.status == "not measurable"
    ]
    gaps = not_measurable(record)
    failed = [r.id for r in must if r.status == "fail"]
    if failed:
        reasons.append(f"requirement(s) not met: {', '.join(failed)}")
    reasons += [f"evidence: {p}" for p in evidence_problems]
    word: Literal["pass", "fail", "incomplete"] = "fail" if reasons else "pass"
    if word == "pass":
        open_ = [r.id for r in must if r.status in ("inconclusive", "not tested")]
        if record.get("status") != "complete":
            reasons.append(f"the run did not complete (status: {record.get('status')})")
        errors = [t["scenario"] for t in record["tests"] if t["verdict"] in ("error", "skip")]
        if errors:
            reasons.append(f"scenario(s) without a result: {', '.join(errors)}")
        if open_:
            reasons.append(f"requirement(s) not proven: {', '.join(open_)}")
        if reasons:
            word = "incomplete"
    return Verdict(word, reasons, observations, counts, gaps, inconclusive(record), decision_rule(record))
