"""`bwc rig check` looks at the dock without switching it: the controller's relay, a hub port's
status through uhubctl, or the note that the operator docks by hand."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.rig.check import check_rig
from tests.harness.devices.test_dock import fake_uhubctl


def _rig(tmp_path: Path, dock: str) -> Path:
    path = tmp_path / "rig.yaml"
    path.write_text(f"rig:\n  kind: emulated\n  dock: {dock}\n")
    return path


@pytest.mark.parametrize(
    ("dock", "status", "detail"),
    [
        ("{kind: relay}", "ok", "the rig controller has relay 'dock' (nothing switched)"),
        ("{kind: relay, relay: usb}", "fail", "the rig controller has no relay 'usb' (its relays: dock;"),
        ("{kind: prompt}", "ok", "the operator docks the camera when asked"),
    ],
)
def test_dock_row(tmp_path: Path, dock: str, status: str, detail: str) -> None:
    _, rows = check_rig(_rig(tmp_path, dock))
    (row,) = [r for r in rows if r.part == "dock"]
    assert row.status == status and detail in row.detail, row


def test_hub_port_status_is_read_and_nothing_switched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls.log"
    fake_uhubctl(tmp_path / "bin", calls, 'echo "Current status for hub $2 [2109:2817]"\necho "  Port $4: 0000 off"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    _, rows = check_rig(_rig(tmp_path, '{kind: uhubctl, location: "3-2", ports: 4}'))
    (row,) = [r for r in rows if r.part == "dock"]
    assert (row.status, row.target) == ("ok", "smart hub 3-2 port 4 (uhubctl)")
    assert row.detail.startswith("port 4 off (undocked)")
    assert calls.read_text().splitlines() == ["-l 3-2 -p 4"]  # a status query: no -a
