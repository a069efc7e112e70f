"""`bwc rig check`: a status table for each part of a bench, and clear reports for missing parts."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from tests.conftest import bench_rig_file, run_bwc


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_emulated_rig_checks_out() -> None:
    """Every part of the emulated rig answers: controller ping and clock offset, *IDN?, display, storage."""
    proc = run_bwc("rig", "check", "scenarios/rigs/emulated.yaml", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for part in ("rig controller", "power supply", "display", "camera storage", "camera profile"):
        assert part in out
    assert "FAIL" not in out
    assert "BWC-RIG-EMU" in out and "ping min" in out and "offset" in out and "drift" in out
    assert "2281S" in out


def test_unreachable_serial_port_and_instrument_are_reported_plainly(tmp_path: Path) -> None:
    """A bench whose controller, supply and storage are all missing: each part fails with its own reason,
    the profile and display rows still appear, and the exit code says the rig is not ready."""
    port = _closed_port()
    rig = bench_rig_file(
        tmp_path / "bench.yaml",
        "unplugged-bench",
        {"url": "/dev/ttyBWC-not-plugged-in"},
        {"resource": f"TCPIP::127.0.0.1::{port}::SOCKET"},
        clips=str(tmp_path / "not-mounted"),
    )
    proc = run_bwc("rig", "check", str(rig), timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("FAIL ")]
    assert len(lines) == 3, proc.stdout
    serial, supply, storage = lines
    assert serial.startswith("FAIL rig controller (/dev/ttyBWC-not-plugged-in)") and "cannot open port" in serial
    assert supply.startswith(f"FAIL power supply (TCPIP::127.0.0.1::{port}::SOCKET)")
    assert storage.endswith("does not exist (camera not docked or storage not mounted?)")
    assert "camera profile" in proc.stdout and "external player" in proc.stdout


def test_a_bad_rig_file_is_one_clear_row(tmp_path: Path) -> None:
    rig = tmp_path / "bad.yaml"
    rig.write_text("rig:\n  kind: bench\n  name: x\n  camera: emulated\n")
    proc = run_bwc("rig", "check", str(rig))
    assert proc.returncode == 1
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("FAIL ")]
    assert str(rig) in line and "rig.bench.serial: Field required" in line


def test_bench_check_fires_the_stimulus_once_and_shows_the_solenoid_latency(tmp_path: Path) -> None:
    """A bench file pointing at a running emulator: the controller row shows the calibrated solenoid
    latency and one short flash-and-beep fired on the controller; a per-button latency that misses a
    button of the camera profile fails that row with the field named."""
    from harness.core.clock import RealClock
    from harness.core.paths import camera_profile_path
    from harness.emulator.rig import EmulatedRig
    from harness.plan.profile import CameraProfile
    from harness.rig.check import check_rig

    clock = RealClock()
    profile = CameraProfile.load(camera_profile_path("emulated"))
    try:
        with EmulatedRig(profile, clock, tmp_path / "cam") as emu:

            def rig_file(latency: dict[str, float]) -> Path:
                return bench_rig_file(
                    tmp_path / "bench.yaml",
                    "pty-bench",
                    {"url": emu.serial_url, "press_latency_ms": latency},
                    {"resource": emu.visa_resource},
                    clips=str(tmp_path / "cam"),
                )

            _, rows = check_rig(rig_file({"event": 12, "power": 20}))
            (row,) = [r for r in rows if r.part == "rig controller"]
            assert row.status == "ok", row.detail
            assert "solenoid latency event 12 ms, power 20 ms" in row.detail
            # 50 ms asked; the emulated controller's timers run late on a loaded machine, a board's do not
            assert re.search(r"stimulus: flash and beep fired, \d+\.\d ms", row.detail), row.detail
            assert [on for _, on in emu.controller.stimuli] == [True, False]
            _, rows = check_rig(rig_file({"event": 12}))
            (row,) = [r for r in rows if r.part == "rig controller"]
            assert row.status == "fail"
            assert "rig.bench.serial.press_latency_ms: no latency for button 'power'" in row.detail
    finally:
        clock.close()
