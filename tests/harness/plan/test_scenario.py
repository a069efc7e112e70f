"""Scenario files are resolved against the camera profile when they are loaded: a gesture the
profile does not have fails at once, naming the file and the step, before any power is switched on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.core.config import ConfigError
from harness.core.paths import CAMERAS_DIR, CATALOGUE, SUITE_DIR
from harness.plan.profile import CameraProfile
from harness.plan.requirements import Catalogue
from harness.plan.scenario import PromptStep, Scenario
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
        f"{path}: steps#6.gesture: camera profile {profile.model} has no gesture 'stpo' "
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
    assert f"{path}: steps#6.gesture: camera profile" in test["error"] and "'stpo'" in test["error"]
    assert not record.get("rig"), "the rig was opened"


def test_dock_steps_out_of_order_fail_at_load_naming_each_step(tmp_path: Path) -> None:
    """An undock without a dock, a start in the dock and a second dock are refused in one line."""
    path = tmp_path / "dock.yaml"
    path.write_text(
        "id: d\ntitle: d\nrequirements: [BWC-PRE-03]\nsteps:\n"
        '  - power: "on"\n  - undock:\n  - dock:\n  - gesture: start\n  - dock: {}\n'
        "expect: {clips: 1, checks: [docked_buffer]}\n"
    )
    with pytest.raises(ConfigError) as info:
        Scenario.load(path)
    assert str(info.value) == (
        f"{path}: steps: Value error, steps#2.undock: the camera is not docked (no dock step before it); "
        "steps#4.gesture: start while the camera is docked (steps#3); a camera does not record in its dock, "
        "undock it first; steps#5.dock: the camera is already docked (steps#3)"
    )


def test_dock_steps_read_as_a_plan() -> None:
    scenario = Scenario.load(SUITE_DIR / "dock_buffer.yaml")
    kinds = [step.kind for step in scenario.steps]
    assert kinds.count("dock") == 2 and kinds.count("undock") == 1 and scenario.docks
    assert [s.describe() for s in scenario.steps if s.kind == "undock"] == ["undock (the camera goes back on duty)"]
    assert "docked_buffer" in scenario.expect.checks and "BWC-PRE-03" in scenario.requirements


def test_a_prompt_names_the_profiles_ready_sign_and_a_camera_without_one_gets_a_general_phrase() -> None:
    step = PromptStep(text="Confirm the {model} is ready: {ready_sign}.", key="camera_ready")
    axon = CameraProfile.load(CAMERAS_DIR / "axon-body-4.yaml")
    plain = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    assert step.text_for(axon) == (
        f"Confirm the {axon.model} is ready: the display shows READY and the Operation LED blinks green."
    )
    assert plain.ready_sign is None
    assert "its ready indication" in step.text_for(plain)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Confirm {colour}", "the text names {colour}; it may name only vendor, model, serial, ready_sign"),
        ("Confirm {model", "unbalanced braces"),
    ],
)
def test_a_prompt_naming_an_unknown_field_fails_at_load(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        PromptStep(text=text)


def test_every_shipped_scenario_confirms_the_camera_is_ready_after_each_power_on() -> None:
    for path in sorted(SUITE_DIR.glob("*.yaml")):
        if path == CATALOGUE:
            continue
        steps = Scenario.load(path).steps
        for number, step in enumerate(steps):
            if step.power == "on":
                after = steps[number + 1].prompt
                assert after is not None and after.key == "camera_ready", f"{path.name} step {number + 1}"
