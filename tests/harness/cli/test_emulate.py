"""`bwc emulate`: a person (here, this test) drives the emulated rig by hand over its real ports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pyvisa
import serial

from harness.analysis.clip import analyze_clip
from tests.conftest import REPO

PROFILE = """\
vendor: Test
model: Quick
firmware: "0"
serial: QUICK-1
boot_s: 0.5
pre_event_buffer_s: 2.0
gestures:
  start: {button: event, presses: 2}
  stop: {button: event, hold_s: 1.0}
"""


def _read_until(proc: subprocess.Popen[str], pattern: str, timeout: float = 20) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"bwc emulate never printed {pattern!r}")


def test_emulate_prints_its_parts_and_can_be_driven_by_hand(tmp_path: Path) -> None:
    """Power through the printed VISA resource, press through the printed port, a clip appears."""
    profile = tmp_path / "quick.yaml"
    profile.write_text(PROFILE)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "emulate",
            "--profile",
            str(profile),
            "--storage",
            str(tmp_path / "cam"),
            "--duration",
            "30",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        port = _read_until(proc, r"serial port .*: (\S+)").group(1)
        resource = _read_until(proc, r"VISA resource .*: (\S+)").group(1)
        storage = Path(_read_until(proc, r"camera storage: (\S+)").group(1))
        supply = pyvisa.ResourceManager("@py").open_resource(resource, read_termination="\n", write_termination="\n")
        assert "2281S" in supply.query("*IDN?")
        supply.write(":VOLT 3.85")
        supply.write(":OUTP ON")
        assert supply.query(":OUTP?") == "1"
        line = serial.serial_for_url(port, baudrate=115200, timeout=2)
        time.sleep(2.0)  # boot 0.5 s, then 1.5 s of buffer
        line.write(b"PRESS event 150\n")
        time.sleep(0.4)
        line.write(b"PRESS event 150\n")  # a double press starts the recording
        time.sleep(1.0)
        line.write(b"PRESS event 1300\n")  # held past 1 s: stop
        deadline = time.monotonic() + 15
        while not list(storage.glob("*.mp4")) and time.monotonic() < deadline:
            time.sleep(0.2)
        (clip,) = storage.glob("*.mp4")
        time.sleep(0.6)  # the stop press is released 0.3 s after the camera acted on it
        replies = line.read(line.in_waiting).decode().splitlines()
        assert [r.split()[0] for r in replies if r.startswith("OK")] == ["OK"] * 3
        assert sum(r.startswith("EDGE") for r in replies) == 6
        analysis = analyze_clip(clip)
        assert analysis.error is None and analysis.frames == analysis.decoded
        assert 3.0 < analysis.duration_s < 5.0  # ~1.5 s pre-roll + ~2.5 s until the hold is recognised
        supply.write(":OUTP OFF")
        line.close()
        supply.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_emulate_removes_its_temporary_storage_on_sigterm_and_sighup(tmp_path: Path) -> None:
    """Stopped by a service manager (SIGTERM) or a closed terminal (SIGHUP), as by Ctrl-C: no storage left."""
    import signal

    profile = tmp_path / "quick.yaml"
    profile.write_text(PROFILE)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "emulate", "--profile", str(profile), "--duration", "60"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            storage = Path(_read_until(proc, r"camera storage: (\S+)").group(1))
            _read_until(proc, r"stops the rig")
            assert storage.exists()
            proc.send_signal(sig)
            assert proc.wait(timeout=20) == 0
            assert not storage.exists() and not storage.parent.exists(), f"{sig.name} left {storage.parent}"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
