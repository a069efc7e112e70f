"""Shared helpers for the project's own tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]

# A run started in the background of a non-interactive shell (`pytest ... &` in a script) inherits
# SIGINT ignored, and so would every process it starts: the tests that press Ctrl-C on a harness
# process need it delivered, as it is at a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run_bwc(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the ``bwc`` command line in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def bench_rig_file(path: Path, name: str, serial: dict, instrument: dict, **sections: object) -> Path:
    """A bench rig file for the emulated camera profile, written from plain values as a lab writes one."""
    rig = {"kind": "bench", "name": name, "camera": "emulated", "serial": serial, "instrument": instrument, **sections}
    path.write_text(yaml.safe_dump({"rig": rig}, sort_keys=False))
    return path


def _merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif value is _DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


_DROP = object()
DROP = _DROP  # a change that removes the field (the profile's default applies)


def camera_variant(folder: Path, name: str, **changes: object) -> Path:
    """The built-in emulated camera's profile with ``changes`` (nested blocks merged; DROP removes a
    field), written as ``folder/name.yaml``: a camera model the built-in one does not cover."""
    from harness.core.paths import CAMERAS_DIR

    base = yaml.safe_load((CAMERAS_DIR / "emulated.yaml").read_text())
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(_merge(base, changes), sort_keys=False))
    return path


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


HEALTHY = "healthy_run"
HEALTHY_TIMEOUT_S = 1800.0

# Runs the command after "--" with stdout and stderr to files in FOLDER, then writes its exit code
# to FOLDER/rc (atomically): waiting workers need not be the process that started it.
_BACKGROUND = """
import os, subprocess, sys
folder = sys.argv[1]
with open(os.path.join(folder, "stdout"), "w") as out, open(os.path.join(folder, "stderr"), "w") as err:
    code = subprocess.run(sys.argv[2:], stdout=out, stderr=err).returncode
with open(os.path.join(folder, "rc.tmp"), "w") as f:
    f.write(str(code))
os.replace(os.path.join(folder, "rc.tmp"), os.path.join(folder, "rc"))
"""


def _session_root(factory: pytest.TempPathFactory) -> Path:
    """The base temp folder every pytest-xdist worker of this session shares."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def _start_healthy_certification(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Start the shared certification in the background as soon as a session holds a test that reads it.

    It overlaps the rest of the suite instead of stalling the first test that needs it, and under
    pytest-xdist only the first worker starts it (an exclusive create of its folder decides)."""
    if any(HEALTHY in getattr(item, "fixturenames", ()) for item in request.session.items):
        _start_certification(_session_root(tmp_path_factory) / "healthy")


def _start_certification(folder: Path) -> None:
    """Start ``bwc certify`` of the healthy emulated camera into ``folder`` unless it was started."""
    try:
        folder.mkdir()
    except FileExistsError:
        return  # another worker (or an earlier call) started it
    cmd = [sys.executable, "-m", "harness.cli", "certify", "--out", str(folder / "out"), "--phase", "Phase 1"]
    subprocess.Popen(
        [sys.executable, "-c", _BACKGROUND, str(folder), *cmd],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def healthy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One certification of the healthy emulated camera, shared by the tests that read its outputs
    (and by every xdist worker): waits for the background run and returns it like :func:`run_bwc`."""
    folder = _session_root(tmp_path_factory) / "healthy"
    _start_certification(folder)
    deadline = time.monotonic() + HEALTHY_TIMEOUT_S
    while not (folder / "rc").exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the shared certification in {folder} did not finish within {HEALTHY_TIMEOUT_S:g} s")
        time.sleep(0.5)
    proc = subprocess.CompletedProcess(
        ["bwc", "certify"],
        int((folder / "rc").read_text()),
        (folder / "stdout").read_text(),
        (folder / "stderr").read_text(),
    )
    return proc, folder / "out"
