"""Allure as its users expect it: labels, links, parameters, pictures, environment and categories."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_page import parse_report

from harness.core.paths import CATALOGUE
from harness.plan.requirements import Catalogue
from harness.report.allure_files import categories, environment_properties

FAILURE = "bwc_fixtures.certification.ScenarioFailed: 1 measurement(s) out of limits: join_missing_frames[event 1] (BWC-CONT-01)"


def _matching(message: str, status: str = "failed") -> list[str]:
    return [
        c["name"]
        for c in categories(Catalogue.load(CATALOGUE))
        if status in c["matchedStatuses"] and re.fullmatch(c.get("messageRegex", ".*"), message)
    ]


def test_categories_sort_failures_by_requirement_group() -> None:
    assert _matching(FAILURE) == ["Continuity: out of limits"]
    two = "2 measurement(s) out of limits: preroll_s[event 1] (BWC-PRE-01), stop_lag_s[event 1] (BWC-STOP-01)"
    assert _matching(two) == ["Pre-event buffer: out of limits", "Stop: out of limits"]
    assert _matching("ConnectionError: rig controller did not answer", "broken") == ["Rig or instrument fault"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: Allure 3's regex dialect not checked")
def test_category_patterns_mean_the_same_in_javascript() -> None:
    """Allure 3 matches categories with JavaScript RegExp: every pattern must compile and agree."""
    script = (
        "const cats = JSON.parse(process.argv[1]); const msg = process.argv[2];"
        "console.log(JSON.stringify(cats.filter(c => c.matchedStatuses.includes('failed') &&"
        " new RegExp(c.messageRegex, 's').test(msg)).map(c => c.name)))"
    )
    cats = json.dumps(categories(Catalogue.load(CATALOGUE)))
    proc = subprocess.run(["node", "-e", script, cats, FAILURE], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["Continuity: out of limits"]


def test_environment_properties_escape_what_java_properties_would_misread() -> None:
    text = environment_properties(
        {
            "phase": "Phase 1: Border Patrol",
            "camera": {"model": "Körper=Cam"},
            "instruments": {"power": "TCPIP::10.0.0.1::5025::SOCKET"},
        }
    )
    assert "phase=Phase 1\\: Border Patrol\n" in text
    assert "camera.model=K\\u00f6rper\\=Cam\n" in text
    assert "instrument.power=TCPIP\\:\\:10.0.0.1\\:\\:5025\\:\\:SOCKET\n" in text
    text.encode("ascii")


def _results(out: Path) -> list[dict]:
    """The results of the scenarios that ran (one not applicable to the camera is skipped)."""
    results = [json.loads(p.read_text()) for p in (out / "allure-results").glob("*-result.json")]
    return [r for r in results if r["status"] != "skipped"]


def test_certify_labels_links_and_parameters(healthy_run) -> None:
    _, out = healthy_run
    catalogue = Catalogue.load(CATALOGUE)
    record = json.loads((out / "record.json").read_text())
    report_ids = parse_report((out / "report.html").read_text()).ids
    by_title = {t["title"]: t for t in record["tests"]}
    results = _results(out)
    assert len(results) == len([t for t in record["tests"] if t["verdict"] != "skip"])
    for result in results:
        test = by_title[result["name"]]
        labels = [(lab["name"], lab["value"]) for lab in result["labels"]]
        assert ("epic", "Phase 1") in labels
        stories = [v for n, v in labels if n == "story"]
        features = [v for n, v in labels if n == "feature"]
        assert stories == test["requirements"]
        assert features == list(dict.fromkeys(catalogue.by_id[r].group for r in stories))
        links = [link for link in result["links"] if link["type"] == "requirement"]
        assert [link["url"].rsplit("#", 1)[1] for link in links] == stories
        assert all(link["url"].startswith((out / "report.html").as_uri()) for link in links)
        assert set(stories) <= report_ids  # each link lands on the requirement's row
        params = {p["name"]: p["value"] for p in result["parameters"]}
        assert "Emulated BWC-1" in params["camera"] and "1.0.0" in params["firmware"]


def _roles(name: str) -> list[str]:
    """'clip 2 frame at the press (event 1) / last frame before the join (event 1) (frame 600, ...)'
    -> ['frame at the press (event 1)', 'last frame before the join (event 1)']."""
    match = re.fullmatch(r"clip \d+ (.*) \(frame \d+, .*\)", name)
    return match.group(1).split(" / ") if match else []


def test_certify_attaches_pictures_and_the_measurement_table_but_no_clips(healthy_run) -> None:
    _, out = healthy_run
    results_dir = out / "allure-results"
    record = json.loads((out / "record.json").read_text())
    by_title = {t["title"]: t for t in record["tests"]}
    for result in _results(out):
        test = by_title[result["name"]]
        attachments = {a["name"]: a for a in result["attachments"]}
        rows = list(csv.DictReader(io.StringIO((results_dir / attachments["measurements"]["source"]).read_text())))
        assert [r["measurement"] for r in rows] == [m["name"] for m in test["measurements"]]
        pngs = [a for a in result["attachments"] if a["type"] == "image/png"]
        clips = len(test["clips"])
        roles = [role for a in pngs for role in _roles(a["name"])]
        if not clips:  # judged by the instrument alone (expect.collect: false): nothing to picture
            assert pngs == []
            continue
        assert sum("timeline" in a["name"] for a in pngs) == clips
        assert roles.count("first frame") == roles.count("last frame") == clips
        assert any(r.startswith("frame at the press") for r in roles)
        assert any(r.startswith("first frame after the join") for r in roles)
        assert any(r.startswith("last frame before the join") for r in roles)
        for a in pngs:
            assert (results_dir / a["source"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        evidence = (
            results_dir / attachments[next(n for n in attachments if n.startswith("evidence"))]["source"]
        ).read_text()
        assert all(c["sha256"] in evidence for c in test["clips"])
    assert not [p for p in results_dir.iterdir() if p.suffix in (".mp4", ".mov", ".mkv")]


def test_certify_writes_environment_and_categories_for_allure_2_and_3(healthy_run) -> None:
    _, out = healthy_run
    env = (out / "allure-results" / "environment.properties").read_text()
    assert "camera.serial=EMU-0001\n" in env and "phase=Phase 1\n" in env and "instrument.power=" in env
    cats = json.loads((out / "allure-results" / "categories.json").read_text())
    assert cats == categories(Catalogue.load(CATALOGUE))
    config = json.loads((out / "allurerc.json").read_text())
    assert config["categories"] == cats and "Emulated BWC-1" in config["name"]
