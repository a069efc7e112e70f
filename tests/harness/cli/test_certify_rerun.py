"""``bwc certify --rerun SCENARIO --into RUN_DIR``: a failed scenario run again healthy on the same
unit is merged into the run (the failure kept, visible and no longer counting, its evidence
untouched); another unit is refused with one line before anything runs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from tests.conftest import run_bwc

SHORT_STOP = {
    "id": "short-stop",
    "title": "A short event ended by the stop gesture",
    "requirements": ["BWC-STOP-01", "BWC-EVT-01"],
    "steps": [
        {"power": "on"},
        {"wait": {"seconds": 12, "since": "power_on"}},
        {"gesture": "start"},
        {"wait": {"seconds": 5}},
        {"gesture": "stop"},
        {"wait": {"seconds": 8}},
        {"power": "off"},
    ],
    "expect": {"clips": 1, "checks": ["clip_count", "stop"]},
}


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (relative path -> hash)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_healthy_rerun_of_a_failed_scenario_is_merged(tmp_path: Path) -> None:
    scenario = tmp_path / "scenarios" / "short_stop.yaml"
    scenario.parent.mkdir()
    scenario.write_text(yaml.safe_dump(SHORT_STOP, sort_keys=False))
    out = tmp_path / "run"
    first = run_bwc("certify", "--out", str(out), "--no-pdf", "--fault", "late-stop", str(scenario), timeout=300)
    assert first.returncode == 1, first.stdout + first.stderr
    evidence_before = digest(out / "evidence")
    artifacts_before = digest(out / "artifacts")
    allure_before = {p.name for p in (out / "allure-results").iterdir()}
    assert evidence_before
    proc = run_bwc(
        "certify", "--rerun", "short-stop", "--into", str(out), "--reason", "fault cleared", "--no-pdf", str(scenario),
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "short-stop: attempt 2 PASS counts; kept as superseded: attempt 1 FAIL" in " ".join(proc.stdout.split())
    record = json.loads((out / "record.json").read_text())
    (test,) = record["tests"]
    assert (test["verdict"], test["attempt"], test["rerun"]["replaces"]) == (
        "pass",
        2,
        {"attempt": 1, "verdict": "fail"},
    )
    assert test["rerun"]["faults"] == [] and record["faults"] == ["late-stop"]
    (old,) = record["superseded"]
    assert old["verdict"] == "fail" and any(m["outcome"] == "fail" for m in old["measurements"])
    # the first attempt's files are all still there, byte for byte; the new ones have their own folder
    assert digest(out / "evidence") == evidence_before and digest(out / "artifacts") == artifacts_before
    assert all(c["path"].startswith("attempts/short-stop-2/evidence/") for c in test["clips"])
    assert allure_before < {p.name for p in (out / "allure-results").iterdir()}
    manifest = (out / "manifest.sha256").read_text()
    for name, sha in evidence_before.items():
        assert f"{sha}  evidence/{name}" in manifest
    assert f"{test['clips'][0]['sha256']}  {test['clips'][0]['path']}" in manifest
    html = (out / "report.html").read_text()
    assert 'id="rerun-list"' in html and 'data-attempt="1" data-counts="false"' in html
    assert "reason given: fault cleared" in html and "out of limits: stop_lag_s[event 1]" in html


def test_another_unit_is_refused_before_anything_runs(tmp_path: Path) -> None:
    scenario = tmp_path / "scenarios" / "short_stop.yaml"
    scenario.parent.mkdir()
    scenario.write_text(yaml.safe_dump(SHORT_STOP, sort_keys=False))
    out = tmp_path / "run"
    out.mkdir()
    record = {
        "schema_version": "1.0",
        "phase": "Phase 1",
        "status": "complete",
        "start_utc": "2026-01-01T00:00:00+00:00",
        "rig": {"name": "emulated", "kind": "emulated"},
        "camera": {"vendor": "BWC Harness", "model": "Emulated BWC-1", "serial": "EMU-0999", "firmware": "1.0.0"},
        "tests": [{"scenario": "short-stop", "verdict": "fail", "measurements": [], "clips": []}],
    }
    (out / "record.json").write_text(json.dumps(record))
    before = digest(out)
    for extra, expected in (
        ([], "serial 'EMU-0001' (the run: 'EMU-0999')"),
        (["--profile", "axon-body-4"], "vendor 'Axon' (the run: 'BWC Harness')"),
    ):
        proc = run_bwc("certify", "--rerun", "short-stop", "--into", str(out), *extra, str(scenario), timeout=120)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        (line,) = proc.stdout.strip().splitlines()
        assert "not the unit that run certified" in line and expected in line, line
    proc = run_bwc("certify", "--rerun", "segments", "--into", str(out), str(scenario), timeout=120)
    assert proc.returncode == 2 and "the run has no scenario 'segments' (its scenarios: short-stop)" in proc.stdout
    assert digest(out) == before and not (out / "attempts").exists()
