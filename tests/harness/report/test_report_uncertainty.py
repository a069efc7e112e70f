"""Value +/- U and its budget per requirement, the decision rule stated, inconclusive measurements
listed and never passed, and the calibration records (with the out-of-date ones) in the report."""

from __future__ import annotations

import json

from report_page import parse_report
from synthetic_runs import measurement, two_scenarios, write_run

from harness.cli.certify import print_verdicts
from harness.cli.common import console
from harness.core.measurement import INCONCLUSIVE
from harness.core.paths import CATALOGUE
from harness.plan.requirements import Catalogue
from harness.report.compliance import requirement_results, summary_verdict
from harness.report.html import build_report
from harness.report.record import load_record

U = 0.012
BUDGET = [
    {"source": "present time (software log)", "u": 0.004, "note": "calibration of 2026-09-01"},
    {"source": "camera frame quantisation", "u": 0.0045, "note": "time-code bracket"},
]
CALIBRATION = {
    "file": "/lab/bench-calibration.yaml",
    "present_time": "software log",
    "valid_days": 90,
    "records": {
        "display_latency_ms": {
            "value": 12.0,
            "uncertainty": 4.0,
            "date": "2026-09-01",
            "method": "photometer",
            "by": "A. Tech",
        }
    },
    "stale": ["display_latency_ms of 2026-09-01 is 95 days old (valid 90 days)"],
}


def guarded_run() -> list[dict]:
    tests = two_scenarios()
    stop = tests[1]["measurements"][0]
    stop.update(value=1.0 - U / 2, uncertainty=U, coverage_k=2.0, budget=BUDGET, decision_rule="guarded")
    stop["outcome"] = INCONCLUSIVE
    pre = tests[0]["measurements"][0]
    pre.update(uncertainty=U, coverage_k=2.0, budget=BUDGET, decision_rule="guarded")
    return tests


def test_an_inconclusive_measurement_keeps_the_verdict_from_pass() -> None:
    record = {"phase": "P", "status": "complete", "tests": guarded_run(), "catalogue": {"decision_rule": "guarded"}}
    rows = {r.id: r for r in requirement_results(record, Catalogue.load(CATALOGUE))}
    assert rows["BWC-STOP-01"].status == "inconclusive"
    assert any("straddles a limit" in r for r in rows["BWC-STOP-01"].reasons)
    assert rows["BWC-PRE-01"].status == "pass"
    verdict = summary_verdict(record, list(rows.values()), [])
    assert verdict.word != "pass"
    assert [m["name"] for m in verdict.inconclusive] == ["stop_lag_s[event 1]"]
    assert verdict.decision_rule == "guarded"


def test_the_report_shows_value_plus_minus_u_the_budget_the_rule_and_the_calibration(tmp_path) -> None:
    path = write_run(tmp_path / "run", guarded_run())
    record = json.loads(path.read_text())
    record["catalogue"] = {**record.get("catalogue", {}), "decision_rule": "guarded"}
    record["calibration"] = CALIBRATION
    path.write_text(json.dumps(record))
    html = build_report(path, pdf=False).html.read_text()
    page = parse_report(html)
    assert page.rows["BWC-STOP-01"].status == "inconclusive"
    assert 'id="inconclusive"' in html and 'data-count="1"' in html
    assert 'data-rule="guarded"' in html and "guard band w = U" in html
    row = html[html.index('data-requirement="BWC-PRE-01"') :]
    row = row[: row.index('class="req"')]  # up to the next requirement's row
    assert "&plusmn;" in row and 'data-u="0.012"' in row
    assert 'data-source="present time (software log)"' in row and "camera frame quantisation" in row
    assert 'id="calibration"' in html and 'data-record="display_latency_ms"' in html
    assert "Calibration out of date: display_latency_ms of 2026-09-01 is 95 days old" in html


def test_certify_table_shows_u_and_the_inconclusive_count(tmp_path) -> None:
    path = write_run(tmp_path / "run", guarded_run())
    with console.capture() as out:
        print_verdicts(load_record(path))
    text = out.get()
    assert "stop_lag_s[event 1] = 0.994 +/- 0.012 s" in text and "INCONCLUSIVE" in text
    assert "1 measurement(s) inconclusive" in text and "decision rule:" in text


def test_without_uncertainty_fields_an_old_record_still_reports(tmp_path) -> None:
    path = write_run(tmp_path / "run", [measurement_run()])
    html = build_report(path, pdf=False).html.read_text()
    assert 'data-rule="simple"' in html and 'id="calibration-none"' in html and "&plusmn;" not in html


def measurement_run() -> dict:
    return {
        "scenario": "stop",
        "requirements": ["BWC-STOP-01"],
        "verdict": "pass",
        "measurements": [measurement("stop_lag_s[event 1]", 0.02, -0.0333, 1.0, "BWC-STOP-01")],
    }
