"""Station mode: the seeded units, the tagged suite, the reasons shown, and a station killed mid-unit."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from harness.core.paths import SUITE_DIR, camera_profile_path
from harness.devices.operator import Answer, Prompt
from harness.fleet.db.models import Run
from harness.fleet.db.query import lot_units, run_as_record
from harness.fleet.db.store import connect, mark_interrupted
from harness.fleet.station import (
    ACCEPTANCE_FAULTS,
    AttemptResult,
    Station,
    StationConfig,
    StationError,
    UnitSlot,
    interrupted_units,
    new_attempt_dir,
    reasons_of,
    safe_name,
    seeded_units,
    suite_files,
)
from harness.plan.profile import CameraProfile


def test_seeded_units_are_the_same_for_a_seed() -> None:
    units = seeded_units(200, 7, faulty_share=0.3)
    assert units == seeded_units(200, 7, faulty_share=0.3) and units != seeded_units(200, 8, faulty_share=0.3)
    faulty = [u for u in units if u.faults]
    assert 40 <= len(faulty) <= 80 and all(len(u.faults) == 1 and u.faults[0] in ACCEPTANCE_FAULTS for u in faulty)
    assert len({u.serial for u in units}) == 200
    assert not any(u.faults for u in seeded_units(20, 1, faulty_share=0.0))


def test_the_acceptance_suite_is_named_in_the_scenario_files() -> None:
    profile = CameraProfile.load(camera_profile_path("emulated"))
    names = [p.name for p in suite_files("acceptance", profile)]
    assert names == ["power_draw.yaml", "preroll_early_activation.yaml", "preroll_full_buffer.yaml"]
    with pytest.raises(StationError, match="tagged 'nightly'"):
        suite_files("nightly", profile)


def test_reasons_name_requirement_measurement_and_limits() -> None:
    record = {
        "tests": [
            {"scenario": "stop", "verdict": "fail", "measurements": [
                {"name": "stop_lag_s[event 1]", "quantity": "stop_lag_s", "value": 2.5166, "unit": "s", "low": -0.033,
                 "high": 1.0, "outcome": "fail", "requirement": "BWC-STOP-01"},
                {"name": "unplayable_files", "value": 0, "unit": "files", "low": 0, "high": 0, "outcome": "pass",
                 "requirement": "BWC-STOP-02"}]},
            {"scenario": "power-draw", "verdict": "error", "error": "power supply: no reply\ntraceback", "measurements": []},
        ]
    }  # fmt: skip
    reasons, quantities = reasons_of(record)
    assert reasons == [
        "BWC-STOP-01 stop_lag_s[event 1] = 2.5166 s (limits [-0.033, 1]; stop)",
        "power-draw: error: power supply: no reply",
    ]
    assert quantities == ["stop_lag_s"]
    assert safe_name("../../etc") == ".._.._etc" and safe_name("") == "unit"


def _children_of_out(out: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "harness.cli certify" in cmd and str(out) in cmd:
                pids.append(int(entry.name))
    return pids


def test_a_station_killed_mid_unit_leaves_it_interrupted(tmp_path: Path) -> None:
    """SIGKILL during the second unit: the first unit's result, committed before, is all there, and
    the second shows as interrupted (its start-of-unit row, marked when the bench starts again)."""
    db = tmp_path / "results.db"
    out = tmp_path / "units"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "station", "--profile", "emulated", "--scenario",
         str(SUITE_DIR / "stop.yaml"), "--units", "2", "--seed", "5", "--faulty-share", "0", "--operator", "auto",
         "--out", str(out), "--db", f"sqlite:///{db}", "--lot", "LOT-K", "--bench", "kill-bench", "--phase", "P"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if db.exists() and _children_of_out(out):
                engine = connect(f"sqlite:///{db}")
                running = interrupted_units(engine, "kill-bench")
                if running and running[0]["serial"] == "EMU-005-0002":
                    break
                engine.dispose()
            assert proc.poll() is None, "the station ended before it was killed"
            time.sleep(0.3)
        else:
            raise AssertionError("no start-of-unit row of the second unit appeared")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    for _ in range(50):  # the suite's process dies with the station
        if not _children_of_out(out):
            break
        time.sleep(0.2)
    assert not _children_of_out(out)
    engine = connect(f"sqlite:///{db}")
    (row,) = interrupted_units(engine, "kill-bench")
    assert (row["serial"], row["status"], row["lot"]) == ("EMU-005-0002", "running", "LOT-K")
    assert mark_interrupted(engine, "kill-bench") == 1  # what the bench's next start does
    first, second = lot_units(engine, "LOT-K", "P")
    assert first.serial == "EMU-005-0001" and first.verdict == "pass"  # committed before the kill: all there
    assert [a.status for a in first.attempts] == ["complete"]
    record = json.loads((out / "EMU-005-0001" / "attempt-1" / "record.json").read_text())
    stored = run_as_record(engine, first.attempts[0].run_key)
    assert stored is not None and len(stored["tests"]) == len(record["tests"]) == 1
    assert len(stored["tests"][0]["measurements"]) == len(record["tests"][0]["measurements"]) > 0
    assert second.verdict is None and [a.verdict for a in second.attempts] == ["interrupted"]
    with Session(engine) as session:
        runs = {r.run_key: r for r in session.scalars(select(Run)).all()}
        assert len(runs) == 2 and {(r.status, r.bench, r.operator) for r in runs.values()} == {
            ("complete", "kill-bench", "auto"),
            ("interrupted", "kill-bench", "auto"),
        }


def test_identity_of_a_device_that_states_none(tmp_path: Path) -> None:
    from harness.fleet.station import read_identity

    rig = tmp_path / "rig.yaml"
    rig.write_text("rig: {kind: emulated, name: b, camera: emulated}\n")
    assert read_identity(rig, "emulated") == (None, "the clip source states no serial")
    rig.write_text("rig: {kind: nonsense}\n")
    serial, why = read_identity(rig, "emulated")
    assert serial is None and why.startswith("the device could not be read")


class _Declines:
    """An operator who has no unit to connect: the shift ends at the first prompt."""

    name = "op"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def ask(self, prompt: Prompt) -> Answer:
        self.asked.append(prompt.key or "")
        return Answer("declined", self.name, "test")


def test_a_bench_takes_its_endless_supply_one_unit_at_a_time(tmp_path: Path) -> None:
    """On a bench the units are an endless supply, each one the operator connects: the station asks
    for the first and ends the shift when told there is none (it must not read the supply ahead)."""
    rig = tmp_path / "rig.yaml"
    rig.write_text("rig: {kind: emulated, name: b, camera: emulated}\n")
    config = StationConfig(profile="emulated", suite=[SUITE_DIR / "stop.yaml"], out=tmp_path / "out", rig_file=rig)
    operator = _Declines()
    station = Station(config, operator)
    supply = itertools.repeat(UnitSlot())
    done = threading.Thread(target=station.run, args=(supply,), daemon=True)
    done.start()
    done.join(30)
    assert not done.is_alive() and operator.asked == ["unit_connected"] and station.history == []


def test_an_attempt_never_reuses_a_folder(tmp_path: Path) -> None:
    """Attempts of one unit number on across shifts (and station logs), never into a used folder."""
    unit = tmp_path / "EMU-1"
    assert new_attempt_dir(unit) == (1, unit / "attempt-1")
    (unit / "attempt-1" / "record.json").write_text("{}")
    (unit / "attempt-3.log").write_text("")  # a log whose folder was lost still holds its number
    assert new_attempt_dir(unit) == (4, unit / "attempt-4")
    assert (unit / "attempt-1" / "record.json").read_text() == "{}" and not any((unit / "attempt-4").iterdir())


def test_the_shift_counts_a_unit_that_failed_once_as_not_passed(tmp_path: Path) -> None:
    """The station's summary (its end event, the terminal line, the exit code) applies the lot
    decision's rule: a failure stands through a passing re-test; a bench error alone decides nothing."""
    config = StationConfig(profile="emulated", suite=[SUITE_DIR / "stop.yaml"], out=tmp_path)
    station = Station(config, _Declines())
    for serial, verdict in [("A", "pass"), ("B", "fail"), ("B", "pass"), ("C", "error"), ("D", "error"), ("D", "pass")]:
        station.history.append(AttemptResult(1, serial, 1, "b", verdict, [], "", None, "", 1.0))
    assert station.unit_verdicts() == {"A": "pass", "B": "fail", "C": None, "D": "pass"}
    ended: list[dict] = []
    station.listeners.append(ended.append)
    station.run([])
    assert ended[-1]["type"] == "end" and (ended[-1]["units"], ended[-1]["passed"]) == (4, 2)
