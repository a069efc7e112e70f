"""`bwc certify --profile P` on each emulated real-model persona: the healthy camera passes the suite
from pixels, sound, file names and container time alone, with no harness metadata in its files, and
its footage reaches the harness as its real model's would (the profile's delivery): a generic camera's
USB volume mounted read-only, a docking camera's export from its evidence system."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest

from harness.core.paths import CAMERAS_DIR
from harness.emulator.usb_volume import usb_volume_problem
from harness.plan.profile import CameraProfile
from tests.conftest import run_bwc

PERSONAS = ("axon-body-4", "motorola-v300", "axis-w110", "generic-mass-storage")
HARNESS_KEYS = ("event_pts_s", "camera_start_utc", "power_log")  # what the built-in camera writes as JSON


@pytest.mark.parametrize("persona", PERSONAS)
def test_healthy_persona_passes_the_suite_without_harness_metadata(persona: str, tmp_path: Path) -> None:
    profile = CameraProfile.load(CAMERAS_DIR / f"{persona}.yaml")
    assert profile.event_marker_key is None and profile.clock.metadata_key is None
    out = tmp_path / "out"
    done = run_bwc(
        "certify",
        "--profile",
        persona,
        "--operator",
        "auto",
        "--no-pdf",
        "--keep-camera-storage",
        "--out",
        str(out),
        timeout=1800,
    )
    record = json.loads((out / "record.json").read_text())
    verdicts = {t["scenario"]: t["verdict"] for t in record["tests"]}
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert set(verdicts.values()) <= {"pass", "skip"}, verdicts
    assert sum(v == "pass" for v in verdicts.values()) >= 12, verdicts
    for test in record["tests"]:
        for m in test["measurements"]:
            assert m["outcome"] != "fail", m
            if m["outcome"] == "not measurable":
                assert m["not_measurable"], m  # always with the reason
    # an export holds what was not exported before, so the footage of a scenario that took none in (a
    # shift judged by the instrument) is in the next one's export: ignored there, with a finding
    findings = [f for t in record["tests"] for f in t.get("evidence_findings") or []]
    assert all("ignored as another scenario's footage" in f for f in findings), findings
    kinds = {c["origin"]["kind"] for t in record["tests"] for c in t["clips"]}
    clips = sorted((out / "camera-storage").rglob(f"*{profile.clip_suffix}"))
    assert clips, "the persona wrote no clips"
    for clip in clips[:3]:
        with av.open(str(clip)) as container:
            tags = " ".join(str(v) for v in container.metadata.values())
        assert not any(key in tags for key in HARNESS_KEYS), (clip.name, tags)
    if profile.delivery.via == "mass_storage" and (problem := usb_volume_problem()) is not None:
        assert kinds == {"folder"}  # the emulated rig fell back to the camera's folder, and said why
        pytest.skip(f"suite passed through the folder fallback; the USB volume was not possible: {problem}")
    assert kinds == {profile.delivery.via}, kinds
