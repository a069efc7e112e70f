"""`bwc requirements` and `bwc report`, run as a user runs them."""

from __future__ import annotations

import json

from synthetic_runs import two_scenarios

from tests.conftest import run_bwc

SCENARIO = """\
id: {id}
title: t
requirements: [{reqs}]
steps:
  - power: "on"
expect:
  clips: 0
  checks: [clip_count]
"""


def test_requirements_prints_coverage_of_the_built_in_suite() -> None:
    proc = run_bwc("requirements")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BWC-PRE-01" in proc.stdout and "preroll-full-buffer" in proc.stdout
    assert "requirements covered" in proc.stdout
    data = json.loads(run_bwc("requirements", "--json").stdout)
    rows = {r["id"]: r for r in data["requirements"]}
    assert "preroll-full-buffer" in rows["BWC-PRE-01"]["scenarios"]
    assert data["unknown"] == {} and data["errors"] == {}
    assert set(data["uncovered"]) == {r for r, row in rows.items() if not row["scenarios"]}


def test_requirements_reads_an_agency_catalogue_and_a_bad_one_is_one_line(tmp_path) -> None:
    import yaml

    from harness.core.paths import CATALOGUE

    data = yaml.safe_load(CATALOGUE.read_text())
    data["requirements"] = [r for r in data["requirements"] if r["id"] != "BWC-EVD-01"]
    agency = tmp_path / "agency.yaml"
    agency.write_text(yaml.safe_dump(data, sort_keys=False))
    rows = {
        r["id"]
        for r in json.loads(run_bwc("requirements", "--json", "--requirements", str(agency)).stdout)["requirements"]
    }
    assert "BWC-PRE-01" in rows and "BWC-EVD-01" not in rows
    bad = tmp_path / "bad.yaml"
    bad.write_text("requirements: [\n")
    proc = run_bwc("requirements", "--requirements", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(bad) in " ".join(proc.stdout.split())


def test_requirements_fails_on_an_unknown_id_and_names_it(tmp_path) -> None:
    (tmp_path / "good.yaml").write_text(SCENARIO.format(id="good", reqs="BWC-PRE-01"))
    (tmp_path / "typo.yaml").write_text(SCENARIO.format(id="typo", reqs="BWC-PRE-01, BWC-PER-02"))
    proc = run_bwc("requirements", "--scenarios", str(tmp_path))
    assert proc.returncode == 1
    assert "typo: unknown requirement id(s) ['BWC-PER-02']" in " ".join(proc.stdout.split())
    assert "not covered" in proc.stdout  # everything but BWC-PRE-01


def test_requirements_fails_on_an_unreadable_scenario(tmp_path) -> None:
    (tmp_path / "broken.yaml").write_text("id: [\n")
    proc = run_bwc("requirements", "--scenarios", str(tmp_path))
    assert proc.returncode == 1 and "broken.yaml: cannot be read" in proc.stdout


def test_report_with_compare_prints_what_changed_and_writes_the_files(run_factory, tmp_path) -> None:
    old = run_factory("phase1", tests=two_scenarios(), phase="Phase 1")
    new = run_factory("phase2", tests=two_scenarios(join_missing=4), phase="Phase 2")
    out = tmp_path / "report-out"
    proc = run_bwc("report", "--record", str(new), "--compare", str(old), "--out", str(out), "--no-pdf")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = " ".join(proc.stdout.split())
    assert f"certification report: {out / 'report.html'}" in text and "summary verdict FAIL" in text
    assert "changes since Phase 1" in text and "NEW FAILURE" in text and "join_missing_frames" in text
    assert "requirement BWC-CONT-01: pass -> fail" in text
    # the report goes to --out; the manifest of the run's files stays with the run
    assert (out / "report.html").exists() and (out / "report.sha256").exists()
    assert (new.parent / "manifest.sha256").exists() and not (out / "manifest.sha256").exists()
    assert not (out / "report.pdf").exists()


def test_report_on_a_bad_record_is_a_clear_error(tmp_path) -> None:
    proc = run_bwc("report", "--record", str(tmp_path / "nope.json"))
    assert proc.returncode == 2 and "cannot read run record" in proc.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"tests": [{"scenario": "x", "verdict": "pass", "measurements": [{"name": "m"}]}]}))
    proc = run_bwc("report", "--record", str(bad))
    assert proc.returncode == 2 and "tests#1.measurements#1: missing" in " ".join(proc.stdout.split())


def test_report_refuses_a_record_schema_it_cannot_read_in_one_line(tmp_path) -> None:
    """A record of another major schema version, or a garbled version, is named and refused (exit 2)."""
    from synthetic_runs import write_run

    path = write_run(tmp_path / "run", two_scenarios())
    record = json.loads(path.read_text())
    for version, says in (
        ("2.0", "written by a newer harness"),
        ("0.9", "written by an older harness"),
        ("one", "is not MAJOR.MINOR"),
        (1, "is not MAJOR.MINOR"),
    ):
        path.write_text(json.dumps({**record, "schema_version": version}))
        proc = run_bwc("report", "--record", str(path), "--no-pdf")
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        assert proc.returncode == 2 and len(lines) == 1, proc.stdout + proc.stderr
        assert says in " ".join(proc.stdout.split()) and str(path) in " ".join(proc.stdout.split())
        assert "Traceback" not in proc.stdout + proc.stderr
    path.write_text(json.dumps({**record, "schema_version": "1.7"}))  # a newer minor only adds fields
    assert run_bwc("report", "--record", str(path), "--no-pdf").returncode == 0
