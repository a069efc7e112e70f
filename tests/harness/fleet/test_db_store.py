"""The results database on SQLite and PostgreSQL: migrations, round trip of real and synthetic run
records, idempotent import, whole-or-nothing writes under SIGKILL, and bwc certify's hook."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from synthetic_runs import measurement, two_scenarios, write_run

from harness.fleet.db.models import Base, Evidence, MeasurementRow, Run, ScenarioResult, Unit
from harness.fleet.db.query import run_as_record
from harness.fleet.db.store import (
    DatabaseError,
    RunLabels,
    connect,
    import_run,
    run_key,
    store_record,
)
from harness.report.record import RecordError, RunRecord, ScenarioEntry

REPO = Path(__file__).resolve().parents[3]
TABLES = (Unit, Run, ScenarioResult, MeasurementRow, Evidence)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.__tablename__: conn.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES}


def test_migrations_give_the_models_schema(db_url: str) -> None:
    engine = connect(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    connect(db_url)  # a second connect finds the schema current and changes nothing


def _comparable(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A record's tests as the database keeps them (numbers as floats, the measured name's quantity)."""
    out = json.loads(json.dumps(tests))
    for t in out:
        for m in t["measurements"]:
            for k in ("value", "low", "high"):
                m[k] = None if m[k] is None else float(m[k])
            m.setdefault("quantity", m["name"].split("[")[0])
        for key, default in (("error", None), ("clips", []), ("title", ""), ("requirements", [])):
            t.setdefault(key, default)  # the record schema's defaults
    return out


def test_round_trip_of_a_synthetic_run(db_url: str, tmp_path: Path) -> None:
    tests = two_scenarios(preroll=121.0)
    # fields a newer record adds (an uncertainty) and a measurement the model cannot give
    tests[0]["measurements"][0]["uncertainty"] = {"u": 0.004, "k": 2, "unit": "s"}
    tests[1]["measurements"].append(
        {**measurement("audio_start_s", None, -0.1, 0.1, "BWC-AUD-01"), "outcome": "not measurable"}
        | {"not_measurable": "the model records no audio in the buffer"}
    )
    path = write_run(tmp_path / "run", tests, status="complete")
    record = json.loads(path.read_text())
    engine = connect(db_url)
    stored = import_run(engine, path.parent, RunLabels(lot="LOT-7", operator="J. Doe", bench="bench-2"))
    assert (stored.action, stored.verdict, stored.measurements) == ("added", "fail", 5)
    back = run_as_record(engine, stored.run_key)
    assert back is not None
    assert back["tests"] == _comparable(record["tests"])
    assert (back["lot"], back["operator"], back["bench"], back["status"]) == ("LOT-7", "J. Doe", "bench-2", "complete")
    assert back["camera"] == {k: record["camera"][k] for k in ("vendor", "model", "serial")}
    nm = back["tests"][1]["measurements"][-1]
    assert (nm["outcome"], nm["value"], nm["not_measurable"]) == (
        "not measurable",
        None,
        "the model records no audio in the buffer",
    )
    assert back["tests"][0]["measurements"][0]["uncertainty"] == {"u": 0.004, "k": 2, "unit": "s"}


def test_import_twice_adds_nothing_and_a_longer_record_replaces(db_url: str, tmp_path: Path) -> None:
    engine = connect(db_url)
    path = write_run(tmp_path / "run", two_scenarios(), status="running")
    first = import_run(engine, path.parent, RunLabels(lot="L1"))
    assert (first.action, first.status, first.verdict) == ("added", "interrupted", "interrupted")  # never closed
    before = counts(engine)
    again = import_run(engine, path.parent)  # no labels: the stored lot stays
    assert again.action == "unchanged" and counts(engine) == before
    record = json.loads(path.read_text())
    record["status"] = "complete"
    record["tests"].append({**record["tests"][1], "scenario": "stop-2"})
    path.write_text(json.dumps(record))
    longer = import_run(engine, path.parent)
    assert (longer.action, longer.run_key, longer.status, longer.verdict) == (
        "updated",
        first.run_key,
        "complete",
        "pass",
    )
    after = counts(engine)
    assert after["run"] == 1 and after["unit"] == 1 and after["scenario_result"] == 3
    assert after["measurement"] == before["measurement"] + 1 and after["evidence"] == before["evidence"] + 1
    back = run_as_record(engine, first.run_key)
    assert back is not None and back["lot"] == "L1"


def test_bad_database_and_bad_record_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match=r"^database postgresql://bwc:\*\*\*@127\.0\.0\.1:1/x: .*refused"):
        connect("postgresql://bwc:secret@127.0.0.1:1/x")
    with pytest.raises(DatabaseError, match="only sqlite and postgresql"):
        connect("mysql://h/x")
    bad = tmp_path / "run"
    bad.mkdir()
    (bad / "record.json").write_text("{not json")
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "db", "import", str(bad), "--db", f"sqlite:///{tmp_path / 'r.db'}"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert (
        out.stderr.strip()
        == f"bwc db import: {bad / 'record.json'}: not JSON (line 1, column 2: Expecting property name enclosed in double quotes)"
    )


# --- whole or nothing -------------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import json, sys, time
    from harness.fleet.db.store import connect, store_record
    engine = connect(sys.argv[1])
    record = json.loads(open(sys.argv[2]).read())
    i = 0
    while True:  # a new run each time: the parent kills this at some instant of some write
        record["start_utc"] = f"2026-02-01T00:00:{i % 60:02d}.{i:06d}+00:00"
        record["camera"]["serial"] = f"SN-{i}"
        t0 = time.perf_counter()
        store_record(engine, record)
        print(f"stored {time.perf_counter() - t0:.4f}", flush=True)
        i += 1
    """
)


def _big_record(n_tests: int = 10, n_meas: int = 60) -> dict[str, Any]:
    tests = [
        {
            "scenario": f"s{t}",
            "verdict": "pass",
            "requirements": ["BWC-PRE-01"],
            "measurements": [measurement(f"m{j}", 1.0, 0.0, 2.0, "BWC-PRE-01") for j in range(n_meas)],
            "clips": [{"path": f"evidence/s{t}/c.mp4", "sha256": "0" * 64}],
        }
        for t in range(n_tests)
    ]
    return {
        "phase": "kill",
        "status": "complete",
        "start_utc": "x",
        "rig": {"name": "bench-k"},
        "camera": {"vendor": "V", "model": "M", "serial": "S"},
        "tests": tests,
    }


def test_sigkill_mid_write_leaves_no_half_written_unit(db_url: str, tmp_path: Path) -> None:
    """A writer killed at arbitrary instants: every run in the database is whole (all its scenarios,
    measurements and evidence) or absent."""
    connect(db_url)  # schema first, so the kills land in record writes
    record_file = tmp_path / "record.json"
    record_file.write_text(json.dumps(_big_record()))
    kills = 0
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.9):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, db_url, str(record_file)], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        assert child.stdout is not None
        line = child.stdout.readline().split()  # one write committed; the next one has begun
        assert line[:1] == ["stored"], line
        time.sleep(fraction * float(line[1]))  # somewhere inside the next write
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        kills += 1
    engine = connect(db_url)
    with engine.connect() as conn:
        per_run = conn.execute(
            select(Run.id, func.count(MeasurementRow.id)).outerjoin(MeasurementRow).group_by(Run.id)
        ).all()
        scenarios = dict(
            conn.execute(select(ScenarioResult.run_id, func.count()).group_by(ScenarioResult.run_id)).all()
        )
        evidence = dict(conn.execute(select(Evidence.run_id, func.count()).group_by(Evidence.run_id)).all())
    assert kills == 5 and per_run, "no write had committed before the kills: the test proves nothing"
    for run_id, n in per_run:
        assert (n, scenarios.get(run_id), evidence.get(run_id)) == (600, 10, 10), f"run {run_id} half-written"


# --- bwc certify's hook -----------------------------------------------------------------------------

KILLED_UNIT = textwrap.dedent(
    """
    import argparse, os, signal, sys
    from pathlib import Path
    from synthetic_runs import two_scenarios
    from harness.cli.db import CertifyStore
    from harness.report.record import RunRecord
    out = Path(sys.argv[2])
    record = RunRecord(path=out / "record.json", phase="acceptance", start_utc="2026-03-01T08:00:00+00:00",
                       rig={"name": "bench-3", "kind": "bench", "run_id": 7},
                       camera={"vendor": "Acme", "model": "BWC-9", "serial": "SN-77", "firmware": "2.0"})
    store = CertifyStore(argparse.Namespace(db=sys.argv[1], no_db=False, lot="L9", bench=None), out)
    record.save()
    store._store(live=True)  # start of the unit
    for test in two_scenarios():
        record.add_test(test)
        store._store(live=True)
    os.kill(os.getpid(), signal.SIGKILL)  # mid-unit: the record was never closed
    """
)


def test_unit_killed_mid_run_keeps_what_was_stored_and_shows_interrupted(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "report")}
    child = subprocess.run([sys.executable, "-c", KILLED_UNIT, db_url, str(out)], cwd=REPO, env=env, timeout=120)
    assert child.returncode == -signal.SIGKILL
    engine = connect(db_url)
    key = run_key(json.loads((out / "record.json").read_text()))
    back = run_as_record(engine, key)
    assert back is not None and back["status"] == "running" and len(back["tests"]) == 2  # both scenarios stored
    assert back["lot"] == "L9" and back["bench"] == "bench-3"
    # the bench's next unit: as it starts, the killed run is over
    from harness.cli.db import CertifyStore

    following = RunRecord(
        path=tmp_path / "next" / "record.json",
        phase="acceptance",
        rig={"name": "bench-3", "kind": "bench", "run_id": 8},
        camera={"vendor": "Acme", "model": "BWC-9", "serial": "SN-78"},
    )
    following.save()
    hook = CertifyStore(argparse.Namespace(db=db_url, lot="L9", bench=None), following.path.parent)
    assert hook._store(live=True)
    back = run_as_record(engine, key)
    assert back is not None and (back["status"], back["verdict"]) == ("interrupted", "interrupted")
    assert import_run(engine, out).action == "unchanged"  # the bench uploading the folder later adds nothing


def test_store_keeps_records_written_by_the_harness(db_url: str, tmp_path: Path) -> None:
    """A record as RunRecord writes it (not a hand-made dict) stores and reads back."""
    record = RunRecord(path=tmp_path / "record.json", phase="p", camera={"vendor": "A", "model": "B", "serial": "C"})
    record.add_test(ScenarioEntry.model_validate(two_scenarios()[0]))
    record.finish()
    engine = connect(db_url)
    stored = store_record(engine, record.as_dict())
    back = run_as_record(engine, stored.run_key)
    assert back is not None and back["tests"] == _comparable(record.as_dict()["tests"])


@pytest.fixture(scope="module")
def certified_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One real emulated run of one scenario, stored by bwc certify in the default SQLite database."""
    base = tmp_path_factory.mktemp("certify")
    env = {k: v for k, v in os.environ.items() if k != "BWC_DB"}
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "certify", "--out", str(base / "run"), "--no-pdf", "--lot", "L-REAL",
         "--bench", "bench-e", str(REPO / "scenarios" / "power_draw.yaml")],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=600,
    )  # fmt: skip
    return base / "run", out


def test_certify_stores_its_run_and_the_record_round_trips(
    certified_run: tuple[Path, subprocess.CompletedProcess[str]], db_url: str
) -> None:
    run_dir, proc = certified_run
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "results database: run stored in sqlite:///" in proc.stdout
    record = json.loads((run_dir / "record.json").read_text())
    default = connect(f"sqlite:///{run_dir.parent / 'bwc-results.db'}")
    stored = run_as_record(default, run_key(record))
    assert stored is not None and (stored["lot"], stored["bench"], stored["status"]) == (
        "L-REAL",
        "bench-e",
        "complete",
    )
    engine = connect(db_url)  # the same folder uploaded to another database
    result = import_run(engine, run_dir, RunLabels(lot="L-REAL"))
    back = run_as_record(engine, result.run_key)
    assert back is not None and back["tests"] == _comparable(record["tests"]) == stored["tests"]
    assert result.measurements == sum(len(t["measurements"]) for t in record["tests"]) > 0
    assert import_run(engine, run_dir).action == "unchanged"


def test_import_refuses_a_run_whose_evidence_changed(
    certified_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """The database must not vouch for a folder whose files no longer match its manifest."""
    run_dir, _ = certified_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    engine = connect(f"sqlite:///{tmp_path / 'r.db'}")
    clip = next(p for p in sorted((copy / "evidence").rglob("*")) if p.is_file())
    clip.chmod(0o644)
    with clip.open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(RecordError, match=r"1 file\(s\) no longer match the evidence manifest \(first: changed "):
        import_run(engine, copy)
    with Session(engine) as session:
        assert session.scalars(select(Run)).all() == []
    stored = import_run(engine, copy, accept_changed=True)  # stored all the same, the change named with it
    with Session(engine) as session:
        (run,) = session.scalars(select(Run)).all()
        assert run.run_key == stored.run_key
        assert run.extra["evidence_changed"] == [f"changed {clip.relative_to(copy).as_posix()}"]


def test_certify_with_an_unreachable_database_says_so_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The hook as bwc certify drives it: stores after each scenario fail, the run goes on, one line."""
    from harness.cli.db import CertifyStore

    out = tmp_path / "run"
    record = RunRecord(path=out / "record.json", phase="p", camera={"vendor": "A", "model": "B", "serial": "C"})
    store = CertifyStore(argparse.Namespace(db="postgresql://bwc:pw@127.0.0.1:1/none", lot=None, bench=None), out)
    for test in two_scenarios():
        record.add_test(test)
        assert store._store(live=True) is False
    record.finish()
    store.finish()
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "postgresql://bwc:***@127.0.0.1:1/none" in lines[0] and "pw@" not in captured.err
    # the upload names the database, since bwc db import would not find it by itself (password masked)
    assert lines[0].endswith(
        f"the run folder is kept: upload it later with bwc db import {out} --db postgresql://bwc:***@127.0.0.1:1/none"
    )
    assert "run stored" not in captured.out and json.loads((out / "record.json").read_text())["status"] == "complete"


def test_non_finite_numbers_in_extra_fields_store_as_null(db_url: str) -> None:
    """record.json may hold NaN (Python's json writes it); PostgreSQL's JSON has no NaN: stored as null."""
    tests = two_scenarios()
    tests[0]["measurements"][0]["uncertainty"] = {"u": float("nan"), "k": float("inf")}
    record = {"phase": "p", "status": "complete", "start_utc": "t", "camera": {"serial": "N"}, "tests": tests}
    engine = connect(db_url)
    back = run_as_record(engine, store_record(engine, record).run_key)
    assert back is not None and back["tests"][0]["measurements"][0]["uncertainty"] == {"u": None, "k": None}
