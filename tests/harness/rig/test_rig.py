"""Opening rigs from rig files, and the power output's safe state on every way out."""

from __future__ import annotations

import pytest

from harness.core.config import ConfigError
from harness.rig.factory import open_rig
from harness.rig.kinds import load_rig_spec
from harness.rig.specs import EmulatedRigSpec


def test_default_rig_is_the_emulated_camera() -> None:
    """No rig file means the built-in emulated camera in virtual time."""
    spec, base = load_rig_spec(None)
    assert spec.kind == "emulated" and spec.camera == "emulated" and spec.time == "virtual" and base is None


def test_example_rig_files_validate() -> None:
    """The shipped rig files (emulated and lab bench example) are valid."""
    emu, _ = load_rig_spec("scenarios/rigs/emulated.yaml")
    bench, _ = load_rig_spec("scenarios/rigs/lab_bench.example.yaml")
    assert emu.kind == "emulated" and bench.kind == "bench"
    assert bench.serial.url == "/dev/ttyACM0" and bench.instrument.resource.endswith("::SOCKET")


def test_bad_rig_file_names_the_file_and_field(tmp_path) -> None:
    """A rig file with a wrong field type says which file, which field and what was expected."""
    path = tmp_path / "rig.yaml"
    path.write_text("rig:\n  kind: emulated\n  refresh_hz: fast\n")
    with pytest.raises(ConfigError) as err:
        load_rig_spec(path)
    assert str(path) in str(err.value) and "rig.emulated.refresh_hz" in str(err.value)


def test_rig_reaches_the_emulator_through_real_transports() -> None:
    """The harness talks to the emulated bench over a pty and a TCP SCPI socket."""
    with open_rig(EmulatedRigSpec(kind="emulated")) as rig:
        assert rig.instruments["serial_port"].startswith("/dev/pts/")
        assert rig.instruments["power_resource"].startswith("TCPIP::127.0.0.1::")
        assert "2281S" in rig.instruments["power"]
        assert rig.instruments["rig_controller"].startswith("BWC-RIG-EMU")


@pytest.mark.parametrize("exc", [RuntimeError("test failed"), KeyboardInterrupt()])
def test_power_output_is_off_after_any_exit(exc: BaseException) -> None:
    """A failing test or Ctrl-C inside the rig leaves the supply output off and the camera unpowered."""
    with pytest.raises(type(exc)), open_rig(EmulatedRigSpec(kind="emulated")) as rig:
        rig.power.set_voltage(3.85)
        rig.power.output(True)
        emulator = rig.emulator
        assert emulator.supply.state.output is True
        raise exc
    assert emulator.supply.state.output is False
    assert emulator.camera.state.value == "off"


def test_rig_limits_refuse_an_unsafe_voltage() -> None:
    """A voltage above the rig's limit for this camera's battery never reaches the instrument."""
    with open_rig(EmulatedRigSpec(kind="emulated")) as rig:
        with pytest.raises(ValueError, match=r"4\.4"):
            rig.power.set_voltage(5.0)
        assert rig.emulator.supply.state.voltage_set != 5.0
