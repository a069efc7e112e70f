"""`bwc rig check`: a status table for each part of a bench, and clear reports for missing parts."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.conftest import run_bwc


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
    rig = tmp_path / "bench.yaml"
    rig.write_text(f"""\
rig:
  kind: bench
  name: unplugged-bench
  camera: emulated
  serial: {{url: /dev/ttyBWC-not-plugged-in}}
  instrument: {{resource: "TCPIP::127.0.0.1::{port}::SOCKET"}}
  clips: {tmp_path / "not-mounted"}
""")
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
