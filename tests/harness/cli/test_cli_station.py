"""``bwc station`` and ``bwc fleet report``: bad choices are one line before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main


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
