"""A labgrid place's resources as a bench rig file (no coordinator needed: the place as the client sees it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.devices.labgrid_place import Place, PlaceResource
from harness.rig.kinds import load_rig_spec
from harness.rig.place import rig_section, write_place_rig
from harness.rig.specs import BenchRigSpec
from tests.conftest import bench_rig_file


def _place(tmp_path: Path, *resources: PlaceResource, **tags: str) -> Place:
    return Place("bench-2", "lab:20408", tags or {"model": "emulated"}, resources, "host/ci")


def _serial(**params: object) -> PlaceResource:
    return PlaceResource(
        "room-2",
        "bench-2",
        "NetworkSerialPort",
        "rig-controller",
        {"host": "h2", "port": 4001, "speed": 115200, **params},
    )


def _supply() -> PlaceResource:
    return PlaceResource(
        "room-2", "bench-2", "PyVISADevice", "power-supply", {"type": "TCPIP", "url": "192.0.2.10::5025::SOCKET"}
    )


def _clips(tmp_path: Path) -> PlaceResource:
    params = {"kind": "export", "path": str(tmp_path / "exports"), "manifest": "*.sha256", "extra": {"proxy": "x"}}
    return PlaceResource("room-2", "bench-2", "BwcClipSource", "clips", params)


def test_a_place_with_every_part_is_a_valid_bench_rig_file(tmp_path: Path) -> None:
    display = PlaceResource(
        "room-2", "bench-2", "NetworkService", "display", {"address": "192.0.2.22", "username": "bwc"}
    )
    place = _place(tmp_path, _serial(), _supply(), _clips(tmp_path), display)
    path = write_place_rig(place, tmp_path / "places")
    spec, _ = load_rig_spec(path)
    assert isinstance(spec, BenchRigSpec) and spec.name == "bench-2" and spec.camera == "emulated"
    assert spec.serial.url == "rfc2217://h2:4001?ign_set_control" and spec.serial.baudrate == 115200
    assert spec.instrument.resource == "TCPIP::192.0.2.10::5025::SOCKET"
    assert spec.clips.kind == "export" and spec.clips.manifest is not None
    assert spec.place is not None and spec.place["exporters"] == ["room-2"]
    assert spec.place["display_host"] == "192.0.2.22" and spec.place["tags"] == {"model": "emulated"}


def test_a_port_served_raw_is_a_socket_url(tmp_path: Path) -> None:
    rig = rig_section(_place(tmp_path, _serial(protocol="raw"), _supply(), _clips(tmp_path)))
    assert rig["serial"]["url"] == "socket://h2:4001"


def test_the_bench_file_gives_calibration_and_the_place_the_addresses(tmp_path: Path) -> None:
    template = bench_rig_file(
        tmp_path / "bench.yaml",
        "lab-bench",
        {"url": "/dev/ttyACM0", "press_latency_ms": 9.5, "timeout_s": 5},
        {"resource": "TCPIP::old::5025::SOCKET", "command_set": "keithley_2281s"},
        clips={"path": "clips"},
    )
    spec, base = load_rig_spec(template)
    rig = rig_section(_place(tmp_path, _serial()), spec.model_dump(mode="json", exclude_none=True), base, "axon-body-4")
    assert rig["serial"]["press_latency_ms"] == 9.5 and rig["serial"]["timeout_s"] == 5
    assert rig["serial"]["url"].startswith("rfc2217://h2:4001")
    assert rig["instrument"]["resource"] == "TCPIP::old::5025::SOCKET"  # the place exports no supply
    assert rig["clips"]["path"] == str((tmp_path / "clips").resolve())  # relative to the bench file
    assert rig["camera"] == "axon-body-4"  # --profile wins over the tag


@pytest.mark.parametrize(
    ("resources", "tags", "message"),
    [
        ((), {"model": "emulated"}, "no NetworkSerialPort"),
        (("serial",), {"model": "emulated"}, "no PyVISADevice"),
        (("serial", "supply"), {"model": "emulated"}, "no BwcClipSource"),
        (("serial", "supply", "clips"), {"photodiode": "yes"}, "no camera: give the place a tag model="),
    ],
)
def test_a_missing_part_is_named(
    tmp_path: Path, resources: tuple[str, ...], tags: dict[str, str], message: str
) -> None:
    make = {"serial": _serial, "supply": _supply, "clips": lambda: _clips(tmp_path)}
    with pytest.raises(ValueError, match=message):
        rig_section(_place(tmp_path, *(make[r]() for r in resources), **tags))


def test_two_serial_ports_need_the_controller_named(tmp_path: Path) -> None:
    other = PlaceResource("room-2", "bench-2", "NetworkSerialPort", "camera-console", {"host": "h2", "port": 4002})
    named = rig_section(_place(tmp_path, _serial(), other, _supply(), _clips(tmp_path)))
    assert named["serial"]["url"].startswith("rfc2217://h2:4001")
    unnamed = PlaceResource("room-2", "bench-2", "NetworkSerialPort", "ttyACM0", {"host": "h2", "port": 4003})
    with pytest.raises(ValueError, match="2 NetworkSerialPort resources"):
        rig_section(_place(tmp_path, unnamed, other, _supply(), _clips(tmp_path)))
