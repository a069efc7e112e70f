"""Power steps on the emulated rig (real pty rig controller, real TCP SCPI supply): a camera with a
power button switched on and off by its gestures, and the buffering start measured from the
supply current against the emulator's ground truth, or stated as not measurable."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.paths import SUITE_DIR
from harness.core.timeline import BufferingStarted, GestureDone
from harness.devices.power import NotSupported
from harness.emulator.camera_parts import CameraState
from harness.execution.power_steps import BOOT_READ_S
from harness.execution.runner import Take, run_scenario
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec

BUTTON_CAMERA = Path(__file__).resolve().parents[2] / "data" / "button_camera.yaml"


def buffering_truth(rig) -> list[float]:
    """When the emulated camera really began buffering (its own log)."""
    return [t for t, what in rig.emulator.camera.log if what == "state buffering"]


def buffering_actions(take):
    return [a for a in take.result.timeline.actions if a.kind == "power" and a.name == "buffering"]


def variant(tmp_path: Path, old: str, new: str) -> str:
    """The button test camera with one line of its YAML changed, as a profile file path."""
    text = BUTTON_CAMERA.read_text()
    assert old in text
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(old, new))
    return str(path)


@pytest.fixture
def button_rig(tmp_path: Path):
    with open_rig(EmulatedRigSpec(kind="emulated"), camera=str(BUTTON_CAMERA), workdir=tmp_path) as rig:
        yield rig


def test_power_on_switches_the_supply_then_presses_the_power_button(button_rig, tmp_path: Path) -> None:
    rig = button_rig
    take = Take(rig, tmp_path / "evidence")
    with take.steps(collect=False):
        take.do({"power": "on"})
        assert rig.emulator.camera.state is CameraState.BOOTING
        take.do({"wait": {"seconds": 2, "since": "buffering"}})
        assert rig.emulator.camera.state is CameraState.BUFFERING
        waited_until = rig.clock.now()
        take.do({"power": "off"})
    actions = take.result.timeline.actions
    assert [(a.kind, a.name) for a in actions] == [
        ("power", "on"),
        ("gesture", "power_on"),
        ("power", "buffering"),
        ("gesture", "power_off"),
        ("power", "off"),
    ]
    _on, pressed, buffering, pressed_off, off = actions
    assert isinstance(pressed.detail, GestureDone) and pressed.detail.edges[0][:2] == ("power", "down")
    assert pressed.t - pressed.detail.edges[0][2] == pytest.approx(2.0)  # the hold reached its 2 s
    detail = buffering.detail
    assert isinstance(detail, BufferingStarted) and detail.power_on_t == pressed.t
    (truth,) = buffering_truth(rig)
    assert abs(buffering.t - truth) <= BOOT_READ_S / 2 + 1e-6
    assert detail.boot_s == pytest.approx(truth - pressed.t, abs=BOOT_READ_S / 2 + 1e-6)
    assert waited_until == pytest.approx(buffering.t + 2.0, abs=0.01)  # counted from the measured start
    # power off: the gesture, the camera's own graceful shutdown, then the supply
    (shutdown,) = rig.emulator.camera.power.shutdowns
    assert shutdown.kind == "graceful" and pressed_off.t == pytest.approx(shutdown.t) and shutdown.t <= off.t


def test_without_its_gesture_a_button_camera_stays_off_on_the_live_supply(button_rig) -> None:
    rig = button_rig
    rig.power.set_voltage(rig.power_spec.voltage)
    rig.power.output(True)
    rig.clock.sleep(20)
    assert rig.emulator.camera.state is CameraState.OFF
    assert rig.power.measure_current() < 0.01  # its off current
    rig.power.output(False)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_boot_of_a_supply_camera_measured_against_ground_truth(tmp_path: Path, seed: int) -> None:
    with open_rig(EmulatedRigSpec(kind="emulated", seed=seed), workdir=tmp_path) as rig:
        take = Take(rig, tmp_path / "evidence")
        with take.steps(collect=False):
            take.do({"power": "on"})
            take.do({"wait": {"seconds": 1, "since": "buffering"}})
            take.do({"power": "off"})
            take.do({"wait": {"seconds": 1.234 * seed}})  # another phase of the readings against the boot
            take.do({"power": "on"})
            take.do({"wait": {"seconds": 1, "since": "buffering"}})
            take.do({"power": "off"})
        truth = buffering_truth(rig)
    measured = buffering_actions(take)
    assert len(measured) == len(truth) == 2  # one per power-on
    for action, t in zip(measured, truth, strict=True):
        assert abs(action.t - t) <= BOOT_READ_S / 2 + 1e-6


def test_draws_too_close_to_tell_apart_make_the_start_not_measurable(tmp_path: Path) -> None:
    camera = variant(tmp_path, "booting: 0.45, buffering: 0.32", "booting: 0.33, buffering: 0.32")
    with open_rig(EmulatedRigSpec(kind="emulated"), camera=camera, workdir=tmp_path) as rig:
        take = Take(rig, tmp_path / "evidence")
        with take.steps(collect=False):
            take.do({"power": "on"})
            take.do({"wait": {"seconds": 2, "since": "buffering"}})
            waited_until = rig.clock.now()
            take.do({"power": "off"})
    (action,) = buffering_actions(take)
    pressed = take.result.timeline.gestures("power_on")[0]
    assert isinstance(action.detail, BufferingStarted) and action.detail.boot_s is None
    assert "cannot be told" in (action.detail.not_measurable or "")
    assert action.t == pytest.approx(pressed.t + rig.profile.boot_s)  # the fallback: power-on + boot time
    assert waited_until == pytest.approx(action.t + 2.0, abs=0.01)


def test_the_smallest_step_that_marks_buffering_is_the_profiles(tmp_path: Path) -> None:
    """A 29 % step is read with the default power.min_boot_step (10 %); a profile that asks for 40 %
    (a camera with a ripplier draw) gets the start as not measurable, the reason naming the field."""
    camera = variant(tmp_path, "power:\n", "power:\n  min_boot_step: 0.4\n")
    with open_rig(EmulatedRigSpec(kind="emulated"), camera=camera, workdir=tmp_path) as rig:
        assert rig.profile.power.min_boot_step == 0.4
        take = Take(rig, tmp_path / "evidence")
        with take.steps(collect=False):
            take.do({"power": "on"})
            take.do({"wait": {"seconds": 1, "since": "buffering"}})
            take.do({"power": "off"})
    (action,) = buffering_actions(take)
    assert isinstance(action.detail, BufferingStarted) and action.detail.boot_s is None
    assert "power.min_boot_step" in (action.detail.not_measurable or "")


def test_a_supply_that_cannot_read_current_makes_the_start_not_measurable(button_rig, tmp_path: Path) -> None:
    rig = button_rig

    def no_readback() -> float:  # an instrument family without current readback
        raise NotSupported(rig.power.name, "measure current", "this supply has no current readback")

    rig.power.measure_current = no_readback  # type: ignore[method-assign]
    take = Take(rig, tmp_path / "evidence")
    with take.steps(collect=False):
        take.do({"power": "on"})
        take.do({"wait": {"seconds": 1, "since": "buffering"}})
    (action,) = buffering_actions(take)
    assert isinstance(action.detail, BufferingStarted)
    assert "cannot read current" in (action.detail.not_measurable or "")


def test_early_activation_on_a_button_camera_passes_with_its_boot_measured(button_rig, tmp_path: Path) -> None:
    """The whole scenario on a camera switched on by its button: pre-roll from the measured
    buffering start, the boot time within the profile's range, the stop confirmed."""
    rig = button_rig
    result = run_scenario(Scenario.load(SUITE_DIR / "preroll_early_activation.yaml"), rig, tmp_path / "evidence")
    assert result.failed == [], [str(m) for m in result.failed]
    m = {x.name: x for x in result.measurements}
    truth = buffering_truth(rig)[0]  # (it buffers again after the stop)
    pressed = result.timeline.gestures("power_on")[0]
    assert m["boot_s[event 1]"].value == pytest.approx(truth - pressed.t, abs=BOOT_READ_S / 2 + 1e-6)
    assert m["boot_s[event 1]"].outcome == "pass"
    assert "buffering began" in m["preroll_s[event 1]"].note
    (event,) = rig.emulator.camera.events
    assert m["preroll_s[event 1]"].value == pytest.approx(event.activation_t - event.first_frame_t, abs=1 / 60)
