"""`bwc lot decide`: lots accepted or rejected from their units in the results database, with the
ISO 2859-1 clause 9 switching rules walked across a product's lots, on SQLite and PostgreSQL.

Worked examples use lots of 8 units at AQL 6.5, level II (code letter A): published plans normal
A 6.5 = n 2, Ac 0, Re 1 (Table II-A); tightened A 6.5 is an arrow down to B = n 3, Ac 0, Re 1
(Table II-B); reduced A 6.5 = n 2, Ac 0, Re 1 (Table II-C).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from sqlalchemy import Engine

from harness.cli import main
from harness.fleet.acceptance import LotError, LotInfo, decide_lot, register_lot, report_lines
from harness.fleet.db.store import RunLabels, connect, store_record

_clock = itertools.count()


def unit_run(engine: Engine, lot: str, serial: str, verdict: str = "pass", status: str = "complete") -> None:
    """One unit's run: a scenario whose one measurement passes or fails (or a bench error)."""
    i = next(_clock)
    value = 120.0 if verdict != "fail" else 118.0
    test = {
        "scenario": "preroll-full-buffer",
        "verdict": verdict,
        "requirements": ["BWC-PRE-01"],
        "measurements": []
        if verdict == "error"
        else [
            {
                "name": "preroll_s[event 1]",
                "value": value,
                "unit": "s",
                "low": 119.9667,
                "high": 120.0333,
                "outcome": "pass" if verdict == "pass" else "fail",
                "requirement": "BWC-PRE-01",
            }
        ],
        "error": "ConnectionError: rig controller did not answer" if verdict == "error" else None,
    }
    record = {
        "phase": "acceptance",
        "status": status,
        "start_utc": f"2026-04-{1 + i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00+00:00",
        "rig": {"name": "bench-1", "kind": "bench", "run_id": i},
        "camera": {"vendor": "Acme", "model": "BWC-9", "serial": serial, "firmware": "2.0"},
        "tests": [test],
    }
    store_record(engine, record, labels=RunLabels(lot=lot))


def lot_of(engine: Engine, name: str, fails: int, units: int, product: str = "acme", **kw: Any) -> None:
    register_lot(engine, LotInfo(name, product, 8, "6.5", "II", **kw))
    for k in range(units):
        unit_run(engine, name, f"{name}-{k}", "fail" if k < fails else "pass")


@pytest.fixture
def engine(db_url: str) -> Engine:
    return connect(db_url)


def test_normal_to_tightened_and_back(engine: Engine) -> None:
    """Lots 2 and 4 rejected: 2 of 4 consecutive lots -> tightened (9.3.1); five accepted on
    tightened -> normal (9.3.2)."""
    lot_of(engine, "L1", 0, 2)
    lot_of(engine, "L2", 1, 2)
    lot_of(engine, "L3", 0, 2)
    r = decide_lot(engine, "L3")
    assert r.outcome and r.outcome.decision and r.outcome.decision.accepted
    assert (r.outcome.plan.severity, r.outcome.next_state and r.outcome.next_state.severity) == ("normal", "normal")
    lot_of(engine, "L4", 1, 2)
    r = decide_lot(engine, "L4")
    assert r.outcome and r.outcome.decision and not r.outcome.decision.accepted
    assert r.outcome.next_state is not None and r.outcome.next_state.severity == "tightened"
    assert [h.lot.name for h in r.history] == ["L1", "L2", "L3"]
    for k in range(5, 10):  # tightened: n 3 (code letter B), Ac 0
        lot_of(engine, f"L{k}", 0, 3)
    r = decide_lot(engine, "L5")
    assert r.outcome is not None
    plan = r.outcome.plan
    assert (plan.severity, plan.code_letter, plan.units, plan.ac, plan.re) == ("tightened", "B", 3, 0, 1)
    r = decide_lot(engine, "L9")
    assert r.outcome is not None and r.outcome.plan.severity == "tightened"
    assert r.outcome.next_state is not None and r.outcome.next_state.severity == "normal"
    assert "5 consecutive lots accepted on tightened inspection" in r.outcome.next_state.reason
    lot_of(engine, "L10", 0, 2)
    r = decide_lot(engine, "L10")
    assert r.outcome is not None and (r.outcome.plan.severity, r.outcome.plan.units) == ("normal", 2)
    text = "\n".join(report_lines(r))
    assert "L4: normal, n=2 Ac 0 Re 1, 1 nonconforming, rejected -> 2 of 5" in text


def test_switching_score_to_reduced_and_back(engine: Engine) -> None:
    """Ac 0: 2 points per accepted lot (9.3.3.2); 15 lots give 30, and with steady production and
    the authority's approval the next lot is on reduced inspection; a reduced lot not accepted
    returns to normal (9.3.4)."""
    for k in range(15):
        lot_of(engine, f"R{k}", 0, 2, product="r", reduced_approved=True)
    r = decide_lot(engine, "R14")
    assert r.outcome is not None and r.outcome.next_state is not None
    assert r.outcome.next_state.severity == "reduced" and "switching score 30" in r.outcome.next_state.reason
    assert r.history[-1].next_state is not None and r.history[-1].next_state.score == 28
    lot_of(engine, "R15", 1, 2, product="r", reduced_approved=True)
    r = decide_lot(engine, "R15")
    assert r.outcome is not None and r.outcome.plan.severity == "reduced"
    assert r.outcome.decision is not None and not r.outcome.decision.accepted
    assert r.outcome.next_state is not None and r.outcome.next_state.severity == "normal"


def test_without_approval_the_score_does_not_reduce(engine: Engine) -> None:
    for k in range(16):
        lot_of(engine, f"N{k}", 0, 2, product="n")
    r = decide_lot(engine, "N15")
    assert r.outcome is not None and r.outcome.plan.severity == "normal"
    assert r.outcome.next_state is not None and r.outcome.next_state.score == 32


def test_five_rejected_on_tightened_discontinue_inspection(engine: Engine) -> None:
    """Clause 9.4: the fifth lot not accepted on tightened inspection discontinues inspection; no
    later lot of the product is decided until the supplier has acted."""
    for k in range(7):  # 2 rejected on normal, then 5 rejected on tightened (each at its first unit)
        lot_of(engine, f"T{k}", 1, 1, product="t")
    r = decide_lot(engine, "T6")
    assert r.outcome is not None and r.outcome.plan.severity == "tightened"
    assert r.outcome.next_state is not None and r.outcome.next_state.discontinued
    lot_of(engine, "T7", 0, 3, product="t")
    r = decide_lot(engine, "T7")
    assert r.outcome is None and r.discontinued and r.blocked_by is not None
    assert "discontinued after lot T6" in r.blocked_by and "clause 9.4" in r.blocked_by
    assert "no decision: inspection was discontinued" in "\n".join(report_lines(r))
    # clause 9.4: once the supplier has acted, the next lot registered so resumes on tightened inspection
    lot_of(engine, "T8", 0, 3, product="t", corrective_action="new sensor supplier, firmware 2.1")
    r = decide_lot(engine, "T8")
    assert r.outcome is not None and r.outcome.plan.severity == "tightened"
    assert r.outcome.severity_reason == "resumed on tightened inspection after corrective action"
    assert r.outcome.decision is not None and r.outcome.decision.accepted
    text = "\n".join(report_lines(r))
    assert "registered after the supplier's corrective action: new sensor supplier, firmware 2.1" in text
    assert decide_lot(engine, "T7").discontinued  # the lot before the action stays undecided
    lot_of(engine, "T9", 0, 3, product="t", corrective_action="a second note")
    assert "a second note (no effect: inspection was not discontinued)" in "\n".join(
        report_lines(decide_lot(engine, "T9"))
    )


def test_open_lot_retests_and_units_beyond_the_sample(engine: Engine) -> None:
    register_lot(engine, LotInfo("O1", "o", 8, "6.5", "II"))
    unit_run(engine, "O1", "A-1", "error")  # a bench error: to re-test
    r = decide_lot(engine, "O1")
    assert r.outcome is not None and r.outcome.decision is None and r.outcome.untested == 2
    unit_run(engine, "O1", "A-1", "pass")
    unit_run(engine, "O1", "A-2", "pass")
    unit_run(engine, "O1", "A-3", "fail")  # a third unit: beyond the sample of 2
    r = decide_lot(engine, "O1")
    o = r.outcome
    assert o is not None and o.decision is not None and o.decision.accepted
    text = "\n".join(report_lines(r))
    assert "1 unit(s) tested beyond the sample are not counted for the lot; failed, to be set aside: A-3" in text
    assert "decision: ACCEPTED: 0 nonconforming <= Ac 0 in 2 sample units" in text


def test_a_failure_stands_after_a_passing_retest(engine: Engine) -> None:
    """The sample counts what its units showed: a unit that failed and then passed a re-test is
    nonconforming, and the reason shown is its failure's."""
    register_lot(engine, LotInfo("R1", "r", 8, "6.5", "II"))
    unit_run(engine, "R1", "R-1", "pass")
    unit_run(engine, "R1", "R-2", "fail")
    unit_run(engine, "R1", "R-2", "pass")  # the re-test passes
    r = decide_lot(engine, "R1")
    o = r.outcome
    assert o is not None and o.decision is not None and not o.decision.accepted
    assert [u.serial for u in o.nonconforming] == ["R-2"]
    text = "\n".join(report_lines(r))
    assert "passed a re-test after failing, counted nonconforming (the failure stands): R-2" in text
    assert "nonconforming: " in text and "BWC-PRE-01 preroll_s[event 1]" in text
    assert "decision: REJECTED: 1 nonconforming >= Re 1" in text


def test_reject_as_soon_as_re_is_reached_and_an_open_lot_blocks_the_next(engine: Engine) -> None:
    register_lot(engine, LotInfo("B1", "b", 8, "6.5", "II"))
    register_lot(engine, LotInfo("B2", "b", 8, "6.5", "II"))
    unit_run(engine, "B2", "B2-0", "pass")
    r = decide_lot(engine, "B2")
    assert r.outcome is None and r.blocked_by is not None and "lot B1" in r.blocked_by and "still open" in r.blocked_by
    unit_run(engine, "B1", "B1-0", "fail")  # Re 1 reached with 1 of 2 units tested
    r = decide_lot(engine, "B1")
    assert r.outcome is not None and r.outcome.decision is not None and not r.outcome.decision.accepted
    assert "REJECTED: 1 nonconforming >= Re 1 after 1 of 2 sample units" in "\n".join(report_lines(r))
    assert "BWC-PRE-01 preroll_s[event 1]" in "\n".join(report_lines(r))


def test_register_lot_checks_its_plan(engine: Engine) -> None:
    assert register_lot(engine, LotInfo("X", "", 1200, "1", "ii")) == "added"
    assert register_lot(engine, LotInfo("X", "", 1200, "1.0", "II")) == "unchanged"
    with pytest.raises(LotError, match="lot X is already registered as size 1200, AQL 1.0, level II"):
        register_lot(engine, LotInfo("X", "", 1300, "1.0", "II"))
    with pytest.raises(LotError, match=r"registered as size 1200, AQL 1.0, level II$"):  # it differs by its note
        register_lot(engine, LotInfo("X", "", 1200, "1.0", "II", corrective_action="new firmware"))
    register_lot(engine, LotInfo("X2", "", 1200, "1.0", "II", False, True, "new firmware"))
    with pytest.raises(LotError, match="irregular production, reduced inspection approved, after corrective action"):
        register_lot(engine, LotInfo("X2", "", 1200, "1.0", "II"))
    with pytest.raises(LotError, match="AQL 1.1 is not one of the standard's values"):
        register_lot(engine, LotInfo("Y", "", 1200, "1.1", "II"))
    with pytest.raises(LotError, match="lot Z is not registered"):
        decide_lot(engine, "Z")


def _bwc(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command line in this process (as ``bwc`` runs it): exit code, stdout, stderr."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_lot_add_and_decide(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = connect(db_url)
    assert _bwc(capsys, "lot", "add", "C1", "--size", "8", "--aql", "6.5", "--db", db_url)[0] == 0
    for k in range(2):
        unit_run(engine, "C1", f"C1-{k}")
    code, out, err = _bwc(capsys, "lot", "decide", "C1", "--db", db_url)
    assert code == 0, err
    assert "plan: code letter A, sample 2 units, Ac 0, Re 1" in out
    assert "decision: ACCEPTED" in out
    data = json.loads(_bwc(capsys, "lot", "decide", "C1", "--db", db_url, "--json")[1])
    assert data["decision"]["decision"] == "accepted" and data["decision"]["plan"]["sample_size"] == 2
    assert _bwc(capsys, "lot", "add", "C2", "--size", "8", "--aql", "6.5", "--db", db_url)[0] == 0
    unit_run(engine, "C2", "C2-0", "fail")
    assert _bwc(capsys, "lot", "decide", "C2", "--db", db_url)[0] == 1
    assert _bwc(capsys, "lot", "add", "C3", "--size", "8", "--aql", "6.5", "--db", db_url)[0] == 0
    assert _bwc(capsys, "lot", "decide", "C3", "--db", db_url)[0] == 3  # no unit tested yet
    code, _, err = _bwc(capsys, "lot", "add", "C4", "--size", "8", "--aql", "7", "--db", db_url)
    assert code == 2 and err.startswith("bwc lot add: lot C4: AQL 7 is not one of")
    code, _, err = _bwc(capsys, "lot", "decide", "C9", "--db", db_url)
    assert code == 2 and err.strip() == "bwc lot decide: lot C9 is not registered (bwc lot add C9 --size N --aql A)"


def test_cli_db_runs_and_upgrade(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = connect(db_url)
    unit_run(engine, "D1", "D1-0", "fail")
    code, out, _ = _bwc(capsys, "db", "runs", "--db", db_url, "--lot", "D1")
    assert code == 0 and "D1-0" in out and "fail" in out
    code, out, _ = _bwc(capsys, "db", "upgrade", "--db", db_url)
    assert code == 0 and out.strip().endswith("schema at revision 0002")


def test_a_database_of_the_first_schema_is_upgraded_with_its_lots(db_url: str) -> None:
    """A shared database a bench made at revision 0001 keeps its lots when a newer bench connects."""
    from alembic import command
    from sqlalchemy import create_engine, inspect, text

    from harness.fleet.db.store import _alembic_config

    url = db_url.replace("postgresql://", "postgresql+psycopg://", 1)
    old = create_engine(url)
    with old.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
        conn.execute(
            text(
                "INSERT INTO lot (name, product, size, aql, level, production_steady, reduced_approved, registered_utc)"
                " VALUES ('OLD-1', 'p', 8, '6.5', 'II', true, false, '2026-01-01T00:00:00+00:00')"
            )
        )
    assert "corrective_action" not in {c["name"] for c in inspect(old).get_columns("lot")}
    old.dispose()
    engine = connect(db_url)
    assert "corrective_action" in {c["name"] for c in inspect(engine).get_columns("lot")}
    assert register_lot(engine, LotInfo("OLD-1", "p", 8, "6.5", "II")) == "unchanged"


def test_a_database_newer_than_the_harness_is_one_line(db_url: str) -> None:
    """A bench whose harness is older than the shared database's schema says so, and changes nothing."""
    from sqlalchemy import text

    from harness.fleet.db.store import DatabaseError

    engine = connect(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(
        DatabaseError, match=r"schema is at revision 0099, newer than this harness knows \(up to 0002\)"
    ):
        connect(db_url)
