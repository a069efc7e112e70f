"""Power scenarios on the emulated rig: healthy runs against the emulator's ground truth, the step
vocabulary, and every instrument fault or interruption failing the run with the output left off."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

import pytest

from harness.core.config import ConfigError
from harness.core.paths import SUITE_DIR
from harness.core.timeline import CurrentReading, PowerCut
from harness.devices.power import InstrumentError
from harness.emulator.scpi import PLAIN_SUPPLY_GROUPS, ScpiServer, build_command_table
from harness.execution.runner import run_scenario
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec
from tests.conftest import bench_rig_file
from tests.fixtures.test_interrupt import _scpi, _signal_certify, _start_emulator

FRAME = 1 / 30


def run(name: str, tmp_path: Path, hook=None):
    """Run a suite scenario on a fresh emulated rig; returns (result, emulated rig)."""
    scenario = Scenario.load(SUITE_DIR / name)
    with open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path) as rig:
        kwargs = {"step_hook": hook} if hook else {}
        result = run_scenario(scenario, rig, tmp_path / "evidence", **kwargs)
        return result, rig.emulator


def by_name(result) -> dict:
    return {m.name: m for m in result.measurements}


def test_shift_runtime_matches_the_emulator_within_one_percent(tmp_path) -> None:
    result, emu = run("power_shift.yaml", tmp_path)
    assert result.failed == [], [str(m) for m in result.failed]
    on = next(a for a in result.timeline.actions if a.kind == "power" and a.name == "on")
    (shutdown,) = emu.camera.power.shutdowns
    truth_h = (shutdown.t - on.t) / 3600
    measured = by_name(result)["shift_runtime_h"].value
    assert shutdown.kind == "graceful" and abs(measured - truth_h) / truth_h < 0.01
    assert abs(measured - truth_h) * 3600 <= 5.0  # half the 10 s monitor interval


def test_cutoff_and_warning_match_the_emulator(tmp_path) -> None:
    result, emu = run("power_cutoff.yaml", tmp_path)
    assert result.failed == [], [str(m) for m in result.failed]
    power = emu.camera.power
    shutdown = power.shutdowns[-1]
    first_warning = power.warning_periods[0][0]
    m = by_name(result)
    assert m["warning_lead_min"].value == pytest.approx((shutdown.t - first_warning) / 60, abs=0.25 / 60 + 1e-3)
    last = emu.camera.events[-1]
    assert m["cutoff_last_frame_s[event 1]"].value == pytest.approx(last.last_frame_t + FRAME - shutdown.t, abs=0.3)
    assert m["cutoff_file_finalised"].value == 1 and m["warning_beeps_heard[event 1]"].value >= 1


def test_power_cut_matches_the_emulator(tmp_path) -> None:
    result, emu = run("power_cut.yaml", tmp_path)
    assert result.failed == [], [str(m) for m in result.failed]
    cut = next(a for a in result.timeline.actions if a.name == "cut")
    interrupted = emu.camera.events[1]
    assert interrupted.cut_t == pytest.approx(cut.t)
    m = by_name(result)
    assert m["cut_recovered_s[event 2]"].value == pytest.approx(interrupted.last_frame_t + FRAME - cut.t, abs=FRAME)
    assert isinstance(cut.detail, PowerCut)
    assert m["earlier_files_damaged"].value == 0 and len(cut.detail.files) == 1


def test_draw_per_state_matches_the_profile(tmp_path) -> None:
    result, emu = run("power_draw.yaml", tmp_path)
    assert result.failed == [], [str(m) for m in result.failed]
    draw = emu.profile.power.draw_a
    for state in ("booting", "buffering", "recording", "writing"):  # a mean of noisy readings
        assert by_name(result)[f"current_a[{state}]"].value == pytest.approx(draw.of(state), abs=0.001)


# --------------------------------------------------------------------------- step vocabulary


def test_power_steps_parse_and_describe_themselves() -> None:
    s = Scenario.model_validate(
        {
            "id": "p",
            "title": "t",
            "requirements": ["BWC-PWR-01"],
            "steps": [
                {"battery": {"soc": 42.5, "monitor_s": 2}},
                {"power": "on"},
                {"measure": {"state": "buffering", "seconds": 3}},
                {"power": "cut"},
                {"wait": {"until": "shutdown", "seconds": 60}},
            ],
            "expect": {"clips": 0, "checks": ["shift_runtime"], "collect": False},
        }
    )
    assert [step.describe() for step in s.steps] == [
        "battery simulator at 42.5 % (dynamic)",
        "power on",
        "measure current for 3 s (buffering)",
        "power cut",
        "wait until shutdown (at most 60 s)",
    ]
    assert s.expect.collect is False


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        ({"battery": {"soc": 120}}, "steps#1.battery.soc"),
        ({"battery": {"soc": 50, "method": "fast"}}, "steps#1.battery.method"),
        ({"battery": {"soc": 50}, "power": "on"}, "exactly one of power, wait, gesture, battery, measure"),
        ({"measure": {"state": "sleeping", "seconds": 1}}, "steps#1.measure.state"),
        ({"wait": {"until": "lunch", "seconds": 1}}, "steps#1.wait.until"),
        ({"power": "brownout"}, "steps#1.power"),
    ],
)
def test_bad_power_steps_name_the_file_and_field(tmp_path, step, fragment) -> None:
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "id": "bad",
                "title": "t",
                "requirements": ["BWC-PWR-01"],
                "steps": [step],
                "expect": {"clips": 0, "checks": ["shift_runtime"]},
            }
        )
    )
    with pytest.raises(ConfigError) as info:
        Scenario.load(path)
    assert str(path) in str(info.value) and fragment in str(info.value)


# --------------------------------------------------------------------------- faults and interruptions

SHORT = {
    "id": "short-battery",
    "title": "t",
    "requirements": ["BWC-PWR-02"],
    "steps": [
        {"battery": {"soc": 4.0, "monitor_s": 0.5}},
        {"power": "on"},
        {"measure": {"state": "booting", "seconds": 2}},
        {"wait": {"until": "shutdown", "seconds": 1800}},
        {"power": "off"},
    ],
    "expect": {"clips": 0, "checks": ["warning_lead"], "collect": False},
}


def forget_battery_commands(server: ScpiServer) -> None:
    """The instrument stops knowing the :BATT headers (as a supply without the option would)."""
    server.instrument.table = build_command_table(PLAIN_SUPPLY_GROUPS)


def misbehave_at(step: str, action):
    """A step hook that makes the emulated instrument misbehave when ``step`` begins."""
    rigs: list = []

    @contextlib.contextmanager
    def hook(name: str):
        if name.startswith(step):
            action(rigs[0].emulator.supply)
        yield

    return hook, rigs


@pytest.mark.parametrize(
    ("step", "action", "command", "fragment"),
    [
        ("wait until shutdown", lambda s: setattr(s, "mute", True), ":BATT:SIM:CURR?", "timeout"),
        ("measure current", lambda s: setattr(s, "garble", True), ":BATT:SIM:CURR?", "not ASCII"),
        (
            "battery simulator",
            lambda s: setattr(s, "error_on_next", (-222, "Data out of range")),
            ":OUTP:STAT OFF",
            '-222,"Data out of range"',
        ),
        ("measure current", lambda s: forget_battery_commands(s), ":BATT:SIM:CURR?", '-113,"Undefined header"'),
    ],
    ids=["timeout", "garbled", "error-queue", "unsupported"],
)
def test_instrument_faults_fail_the_scenario_naming_instrument_and_command_with_the_output_off(
    tmp_path, step, action, command, fragment
) -> None:
    hook, rigs = misbehave_at(step, action)
    scenario = Scenario.model_validate(SHORT)
    with pytest.raises(InstrumentError) as info:
        with open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path) as rig:
            rigs.append(rig)
            rig.power._resource.timeout = 300  # a quick timeout keeps the test short
            run_scenario(scenario, rig, tmp_path / "evidence", step_hook=hook)
    assert info.value.command == command and fragment in str(info.value)
    assert rigs[0].power.name in str(info.value)
    supply = rigs[0].emulator.supply
    assert supply.state.output is False  # the rig's exit path switched it off, misbehaving or not


def test_ctrl_c_in_the_middle_of_a_battery_run_leaves_the_output_off(tmp_path) -> None:
    """SIGTERM reaches the run as KeyboardInterrupt (the pytest plugin converts it): same path."""
    rigs: list = []

    @contextlib.contextmanager
    def hook(name: str):
        if name.startswith("wait until shutdown"):
            assert rigs[0].emulator.supply.state.output is True
            raise KeyboardInterrupt
        yield

    with pytest.raises(KeyboardInterrupt), open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path) as rig:
        rigs.append(rig)
        run_scenario(Scenario.model_validate(SHORT), rig, tmp_path / "evidence", step_hook=hook)
    assert rigs[0].emulator.supply.state.output is False


def test_after_a_battery_scenario_the_next_one_gets_the_bench_supply(tmp_path) -> None:
    with open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path) as rig:
        first = run_scenario(Scenario.model_validate(SHORT), rig, tmp_path / "one")
        assert rig.power.battery is None and rig.emulator.supply.state.function == "POWER"
        assert [a.name for a in first.timeline.actions if a.kind == "power"][-2:] == ["shutdown", "off"]
        plain = Scenario.model_validate(
            {
                "id": "plain",
                "title": "t",
                "requirements": ["BWC-PWR-01"],
                "steps": [{"power": "on"}, {"measure": {"state": "booting", "seconds": 1}}, {"power": "off"}],
                "expect": {"clips": 0, "checks": ["current_profile"], "collect": False},
            }
        )
        second = run_scenario(plain, rig, tmp_path / "two")
        reading = next(a for a in second.timeline.actions if a.name == "current")
        assert isinstance(reading.detail, CurrentReading)
        assert reading.detail.volts == pytest.approx(rig.power_spec.voltage)
        assert by_name(second)["current_a[booting]"].passed


BATTERY_RUN = """\
id: on-battery
title: A camera on the battery simulator
requirements: [BWC-PWR-02]
steps:
  - battery: {soc: 100, monitor_s: 0.5}
  - power: "on"
  - wait: {seconds: 120}
  - power: "off"
expect:
  clips: 0
  checks: [warning_lead]
  collect: false
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_terminating_a_battery_run_on_a_bench_leaves_the_simulator_off(tmp_path, sig) -> None:
    """A bench rig file pointing at an instrument's VISA resource (here `bwc emulate` in its own
    process, standing in for a 2281S): stop the harness mid-run, the simulated battery ends up off."""
    storage = tmp_path / "camera"
    emu, serial, resource = _start_emulator(storage)
    try:
        rig = bench_rig_file(
            tmp_path / "bench.yaml",
            "bench-under-test",
            {"url": serial},
            {"resource": resource, "command_set": "keithley_2281s"},
            power={"battery_model": "1"},
            clips={"path": str(storage / "DCIM"), "settle_s": 0.5, "wait_s": 5},
        )
        scenario = tmp_path / "scenarios" / "on_battery.yaml"
        scenario.parent.mkdir()
        scenario.write_text(BATTERY_RUN)
        output = _signal_certify(
            ["--rig", str(rig), "--out", str(tmp_path / "out"), "--no-pdf", str(scenario)],
            tmp_path,
            lambda: _scpi(resource, ":ENTR:FUNC?;:OUTP?") == "SIMULATOR;1",
            "the harness to power the camera from the simulated battery",
            sig,
        )
        assert _scpi(resource, ":ENTR:FUNC?;:OUTP?") == "SIMULATOR;0", output
    finally:
        emu.send_signal(signal.SIGINT)
        emu.communicate(timeout=30)
