"""Compliance matrix and summary verdict: what a programme office is told, row by row."""

from __future__ import annotations

import json

from synthetic_runs import measurement, two_scenarios

from harness.core.paths import CATALOGUE
from harness.plan.requirements import Catalogue
from harness.report.compliance import requirement_results, summary_verdict


def _rows(record: dict) -> dict:
    return {r.id: r for r in requirement_results(record, Catalogue.load(CATALOGUE))}


def _record(tests: list[dict], status: str = "complete") -> dict:
    return {"phase": "P", "status": status, "tests": tests}


def test_every_catalogued_requirement_has_a_row_and_unmeasured_ones_are_not_tested() -> None:
    rows = _rows(_record(two_scenarios()))
    assert set(rows) == Catalogue.load(CATALOGUE).ids
    assert rows["BWC-PRE-01"].status == "pass"
    assert rows["BWC-PWR-01"].status == "not tested" and rows["BWC-PWR-01"].scenarios == []


def test_a_measurement_out_of_limits_fails_its_requirement_only() -> None:
    rows = _rows(_record(two_scenarios(join_missing=3)))
    assert rows["BWC-CONT-01"].status == "fail"
    assert "preroll-full-buffer: join_missing_frames[event 1] out of limits" in rows["BWC-CONT-01"].reasons
    assert rows["BWC-PRE-01"].status == "pass"


def test_claimed_but_unmeasured_or_errored_requirements_are_inconclusive() -> None:
    rows = _rows(_record(two_scenarios(second_verdict="error")))
    assert rows["BWC-STOP-01"].status == "inconclusive"
    assert any("ended in error: ConnectionError" in r for r in rows["BWC-STOP-01"].reasons)
    rows = _rows(_record(two_scenarios()))
    assert rows["BWC-STOP-02"].status == "inconclusive"  # 'stop' names it but measured nothing for it
    assert rows["BWC-STOP-02"].reasons == ["scenario stop names BWC-STOP-02 but measured nothing for it"]


def test_an_id_only_the_record_knows_gets_its_own_row() -> None:
    tests = two_scenarios()
    tests[0]["measurements"].append(measurement("mystery", 1.0, 0, 2, "BWC-NEW-01"))
    rows = _rows(_record(tests))
    assert rows["BWC-NEW-01"].requirement is None and rows["BWC-NEW-01"].status == "pass"
    assert "not in the requirement catalogue" in rows["BWC-NEW-01"].reasons


def test_verdict_fails_on_a_must_requirement_but_only_observes_a_missed_target() -> None:
    tests = two_scenarios()
    tests[0]["measurements"].append(measurement("av_offset_ms[event 1]", 75.0, -40, 60, "BWC-AV-01", "ms"))
    tests[0]["measurements"].append(measurement("av_offset_extreme_ms[event 1]", 75.0, -45, 125, "BWC-AV-02", "ms"))
    record = _record(tests)
    rows = requirement_results(record, Catalogue.load(CATALOGUE))
    verdict = summary_verdict(record, rows, [])
    assert verdict.word == "incomplete"  # untested requirements remain, but nothing failed
    assert verdict.observations == ["BWC-AV-01 (target) not met"]
    failing = _record(two_scenarios(preroll=119.5))
    verdict = summary_verdict(failing, requirement_results(failing, Catalogue.load(CATALOGUE)), [])
    assert verdict.word == "fail" and verdict.reasons[0] == "requirement(s) not met: BWC-PRE-01"


def test_verdict_passes_only_when_everything_is_proven_the_run_complete_and_evidence_intact() -> None:
    catalogue = Catalogue.load(CATALOGUE)
    tests = [
        {
            "scenario": f"s-{r.id.lower()}",
            "requirements": [r.id],
            "verdict": "pass",
            "measurements": [measurement("x", 1.0, 0, 2, r.id)],
        }
        for r in catalogue.requirements
    ]
    record = _record(json.loads(json.dumps(tests)))
    rows = requirement_results(record, catalogue)
    assert summary_verdict(record, rows, []).word == "pass"
    assert summary_verdict(record, rows, ["s/CAM_0001.mp4 is changed"]).word == "fail"
    interrupted = {**record, "status": "interrupted"}
    verdict = summary_verdict(interrupted, rows, [])
    assert verdict.word == "incomplete" and "the run did not complete (status: interrupted)" in verdict.reasons
