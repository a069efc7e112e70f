"""What one scenario puts into its Allure result, beyond labels and steps.

The measurement table as CSV (Allure shows it as a table), the evidence as paths and hashes (whole
clips would swamp an Allure report), and the pictures made by :mod:`harness.report.artifacts`.
Called from the pytest plugin; every function here works on plain data so it is testable alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import allure

from harness.core.evidence import EvidenceFile
from harness.core.measurement import NOT_MEASURABLE, Measurement
from harness.plan.requirements import Requirement
from harness.report.artifacts import Artifact

REQUIREMENT_LINK = "requirement"
NOT_MEASURABLE_TAG = "not measurable on this model"  # the tag of a test with measurements the camera cannot give


def measurements_csv(measurements: Iterable[Measurement]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["measurement", "value", "unit", "low", "high", "outcome", "requirement", "note"])
    for m in measurements:
        note = "; ".join(n for n in (m.not_measurable, m.note) if n)  # why not first, for one not measurable
        writer.writerow(
            ["" if v is None else v for v in (m.name, m.value, m.unit, m.low, m.high, m.outcome, m.requirement, note)]
        )
    return buf.getvalue()


def not_measurable_text(measurements: Iterable[Measurement]) -> str:
    """One line per measurement the camera model gives no way to make, with the reason ('' if none)."""
    return "".join(
        f"{m.name} ({m.requirement}): not measurable on this model - {m.not_measurable}\n"
        for m in measurements
        if m.outcome == NOT_MEASURABLE
    )


def evidence_text(evidence: Iterable[EvidenceFile]) -> str:
    """``sha256  path`` per clip, the line format ``sha256sum -c`` checks."""
    return "".join(f"{e.sha256}  {e.path}\n" for e in evidence)


def requirement_link_pattern(out: Path) -> str:
    """Default target of requirement links: the requirement's row in this run's certification report."""
    uri = (out / "report.html").resolve().as_uri().replace("{", "{{").replace("}", "}}")  # str.format pattern
    return uri + "#{}"


def link_requirements(requirements: Iterable[Requirement]) -> None:
    for r in requirements:
        allure.dynamic.link(r.id, link_type=REQUIREMENT_LINK, name=f"{r.id}: {r.group}")


def attach_measurements(measurements: list[Measurement]) -> None:
    if measurements:
        allure.attach(measurements_csv(measurements), "measurements", allure.attachment_type.CSV)


def attach_not_measurable(measurements: list[Measurement]) -> None:
    """The measurements this camera model cannot give, as their own attachment and a label, so
    an Allure report shows a passed test with gaps as such (never as a plain pass)."""
    text = not_measurable_text(measurements)
    if text:
        allure.attach(text, "not measurable on this model", allure.attachment_type.TEXT)
        allure.dynamic.tag(NOT_MEASURABLE_TAG)


def attach_evidence(evidence: list[EvidenceFile]) -> None:
    if evidence:
        allure.attach(
            evidence_text(evidence),
            "evidence (SHA-256 and path; clips are kept out of Allure)",
            allure.attachment_type.TEXT,
        )


def attach_pictures(artifacts: list[Artifact]) -> None:
    for art in artifacts:
        allure.attach.file(str(art.path), name=art.title, attachment_type=allure.attachment_type.PNG)
