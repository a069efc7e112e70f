"""Measurements a camera model gives no way to make: listed with their reason in the report's own
section, in ``bwc certify``'s table, in the Allure results and in the compliance summary, and never
counted as passes. A scenario with no failure keeps its pass."""

from __future__ import annotations

import csv
import io

from report_page import parse_report
from synthetic_runs import measurement, two_scenarios, write_run

from harness.cli.certify import print_verdicts
from harness.cli.common import console
from harness.core.measurement import NOT_MEASURABLE, Declared
from harness.core.paths import CATALOGUE
from harness.plan.requirements import Catalogue
from harness.report.allure_results import measurements_csv, not_measurable_text
from harness.report.compliance import requirement_results, summary_verdict
from harness.report.html import build_report
from harness.report.record import load_record

NO_JOIN = "the camera marks the start of the live recording nowhere: no event marker and audio in the buffer"
NO_SERIAL = "the camera states its serial nowhere in its footage"


def gap(name: str, requirement: str, unit: str, why: str) -> dict:
    return {
        **measurement(name, None, -0.0333, 0.1, requirement, unit),
        "outcome": NOT_MEASURABLE,
        "not_measurable": why,
    }


def run_with_gaps() -> list[dict]:
    tests = two_scenarios()
    tests[0]["measurements"].append(gap("serial_match[event 1]", "BWC-EVT-01", "fraction", NO_SERIAL))
    tests.append(
        {
            "scenario": "audio-policy",
            "requirements": ["BWC-ACT-01"],
            "verdict": "pass",  # nothing failed: the scenario keeps its pass
            "measurements": [gap("activation_latency_s[event 1]", "BWC-ACT-01", "s", NO_JOIN)],
        }
    )
    return tests


def test_a_requirement_never_counts_a_not_measurable_measurement_as_a_pass() -> None:
    record = {"phase": "P", "status": "complete", "tests": run_with_gaps()}
    rows = {r.id: r for r in requirement_results(record, Catalogue.load(CATALOGUE))}
    assert rows["BWC-ACT-01"].status == "not measurable"
    assert any(NO_JOIN in r for r in rows["BWC-ACT-01"].reasons)
    # measured in part: passes on what was measured, and names what was not
    assert rows["BWC-EVT-01"].status == "pass"
    assert any(
        "1 measurement(s) not measurable on this model" in r and NO_SERIAL in r for r in rows["BWC-EVT-01"].reasons
    )
    verdict = summary_verdict(record, list(rows.values()), [])
    assert verdict.counts["not measurable"] == 1 and verdict.counts["fail"] == 0
    assert verdict.word != "fail"
    assert f"BWC-ACT-01 not measurable on this model: {NO_JOIN}" in verdict.observations
    assert [m["name"] for m in verdict.not_measurable] == ["serial_match[event 1]", "activation_latency_s[event 1]"]


def test_the_report_lists_them_in_their_own_section(tmp_path) -> None:
    path = write_run(tmp_path / "run", run_with_gaps())
    files = build_report(path, pdf=False)
    html = files.html.read_text()
    page = parse_report(html)
    assert "not-measurable" in page.ids and "Not measurable on this model" in html
    assert page.rows["BWC-ACT-01"].status == "not measurable"
    section = html[
        html.index('<section id="not-measurable">') : html.index("</section>", html.index('id="not-measurable"'))
    ]
    assert section.count("<tr data-scenario=") == 2
    assert NO_JOIN in section and NO_SERIAL in section and "activation_latency_s[event 1]" in section
    assert 'data-count="2"' in html  # the summary says how many
    scenario = html[html.index('id="scenario-audio-policy"') :]
    assert "1 measurement(s) not measurable on this model" in scenario[: scenario.index("</p>")]
    assert page.scenarios["audio-policy"] == "pass"


def test_bwc_certify_prints_them_with_the_reason(tmp_path) -> None:
    record = load_record(write_run(tmp_path / "run", run_with_gaps()))
    with console.capture() as captured:
        print_verdicts(record)
    text = " ".join(captured.get().split())
    assert "activation_latency_s[event 1]: not measurable on this model" in text
    assert "(1 not measurable)" in text and "2 measurement(s) not measurable on this model" in text


def test_allure_results_carry_them_with_the_reason() -> None:
    latency = Declared("activation_latency_s", "s", "BWC-ACT-01", "profile", ("event",))
    gone = latency(None, -0.0333, 0.1, event=1, not_measurable=NO_JOIN)
    made = latency(0.01, -0.0333, 0.1, event=2, note="audio onset")
    rows = list(csv.DictReader(io.StringIO(measurements_csv([gone, made]))))
    assert rows[0]["outcome"] == NOT_MEASURABLE and rows[0]["note"] == NO_JOIN and rows[0]["value"] == ""
    assert rows[1]["outcome"] == "pass"
    assert (
        not_measurable_text([gone, made])
        == f"activation_latency_s[event 1] (BWC-ACT-01): not measurable on this model - {NO_JOIN}\n"
    )
    assert not_measurable_text([made]) == ""
