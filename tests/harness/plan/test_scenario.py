"""Scenario files are resolved against the camera profile when they are loaded: a gesture the
profile does not have fails at once, naming the file and the step, before any power is switched on."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.config import ConfigError
from harness.core.paths import CAMERAS_DIR, CATALOGUE, SUITE_DIR
from harness.plan.profile import CameraProfile
from harness.plan.requirements import Catalogue
from harness.plan.scenario import Scenario
from tests.conftest import load_json, run_bwc


def _with_gesture(tmp_path: Path, gesture: str) -> Path:
    """The shipped stop scenario with its stop gesture (step 5) renamed."""
    text = (SUITE_DIR / "stop.yaml").read_text()
    assert "  - gesture: stop\n" in text
    path = tmp_path / "scenarios" / "typo.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text.replace("  - gesture: stop\n", f"  - gesture: {gesture}\n"))
    return path


def test_every_shipped_scenario_resolves_against_the_emulated_profile() -> None:
    profile = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    catalogue = Catalogue.load(CATALOGUE)
    for path in sorted(SUITE_DIR.glob("*.yaml")):
        if path != CATALOGUE:
            Scenario.load(path, catalogue, profile)


def test_an_unknown_gesture_fails_at_load_naming_file_and_step(tmp_path: Path) -> None:
    profile = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    path = _with_gesture(tmp_path, "stpo")
    Scenario.load(path)  # without a profile the file itself is well formed
    with pytest.raises(ConfigError) as info:
        Scenario.load(path, profile=profile)
    assert str(info.value) == (
        f"{path}: steps#5.gesture: camera profile {profile.model} has no gesture 'stpo' "
        f"(its gestures: {', '.join(profile.gestures)})"
    )


def test_certify_refuses_an_unknown_gesture_before_the_rig_is_opened(tmp_path: Path) -> None:
    """`bwc certify` on a scenario with a mistyped gesture: a collection error naming the file and
    the step; the rig is never opened, so the camera is never powered or waited on."""
    path = _with_gesture(tmp_path, "stpo")
    out = tmp_path / "out"
    proc = run_bwc("certify", "--out", str(out), "--no-pdf", str(path), timeout=300)
    assert proc.returncode != 0
    record = load_json(out / "record.json")
    [test] = record["tests"]
    assert test["verdict"] == "error" and test["measurements"] == []
    assert f"{path}: steps#5.gesture: camera profile" in test["error"] and "'stpo'" in test["error"]
    assert not record.get("rig"), "the rig was opened"
