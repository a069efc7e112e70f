"""Every rig-file field reaches the part it configures, in ``open_rig`` and in ``bwc rig check`` alike.

A bench rig file points at a running emulated bench (a real pty and a real TCP SCPI socket); the
serial ports and VISA resources the harness opens are caught as they are opened and inspected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pyvisa
import serial

from harness.core.clock import RealClock
from harness.core.paths import camera_profile_path
from harness.emulator.rig import EmulatedRig
from harness.plan.profile import CameraProfile
from harness.rig.check import check_rig
from harness.rig.factory import open_rig
from harness.rig.kinds import load_rig_spec
from tests.conftest import bench_rig_file

SERIAL = {"baudrate": 57600, "timeout_s": 1.5, "write_timeout_s": 0.75}
INSTRUMENT = {"timeout_ms": 3500, "read_termination": "\n", "write_termination": "\r\n"}


class Opened:
    """The real serial ports and VISA resources opened while it is installed, with their settings
    as they stood right after opening (a closed VISA resource can no longer be asked)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ports: list[Any] = []
        self.resources: list[dict[str, Any]] = []
        real_port, real_resource = serial.serial_for_url, pyvisa.ResourceManager.open_resource

        def port(*args: Any, **kwargs: Any) -> Any:
            opened = real_port(*args, **kwargs)
            self.ports.append(opened)
            return opened

        def resource(rm: pyvisa.ResourceManager, *args: Any, **kwargs: Any) -> Any:
            opened = real_resource(rm, *args, **kwargs)
            self.resources.append(
                {
                    "name": args[0],
                    "timeout": opened.timeout,
                    "read_termination": opened.read_termination,
                    "write_termination": opened.write_termination,
                }
            )
            return opened

        monkeypatch.setattr(serial, "serial_for_url", port)
        monkeypatch.setattr(pyvisa.ResourceManager, "open_resource", resource)

    def assert_settings(self, emu: EmulatedRig) -> None:
        assert self.ports, "no serial port was opened"
        for port in self.ports:
            assert port.port == emu.serial_url
            assert (port.baudrate, port.timeout, port.write_timeout) == (57600, 1.5, 0.75)
        assert self.resources, "no VISA resource was opened"
        for res in self.resources:
            assert res == {
                "name": emu.visa_resource,
                "timeout": 3500,
                "read_termination": "\n",
                "write_termination": "\r\n",
            }


def test_serial_and_instrument_fields_reach_the_opened_port_and_resource(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = RealClock()
    profile = CameraProfile.load(camera_profile_path("emulated"))
    try:
        with EmulatedRig(profile, clock, tmp_path / "cam") as emu:
            rig_file = bench_rig_file(
                tmp_path / "bench.yaml",
                "tuned-bench",
                {"url": emu.serial_url, "stimulus": False, **SERIAL},
                {"resource": emu.visa_resource, **INSTRUMENT},
                clips=str(tmp_path / "cam"),
            )

            certify = Opened(monkeypatch)  # the path of ``bwc certify``
            spec, base = load_rig_spec(rig_file)
            with open_rig(spec, base) as rig:
                port = rig.controller._port  # type: ignore[attr-defined]
                assert (port.baudrate, port.timeout, port.write_timeout) == (57600, 1.5, 0.75)
                resource = rig.power._resource  # type: ignore[attr-defined]
                assert (resource.timeout, resource.write_termination) == (3500, "\r\n")
                assert rig.power.identify()  # the instrument understands commands ending in CR LF
            certify.assert_settings(emu)

            monkeypatch.undo()
            check = Opened(monkeypatch)  # the path of ``bwc rig check``
            _, rows = check_rig(rig_file)
            assert {r.part: r.status for r in rows if r.part in ("rig controller", "power supply")} == {
                "rig controller": "ok",
                "power supply": "ok",
            }, rows
            check.assert_settings(emu)
    finally:
        clock.close()


def test_bad_termination_names_the_field(tmp_path: Path) -> None:
    from harness.core.config import ConfigError

    rig_file = bench_rig_file(
        tmp_path / "bench.yaml",
        "b",
        {"url": "/dev/ttyACM0"},
        {"resource": "TCPIP::h::5025::SOCKET", "read_termination": ";"},
        clips="/m",
    )
    with pytest.raises(ConfigError, match=r"rig\.bench\.instrument\.read_termination"):
        load_rig_spec(rig_file)
