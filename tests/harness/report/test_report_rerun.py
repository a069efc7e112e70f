"""Merging a re-run attempt into its run's record: the attempt counts, the one it replaces stays
whole (measurements, evidence) under ``superseded``, paths are rebased, another unit is refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from harness.report.html import build_report
from harness.report.manifest import evidence_items
from harness.report.record import RecordError, read_record
from harness.report.rerun import attempt_folder, attempts_of, merge_rerun
from tests.harness.report.synthetic_runs import measurement, two_scenarios, write_run


def attempt_run(run_dir: Path, number: int, stop_lag: float = 0.02, **record: object) -> Path:
    """An attempt of 'stop' written into the run's attempts folder, as the re-run writes it."""
    folder = attempt_folder(run_dir, "stop", number)
    test = {
        "scenario": "stop",
        "requirements": ["BWC-STOP-01", "BWC-STOP-02"],
        "verdict": "pass" if stop_lag <= 1 else "fail",
        "measurements": [measurement("stop_lag_s[event 1]", stop_lag, -0.0333, 1.0, "BWC-STOP-01")],
        "artifacts": [{"kind": "plot", "title": "timeline", "path": "artifacts/stop/clip1-timeline.png"}],
    }
    path = write_run(folder, [test])
    data = json.loads(path.read_text())
    data.update(record)
    path.write_text(json.dumps(data))
    return path


def test_the_attempt_counts_and_the_failure_stays(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", two_scenarios(second_verdict="fail"))
    before = {c["path"]: Path(c["path"]).read_bytes() for t in read_record(run)["tests"] for c in t["clips"]}
    assert attempts_of(read_record(run), "stop") == 1
    merged = merge_rerun(run, attempt_run(run.parent, 2), "stop", "solenoid re-seated")
    assert merged == read_record(run)  # what was returned is what was written
    (stop,) = [t for t in merged["tests"] if t["scenario"] == "stop"]
    assert stop["verdict"] == "pass" and stop["attempt"] == 2
    assert stop["rerun"]["replaces"] == {"attempt": 1, "verdict": "fail"}
    assert stop["rerun"]["reason"] == "solenoid re-seated" and stop["rerun"]["folder"] == "attempts/stop-2"
    assert stop["clips"][0]["path"] == "attempts/stop-2/evidence/stop/CAM_0001.mp4"  # relative to the run
    assert stop["artifacts"][0]["path"] == "attempts/stop-2/artifacts/stop/clip1-timeline.png"
    (old,) = merged["superseded"]
    assert (old["attempt"], old["verdict"], old["superseded_by"]) == (1, "fail", 2)
    assert old["ran_utc"] == merged["start_utc"]
    # every clip of both attempts is evidence, intact; the earlier files were not touched
    items = evidence_items(merged, run.parent)
    assert sorted(i.scenario for i in items) == ["preroll-full-buffer", "stop", "stop (attempt 1, superseded)"]
    assert all(i.status == "intact" for i in items)
    assert {p: Path(p).read_bytes() for p in before} == before
    # a third attempt supersedes the second, keeping both earlier ones
    merged = merge_rerun(run, attempt_run(run.parent, 3, stop_lag=2.5), "stop")
    assert [s["attempt"] for s in merged["superseded"]] == [1, 2] and attempts_of(merged, "stop") == 3
    (stop,) = [t for t in merged["tests"] if t["scenario"] == "stop"]
    assert stop["verdict"] == "fail" and stop["rerun"]["replaces"] == {"attempt": 2, "verdict": "pass"}


def test_the_report_shows_every_attempt_and_which_counts(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", two_scenarios(second_verdict="fail"))
    merge_rerun(run, attempt_run(run.parent, 2), "stop", "cable fixed")
    files = build_report(run, pdf=False)
    html = files.html.read_text()
    assert 'data-attempt="1" data-counts="false"' in html and 'data-attempt="2" data-counts="true"' in html
    assert "reason given: cable fixed" in html and 'id="scenario-stop-attempt-1"' in html
    assert "stop (attempt 1, superseded)" in html  # its clip in the evidence list
    manifest = files.manifest.read_text()
    first = hashlib.sha256((run.parent / "evidence/stop/CAM_0001.mp4").read_bytes()).hexdigest()
    assert f"{first}  evidence/stop/CAM_0001.mp4" in manifest
    assert "attempts/stop-2/evidence/stop/CAM_0001.mp4" in manifest
    # the requirement the failure was about now passes on the counting attempt
    assert 'data-requirement="BWC-STOP-01" data-status="pass"' in html


def test_another_unit_or_no_such_scenario_is_refused(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", two_scenarios(second_verdict="fail"))
    text = run.read_text()
    other = attempt_run(run.parent, 2, camera={"vendor": "Acme", "model": "BWC-9", "serial": "SN-43"})
    with pytest.raises(RecordError, match=r"another unit: serial 'SN-43' \(the run: 'SN-42'\); not merged"):
        merge_rerun(run, other, "stop")
    with pytest.raises(RecordError, match="no scenario 'segments' to re-run"):
        merge_rerun(run, other, "segments")
    assert run.read_text() == text  # nothing was written
