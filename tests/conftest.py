"""Shared helpers for the project's own tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]


def run_bwc(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the ``bwc`` command line in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def healthy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One certification of the healthy emulated camera, shared by the tests that read its outputs."""
    out = tmp_path_factory.mktemp("healthy")
    proc = run_bwc("certify", "--out", str(out), "--phase", "Phase 1", timeout=1800)
    return proc, out
