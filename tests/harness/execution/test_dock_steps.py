"""Dock and undock steps on a rig: a fake uhubctl on PATH records the calls around them, a rig that
reaches the storage only through its dock hands the clips over docked, and the dock scenario of
the suite passes on a healthy camera."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from harness.core.paths import SUITE_DIR
from harness.core.timeline import DockSwitched
from harness.execution.runner import Take, run_scenario
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec, PromptDockSpec, RelayDockSpec, UhubctlDockSpec
from tests.fixtures.test_plugin import QUICK
from tests.harness.devices.test_dock import fake_uhubctl


def docks(take: Take) -> list[tuple[str, str | None]]:
    return [
        (a.name, a.detail.handover if isinstance(a.detail, DockSwitched) else None)
        for a in take.result.timeline.actions
        if a.kind == "dock"
    ]


def test_fake_uhubctl_records_the_calls_around_the_dock_steps(tmp_path: Path, monkeypatch) -> None:
    """Each dock action is one uhubctl call, in the order of the timeline: docked to see the clips
    already there, out of the dock for the scenario, the steps' dock and undock, docked for the clips."""
    calls = tmp_path / "calls.log"
    fake_uhubctl(tmp_path / "bin", calls)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    hub = UhubctlDockSpec(kind="uhubctl", location="1-1", ports=[4], repeat=2, settle_s=1.5)
    with open_rig(EmulatedRigSpec(kind="emulated", dock=hub), workdir=tmp_path) as rig:
        assert rig.instruments["dock"] == "smart hub 1-1 port 4 (uhubctl)"
        take = Take(rig, tmp_path / "evidence")
        with take.steps():
            take.do({"power": "on"})
            before = rig.clock.now()
            take.do({"dock": None})
            take.do({"wait": {"seconds": 5}})
            take.do({"undock": {"why": "back on duty"}})
            after = rig.clock.now()
            take.do({"power": "off"})
        take.check(["clip_count"], 0)
    on, off = "-l 1-1 -p 4 -a on", "-l 1-1 -p 4 -a off -r 2"
    assert calls.read_text().splitlines() == [on, off, on, off, on]
    assert docks(take) == [
        ("dock", "to see the clips already on the camera"),
        ("undock", "a scenario starts with the camera out of its dock"),
        ("dock", None),
        ("undock", None),
        ("dock", "for the clips"),
    ]
    stepped = [a for a in take.result.timeline.actions if a.kind == "dock"][2:4]
    assert before <= stepped[0].t < stepped[1].t <= after
    assert stepped[1].t - stepped[0].t == pytest.approx(1.5 + 5.0, abs=0.05)  # settle, then the wait
    assert all(isinstance(a.detail, DockSwitched) and a.detail.method == "uhubctl" for a in stepped)


def test_clips_are_taken_docked_when_the_storage_is_reached_through_the_dock(tmp_path: Path) -> None:
    """Two plain scenarios on a bench that sees the camera's storage only while it is docked: each
    starts out of the dock (so it buffers), is docked for its clips, and takes only its own clip."""
    scenario = Scenario.model_validate(yaml.safe_load(QUICK))
    spec = EmulatedRigSpec(kind="emulated", dock=RelayDockSpec(kind="relay"))
    with open_rig(spec, workdir=tmp_path) as rig:
        assert rig.clips_while_docked and not rig.emulator.clip_folder.exists()  # type: ignore[union-attr]
        first = run_scenario(scenario, rig, tmp_path / "one")
        second = run_scenario(scenario, rig, tmp_path / "two")
    for result in (first, second):
        assert result.failed == [] and len(result.evidence) == 1
    assert first.evidence[0].path.name != second.evidence[0].path.name
    names = [(a.name, a.detail.handover) for a in second.timeline.actions if isinstance(a.detail, DockSwitched)]
    assert names == [("undock", "a scenario starts with the camera out of its dock"), ("dock", "for the clips")]


def test_a_dock_step_on_a_rig_without_a_dock_says_what_to_add(tmp_path: Path) -> None:
    with open_rig(EmulatedRigSpec(kind="emulated", dock=None), workdir=tmp_path) as rig:
        take = Take(rig, tmp_path / "evidence")
        with pytest.raises(ValueError, match="rig emulated has no dock: give its rig file a 'dock:' section"):
            with take.steps(collect=False):
                take.do({"dock": None})


def test_the_dock_scenario_passes_on_a_healthy_camera(tmp_path: Path) -> None:
    """The clip after the undock reaches back to the undock (about 20 s), not the 120 s buffer."""
    scenario = Scenario.load(SUITE_DIR / "dock_buffer.yaml")
    with open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path) as rig:
        result = run_scenario(scenario, rig, tmp_path / "evidence")
        truth = rig.emulator.camera.dock.changes  # type: ignore[union-attr]
    assert result.failed == []
    (m,) = [m for m in result.measurements if m.name == "undocked_preroll_s[event 1]"]
    undock = next(a for a in result.timeline.actions if a.kind == "dock" and a.name == "undock")
    assert undock.t == pytest.approx(truth[1][0], abs=1e-5)  # the relay's edge, stamped by the controller
    assert m.outcome == "pass" and 20.0 < m.value <= m.high and m.high < 21.0  # type: ignore[operator]


def test_docking_by_hand_on_the_emulated_rig(tmp_path: Path) -> None:
    """dock: {kind: prompt}: the automatic operator is asked, docks the emulated camera and says so;
    the storage is seen only while docked, and the dock scenario passes."""
    scenario = Scenario.load(SUITE_DIR / "dock_buffer.yaml")
    spec = EmulatedRigSpec(kind="emulated", dock=PromptDockSpec(kind="prompt"))
    with open_rig(spec, workdir=tmp_path) as rig:
        assert rig.instruments["dock"] == "the operator, by hand when asked"
        result = run_scenario(scenario, rig, tmp_path / "evidence")
        truth = rig.emulator.camera.dock.changes  # type: ignore[union-attr]
    assert result.failed == []
    moves = [a for a in result.timeline.actions if a.kind == "dock"]
    assert [a.name for a in moves] == ["dock", "undock", "dock", "undock", "dock"]  # + docked for the clips
    assert [on for _, on in truth] == [True, False, True, False, True]
    assert all(a.t == pytest.approx(t, abs=1e-6) for a, (t, _) in zip(moves, truth))
    assert all(isinstance(a.detail, DockSwitched) and "confirmed by auto (auto)" in a.detail.command for a in moves)
