"""`bwc certify` on a camera model that marks neither its serial nor the start of its live
recording: the scenario passes, and the table, the record, the Allure results and the report all
say what could not be measured on it and why."""

from __future__ import annotations

import json

from harness.checks.identity import NOWHERE
from harness.checks.preroll import NO_JOIN
from tests.conftest import camera_variant, run_bwc


def test_certify_reports_what_the_model_cannot_give(tmp_path) -> None:
    camera = camera_variant(
        tmp_path,
        "anonymous",
        event_marker_key=None,
        clock={"metadata_key": None},
        audio={"in_buffer": True},  # the buffer keeps audio: its onset is no join
        file_name="{start:%Y%m%d_%H%M%S}_{event:04d}",  # names no camera
    )
    out = tmp_path / "out"
    proc = run_bwc(
        "certify", "--profile", str(camera), "--out", str(out), "--no-pdf", "scenarios/audio_policy.yaml", timeout=600
    )
    text = " ".join(proc.stdout.split())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(2 not measurable)" in text and "activation_latency_s[event 1]: not measurable on this model" in text
    record = json.loads((out / "record.json").read_text())
    (test,) = record["tests"]
    assert test["verdict"] == "pass"
    gaps = {m["name"]: m for m in test["measurements"] if m["outcome"] == "not measurable"}
    assert gaps["activation_latency_s[event 1]"]["not_measurable"] == NO_JOIN
    assert gaps["serial_match[event 1]"]["not_measurable"] == NOWHERE
    assert all(m["value"] is None for m in gaps.values())
    (result,) = [json.loads(p.read_text()) for p in (out / "allure-results").glob("*-result.json")]
    assert {"name": "tag", "value": "not measurable on this model"} in result["labels"]
    assert any(a["name"] == "not measurable on this model" for a in result["attachments"])
    html = (out / "report.html").read_text()
    assert 'id="not-measurable"' in html and NO_JOIN in html and NOWHERE in html
