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
from harness.core.measurement import Measurement
from harness.plan.requirements import Requirement
from harness.report.artifacts import Artifact

REQUIREMENT_LINK = "requirement"


def measurements_csv(measurements: Iterable[Measurement]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["measurement", "value", "unit", "low", "high", "outcome", "requirement", "note"])
    for m in measurements:
        writer.writerow(
            ["" if v is None else v for v in (m.name, m.value, m.unit, m.low, m.high, m.outcome, m.requirement, m.note)]
        )
    return buf.getvalue()


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
