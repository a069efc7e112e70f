"""The certification report page: its matrix, identities and evidence agree with record.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from report_page import expected_status, parse_report
from synthetic_runs import two_scenarios

from harness.core.paths import CATALOGUE
from harness.plan.requirements import Catalogue
from harness.report.html import build_report
from tests.conftest import run_bwc


def check_matrix_against_record(html_path: Path, record: dict) -> None:
    """Every catalogued requirement has a row whose status and measured values are those of the record."""
    page = parse_report(html_path.read_text())
    catalogue = Catalogue.load(CATALOGUE)
    assert catalogue.ids <= set(page.rows)
    for rid, row in page.rows.items():
        assert row.status == expected_status(record, rid), rid
        expected = [
            {"scenario": t["scenario"], **{k: m[k] for k in ("name", "unit", "value", "low", "high", "outcome")}}
            for t in record["tests"]
            for m in t["measurements"]
            if m["requirement"] == rid
        ]
        assert row.measurements == expected, rid
    clips = [c["sha256"] for t in record["tests"] for c in t["clips"]]
    assert [e["sha256"] for e in page.evidence] == clips
    assert page.scenarios == {t["scenario"]: t["verdict"] for t in record["tests"]}


def check_self_contained(html: str, folder: Path | None = None) -> None:
    """Nothing loaded from anywhere; links go to anchors of the page or (full key frames) to
    evidence files inside the run folder."""
    page = parse_report(html)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert all(src.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")) for src in page.srcs)

    def good(href: str) -> bool:
        if href.startswith("#"):
            return href[1:] in page.ids
        return (
            folder is not None
            and ":" not in href
            and not href.startswith(("/", ".."))
            and "/../" not in href
            and (folder / href).is_file()
        )

    assert all(good(h) for h in page.hrefs), [h for h in page.hrefs if not good(h)]
    assert "url(" not in html and "@import" not in html


def test_matrix_identity_and_evidence_match_the_record(run_factory, tmp_path) -> None:
    record_path = run_factory(tests=two_scenarios(join_missing=2, second_verdict="error"))
    files = build_report(record_path, tmp_path / "report", pdf=False)
    record = json.loads(record_path.read_text())
    check_matrix_against_record(files.html, record)
    page = parse_report(files.html.read_text())
    assert page.rows["BWC-CONT-01"].status == "fail" and page.rows["BWC-STOP-01"].status == "inconclusive"
    assert page.verdict == "fail"
    for key in ("vendor", "model", "serial", "firmware"):
        assert page.device[key] == record["camera"][key], key
    assert page.device["power"].startswith("KEITHLEY") and page.device["rig"] == "lab-bench-1 (bench)"
    assert page.manifest_sha256 == hashlib.sha256(files.manifest.read_bytes()).hexdigest() == files.manifest_sha256
    assert all(e["status"] == "intact" for e in page.evidence)
    assert "Sign-off" in page.text and "Programme office (certifying authority)" in page.text
    check_self_contained(files.html.read_text())


def test_altered_evidence_turns_the_verdict_to_fail(run_factory, tmp_path) -> None:
    record_path = run_factory(tests=[two_scenarios()[0]])
    clip = next((record_path.parent / "evidence").rglob("*.mp4"))
    clip.write_bytes(b"edited")
    files = build_report(record_path, tmp_path / "report", pdf=False)
    page = parse_report(files.html.read_text())
    assert [e["status"] for e in page.evidence] == ["changed"]
    assert page.verdict == "fail" and "is changed" in page.text


def test_compare_section_lists_new_failures_and_fixes(run_factory, tmp_path) -> None:
    old = run_factory("phase1", tests=two_scenarios(join_missing=2), phase="Phase 1", firmware="2.0.0")
    new = run_factory("phase2", tests=two_scenarios(preroll=119.9), phase="Phase 2")
    files = build_report(new, tmp_path / "report", compare_with=old, pdf=False)
    page = parse_report(files.html.read_text())
    assert page.changes["new-failure"] == ["preroll_s[event 1]"]
    assert page.changes["fixed"] == ["join_missing_frames[event 1]"]
    assert "Changes since Phase 1 (BWC-9 fw 2.0.0" in page.text


def test_certify_writes_a_report_whose_matrix_matches_record_json(healthy_run) -> None:
    """The built-in suite on the emulated camera: report written, matrix = record, pictures embedded."""
    proc, out = healthy_run
    assert f"certification report: {out / 'report.html'}" in " ".join(proc.stdout.split())
    record = json.loads((out / "record.json").read_text())
    html = (out / "report.html").read_text()
    check_matrix_against_record(out / "report.html", record)
    check_self_contained(html, out)
    page = parse_report(html)
    pictures = sum(len(t["artifacts"]) for t in record["tests"])
    assert pictures >= 3 * len(record["tests"]) and len(page.srcs) == pictures
    assert page.device["serial"] == record["camera"]["serial"] and "emulated" in page.ids
    # small but self-contained: thumbnails in the page, full frames linked (was 24 MB with full PNGs)
    assert (out / "report.html").stat().st_size <= 8_000_000  # 16 scenarios' pictures and budgets, self-contained
    assert not (out / "camera-storage").exists()  # dropped once the evidence was verified
    assert run_bwc("verify-evidence", str(out)).returncode == 0
    catalogue = Catalogue.load(CATALOGUE)
    must = [rid for rid in page.rows if rid not in catalogue.by_id or catalogue.by_id[rid].level == "must"]
    statuses = {expected_status(record, rid) for rid in must}
    complete = record["status"] == "complete" and all(t["verdict"] in ("pass", "fail") for t in record["tests"])
    expected = "fail" if "fail" in statuses else "pass" if statuses == {"pass"} and complete else "incomplete"
    assert page.verdict == expected


def test_certify_writes_the_pdf_when_weasyprint_can_run(healthy_run) -> None:
    _, out = healthy_run
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        pytest.skip(f"WeasyPrint cannot run here ({exc}); the HTML report is the deliverable")
    pdf = out / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000


def test_key_frames_are_thumbnails_linked_to_the_full_frames(run_factory) -> None:  # type: ignore[no-untyped-def]
    import cv2
    import numpy as np

    record_path = run_factory()
    folder = record_path.parent
    frame = folder / "artifacts" / "stop" / "clip1-frame000010.png"
    frame.parent.mkdir(parents=True)
    noise = np.random.default_rng(1).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    frame.write_bytes(cv2.imencode(".png", noise)[1].tobytes())
    record = json.loads(record_path.read_text())
    record["tests"][1]["artifacts"] = [
        {
            "kind": "keyframe",
            "title": "clip 1 first frame",
            "path": "artifacts/stop/clip1-frame000010.png",
            "clip": "CAM_0001.mp4",
            "sha256": hashlib.sha256(frame.read_bytes()).hexdigest(),
        }
    ]
    record_path.write_text(json.dumps(record))
    files = build_report(record_path, pdf=False)
    html = files.html.read_text()
    check_self_contained(html, folder)
    page = parse_report(html)
    assert [src[:23] for src in page.srcs] == ["data:image/jpeg;base64,"]
    assert "artifacts/stop/clip1-frame000010.png" in page.hrefs
    assert len(html) < frame.stat().st_size / 4  # the full frame is not in the page
