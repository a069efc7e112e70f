"""``bwc station`` and ``bwc fleet report``: bad choices are one line before anything runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.core.paths import SUITE_DIR


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--operator", "web"], "--operator web needs the operator page (--web)"),
        (["--operator", "terminal", "--workers", "2"], "several benches in one station need the automatic operator"),
        (["--rig", "x.yaml", "--operator", "auto"], "--operator auto answers only on emulated units"),
        (["--suite", "nightly", "--operator", "auto"], "no scenario in"),
        (["--web", "--host", "0.0.0.0", "--operator", "auto", "--no-db"], "give a token"),
    ],
)
def test_station_refuses_in_one_line(argv: list[str], said: str, tmp_path: Path, capsys) -> None:
    code = main(["station", "--profile", "emulated", "--out", str(tmp_path / "out"), *argv])
    out = capsys.readouterr().out
    assert code == 2 and said in out and "Traceback" not in out
    assert out.startswith("bwc station: ")


def test_station_profile_that_does_not_exist(tmp_path: Path, capsys) -> None:
    assert main(["station", "--profile", "nosuch", "--out", str(tmp_path), "--operator", "auto"]) == 2
    assert "nosuch" in capsys.readouterr().out


def test_fleet_report_on_an_empty_database(tmp_path: Path, capsys) -> None:
    code = main(["fleet", "report", "--phase", "Phase 2", "--db", f"sqlite:///{tmp_path / 'r.db'}", "--out",
                 str(tmp_path / "rep"), "--no-pdf"])  # fmt: skip
    assert code == 0 and (tmp_path / "rep" / "fleet-report.html").is_file()
    assert main(["fleet", "report", "--phase", "P", "--db", "mysql://x/y"]) == 2
    assert "only sqlite and postgresql" in capsys.readouterr().err


def test_a_bench_station_asks_for_a_unit_and_warns_of_an_unregistered_lot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--rig``: the station asks the operator to connect the first unit (its supply of units is
    endless, read one at a time) and ends the shift on "n"; a lot with no plan is said at the start."""
    rig = tmp_path / "rig.yaml"
    rig.write_text("rig: {kind: emulated, name: b, camera: emulated}\n")
    read, write = os.pipe()
    os.write(write, b"n\n")
    os.close(write)
    with os.fdopen(read) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        code = main(["station", "--profile", "emulated", "--rig", str(rig), "--operator", "terminal",
                     "--operator-name", "op", "--lot", "LOT-NEW", "--db", f"sqlite:///{tmp_path / 'r.db'}",
                     "--out", str(tmp_path / "out"), "--scenario", str(SUITE_DIR / "stop.yaml")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "Traceback" not in out
    assert "note: lot LOT-NEW is not registered in the results database" in out
    assert "Connect unit 1 (next unit) to bench station" in out and "shift: 0 unit(s)" in out
