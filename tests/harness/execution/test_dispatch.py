"""The step dispatcher: every step kind has exactly one handler, and the power session is the one
place that switches the power, with or without the battery simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.timeline import PowerOn
from harness.execution.dispatch import StepDispatcher
from harness.execution.runner import Take
from harness.plan.scenario import STEP_KINDS, Step
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec


@pytest.fixture
def rig(tmp_path: Path):
    with open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path) as opened:
        yield opened


def test_every_step_kind_has_one_handler(rig, tmp_path: Path) -> None:
    take = Take(rig, tmp_path / "evidence")
    with take.steps(collect=False):
        dispatcher = take._dispatcher
        assert isinstance(dispatcher, StepDispatcher)
        assert sorted(dispatcher.handlers) == sorted(STEP_KINDS)
        power = dispatcher.power
        assert dispatcher.handlers["power"] == power.power and dispatcher.handlers["battery"] == power.battery
    assert {
        Step.model_validate(s).kind
        for s in (
            {"power": "on"},
            {"wait": {"seconds": 1}},
            {"gesture": "start"},
            {"battery": {"soc": 50}},
            {"measure": {"state": "off", "seconds": 1}},
            {"prompt": {"text": "dock the camera"}},
        )
    } == set(STEP_KINDS)


@pytest.mark.parametrize("battery", [False, True])
def test_power_on_and_off_go_through_the_power_session(rig, tmp_path: Path, battery: bool) -> None:
    """The same step, on the plain supply and on the battery simulator, is one handler's work."""
    take = Take(rig, tmp_path / "evidence")
    with take.steps(collect=False):
        if battery:
            take.do({"battery": {"soc": 80}})
        take.do({"power": "on"})
        take.do({"wait": {"seconds": 2, "since": "power_on"}})
        assert rig.power.measure_current() > 0  # the camera draws current: the output is really on
        take.do({"power": "off"})
    on = [a for a in take.result.timeline.actions if a.kind == "power" and a.name == "on"]
    off = [a for a in take.result.timeline.actions if a.kind == "power" and a.name == "off"]
    assert len(on) == 1 and len(off) == 1 and off[0].t - on[0].t == pytest.approx(2.0, abs=0.1)
    if battery:
        assert isinstance(on[0].detail, PowerOn) and on[0].detail.battery
        assert on[0].detail.soc == pytest.approx(80, abs=1)
    else:
        assert on[0].detail == PowerOn(voltage=rig.power_spec.voltage)


def test_a_step_outside_the_steps_phase_is_refused(rig, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"inside 'with take\.steps"):
        Take(rig, tmp_path / "evidence").do({"power": "on"})


def test_a_prompt_is_answered_by_the_rigs_operator_and_recorded(rig, tmp_path: Path) -> None:
    """On an emulated rig the automatic operator answers; the answer is an operator action."""
    from harness.devices.operator import PromptUnanswered, answered

    take = Take(rig, tmp_path / "evidence")
    with take.steps(collect=False):
        with pytest.raises(PromptUnanswered, match="declined by auto"):  # the camera is off: no READY
            take.do({"prompt": {"text": "Confirm READY", "key": "camera_ready"}})
        take.do({"power": "on"})
        take.do({"wait": {"seconds": 15, "since": "power_on"}})
        take.do({"prompt": {"text": "Confirm READY", "key": "camera_ready"}})
        take.do({"prompt": {"text": "Serial?", "expect": "value", "key": "camera_serial"}})
    asked = [a for a in take.result.timeline.actions if a.kind == "operator"]
    assert [a.details()["outcome"] for a in asked] == ["declined", "confirmed", "value"]
    assert all(a.details()["by"] == "auto" for a in asked)
    assert answered(take.result.timeline, "camera_serial") == rig.profile.serial
