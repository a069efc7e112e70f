"""`bwc certify --requirements FILE`: an agency's own catalogue decides the verdict, and the record
and the report name it. The 120 s emulated camera against an agency that asks for a 60 s buffer."""

from __future__ import annotations

import hashlib
import json
import re

from harness.core.paths import CATALOGUE
from tests.conftest import run_bwc


def test_an_agency_catalogue_with_a_60_s_buffer_fails_the_120_s_camera(tmp_path) -> None:
    agency = tmp_path / "my-agency.yaml"
    agency.write_text(
        CATALOGUE.read_text().replace("      # buffer: {value: 120, unit: s}", "      buffer: {value: 60, unit: s}", 1)
    )
    out = tmp_path / "out"
    proc = run_bwc(
        "certify",
        "--requirements",
        str(agency),
        "scenarios/preroll_full_buffer.yaml",
        "--out",
        str(out),
        "--no-pdf",
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["catalogue"] == {
        "path": str(agency),
        "sha256": hashlib.sha256(agency.read_bytes()).hexdigest(),
        "decision_rule": "simple",
    }
    (test,) = record["tests"]
    (pre,) = [m for m in test["measurements"] if m["name"] == "preroll_s[event 1]"]
    assert pre["requirement"] == "BWC-PRE-01" and pre["outcome"] == "fail"
    assert pre["dimensions"] == {"event": 1} and pre["quantity"] == "preroll_s"
    assert abs(pre["value"] - 120.0) < 0.05 and abs(pre["low"] - (60 - 1 / 30)) < 1e-9
    html = (out / "report.html").read_text()
    assert str(agency) in html and record["catalogue"]["sha256"] in html
    assert "buffer 60 s" in html  # the agency's figure, beside the criterion
    row = re.search(r'data-name="preroll_s\[event 1\]".*?</li>', html, re.S)
    assert row is not None and "[59.9667, 60.0333]" in row.group(0)
    assert "requirement(s) not met: BWC-PRE-01" in html


def test_a_bad_agency_catalogue_is_one_clear_line(tmp_path) -> None:
    agency = tmp_path / "my-agency.yaml"
    agency.write_text(
        CATALOGUE.read_text().replace("lead: {low: 5, high: 30, unit: min}", "lead: {low: 30, high: 5, unit: min}", 1)
    )
    proc = run_bwc(
        "certify", "--requirements", str(agency), "scenarios/preroll_full_buffer.yaml", "--out", str(tmp_path / "out")
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert str(agency) in proc.stdout and "limits.lead" in proc.stdout and "low 30 is above high 5" in proc.stdout
