"""`bwc certify --place / --reserve` on a real labgrid lab on the loopback, end to end.

The coordinator and exporters are labgrid's own; each bench is `bwc emulate` in its own process,
its rig controller's pty served by ser2net as RFC 2217. The scenario is a short real-time event
judged on what a bench without a display of the harness's own can measure (clip count, continuity).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import bench_rig_file
from tests.fixtures.test_interrupt import _scpi
from tests.fixtures.test_plugin import QUICK
from tests.harness.devices.labgrid_lab import Bench, Lab, lab_with_benches, wait_for

SCENARIO = QUICK.replace("checks: [clip_count, preroll, continuity, stop]", "checks: [clip_count, continuity]")


def _scenarios(folder: Path, *ids: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for sid in ids:
        path = folder / f"{sid.replace('-', '_')}.yaml"
        path.write_text(SCENARIO.replace("id: quick-event", f"id: {sid}"))
        paths.append(str(path))
    return paths


@pytest.fixture
def lab1(tmp_path: Path) -> Iterator[tuple[Lab, list[Bench]]]:
    with lab_with_benches(tmp_path, 1, model="emulated", photodiode="yes") as lab:
        yield lab


def _template(folder: Path) -> Path:
    """The lab's bench file the places share: its calibration and timeouts; the place gives the addresses.

    The reply timeout is generous: an emulated camera in another process stalls its controller for
    seconds while it finalises a clip (a bench's microcontroller does not)."""
    return bench_rig_file(
        folder / "bench-template.yaml",
        "template",
        {"url": "rfc2217://replaced-by-the-place:1", "timeout_s": 15},
        {"resource": "TCPIP::replaced-by-the-place::5025::SOCKET"},
        clips={"path": str(folder / "replaced-by-the-place")},
    )


def _certify(lab: Lab, cwd: Path, *args: str, user: str | None = None) -> subprocess.Popen[str]:
    rig = ["--rig", str(_template(cwd))]
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "certify", "--coordinator", lab.coordinator, "--no-pdf", *rig, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=lab.env(user),
    )


def test_run_through_a_place_after_a_killed_run_takes_the_stale_place_over(
    lab1: tuple[Lab, list[Bench]], tmp_path: Path
) -> None:
    """SIGKILL mid-run leaves the place acquired (the coordinator cannot know); the next run on this
    host says it takes it over, certifies through the place end to end, records it, and releases it."""
    lab, _ = lab1
    scenarios = _scenarios(tmp_path / "scenarios", "place-event")
    killed = _certify(lab, tmp_path, "--place", "bench-1", "--out", str(tmp_path / "out1"), *scenarios)
    try:
        wait_for(lambda: lab.holder("bench-1") is not None or killed.poll() is not None, 60, "the place to be acquired")
        assert killed.poll() is None, killed.communicate()[0]
        time.sleep(2)
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=30)
    finally:
        if killed.poll() is None:
            killed.kill()
    assert lab.holder("bench-1") is not None

    run = _certify(lab, tmp_path, "--place", "bench-1", "--out", str(tmp_path / "out"), *scenarios)
    output, _ = run.communicate(timeout=300)
    assert run.returncode == 0, output
    assert "was left acquired by" in output and "no longer running; taking it over" in output
    assert "acquired place bench-1 (exporters: host-1)" in output and "released place bench-1" in output
    assert lab.holder("bench-1") is None
    record = json.loads((tmp_path / "out" / "record.json").read_text())
    place = record["rig"]["place"]
    assert place["name"] == "bench-1" and place["exporters"] == ["host-1"]
    assert place["tags"] == {"model": "emulated", "photodiode": "yes"}
    assert "no longer running" in place["taken_over_from"]
    assert record["instruments"]["serial_port"].startswith("rfc2217://127.0.0.1:")
    assert "BWC-RIG" in record["instruments"]["rig_controller"]
    (test,) = record["tests"]
    assert test["verdict"] == "pass", test
    gestures = [e for e in test["timeline"] if e["kind"] == "gesture"]
    assert [g["name"] for g in gestures] == ["start", "stop"] and all(g["edges"] for g in gestures)
    assert (tmp_path / "out" / "places" / "bench-1.yaml").is_file()


def test_place_held_by_someone_else_is_one_line_naming_them(lab1: tuple[Lab, list[Bench]], tmp_path: Path) -> None:
    lab, _ = lab1
    lab.client("-p", "bench-1", "acquire", user="alice")
    started = time.monotonic()
    run = _certify(
        lab, tmp_path, "--place", "bench-1", "--out", str(tmp_path / "out"), *_scenarios(tmp_path / "scenarios", "x")
    )
    output, _ = run.communicate(timeout=60)
    assert run.returncode == 2 and time.monotonic() - started < 30
    assert "place bench-1 is in use by" in output and "/alice" in output and "Traceback" not in output
    assert not (tmp_path / "out" / "record.json").exists()


def test_sigterm_mid_run_releases_the_place_and_switches_the_supply_off(
    lab1: tuple[Lab, list[Bench]], tmp_path: Path
) -> None:
    lab, (bench,) = lab1
    run = _certify(
        lab, tmp_path, "--place", "bench-1", "--out", str(tmp_path / "out"), *_scenarios(tmp_path / "scenarios", "t")
    )
    try:
        wait_for(lambda: _scpi(bench.resource, ":OUTP?") in ("1", "ON") or run.poll() is not None, 60, "power on")
        assert run.poll() is None, run.communicate()[0]
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert "released place bench-1" in output, output
    assert lab.holder("bench-1") is None
    assert _scpi(bench.resource, ":OUTP?") in ("0", "OFF")
    assert json.loads((tmp_path / "out" / "record.json").read_text())["status"] == "interrupted"


def test_reserve_runs_on_several_places_at_once_into_one_record(tmp_path: Path) -> None:
    """--reserve model=emulated --places 3 with two matching places: two workers, one per place, one record."""
    with lab_with_benches(tmp_path, 2, model="emulated") as (lab, _):
        scenarios = _scenarios(tmp_path / "scenarios", "first-event", "second-event")
        run = _certify(
            lab, tmp_path, "--reserve", "model=emulated", "--places", "3", "--out", str(tmp_path / "out"), *scenarios
        )
        output, _ = run.communicate(timeout=400)
        assert run.returncode == 0, output
        assert lab.holder("bench-1") is None and lab.holder("bench-2") is None
    assert "acquired place bench-1" in output and "acquired place bench-2" in output
    record = json.loads((tmp_path / "out" / "record.json").read_text())
    assert sorted(t["scenario"] for t in record["tests"]) == ["first-event", "second-event"]
    assert all(t["verdict"] == "pass" for t in record["tests"])
    places = sorted(w["rig"]["place"]["name"] for w in record["workers"].values())
    assert places == ["bench-1", "bench-2"]
    assert sorted(e for w in record["workers"].values() for e in w["rig"]["place"]["exporters"]) == ["host-1", "host-2"]


def test_reserve_shows_the_wait_and_ctrl_c_cancels_it(lab1: tuple[Lab, list[Bench]], tmp_path: Path) -> None:
    """alice holds the only matching place: the run waits, saying who holds it; Ctrl-C cancels the reservation."""
    lab, _ = lab1
    lab.client("-p", "bench-1", "acquire", user="alice")
    run = _certify(
        lab,
        tmp_path,
        "--reserve",
        "model=emulated",
        "--out",
        str(tmp_path / "out"),
        *_scenarios(tmp_path / "scenarios", "w"),
    )
    lines: list[str] = []
    assert run.stdout is not None
    for line in run.stdout:
        lines.append(line)
        if "waiting for a place with model=emulated" in line:
            break
    assert "bench-1 in use by" in lines[-1] and "/alice" in lines[-1], lines
    assert "Reservation" in lab.client("reservations").stdout
    run.send_signal(signal.SIGINT)
    output, _ = run.communicate(timeout=60)
    assert run.returncode == 130, output
    assert "reservations cancelled" in output and "Traceback" not in output
    assert "Reservation" not in lab.client("reservations").stdout
    assert lab.holder("bench-1").endswith("/alice")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--place", "b", "--reserve", "model=x"], "give --place NAME or --reserve TAGS, not both"),
        (["--place", "b", "--places", "2"], "--places N goes with --reserve TAGS"),
        (["--reserve", "Model=x"], "'Model=x' is not KEY=VALUE"),
        (["--place", "b", "--workers", "2"], "one worker per place"),
        (["--place", "b", "--rig", "a.yaml", "--rig", "b.yaml"], "at most one --rig"),
    ],
)
def test_place_options_that_do_not_go_together_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before any coordinator is asked or anything is written."""
    from harness.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["certify", *argv]) == 2
    assert message in " ".join(capsys.readouterr().out.split())
    assert not list(tmp_path.iterdir())


def test_places_must_be_a_whole_number_from_one(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    with pytest.raises(SystemExit) as info:
        main(["certify", "--reserve", "model=x", "--places", "0"])
    assert info.value.code == 2 and "argument --places" in capsys.readouterr().err
