"""Figures for the results database: how long storing one unit's results takes.

One unit's results are a record like the built-in suite's on the emulated camera: 14 scenarios,
173 measurements with limits and notes, 14 evidence hashes. Each write stores a new unit's run in
one transaction (unit, run, scenario results, measurements, evidence), as ``bwc certify`` does at
the end of a run. Prints the median and p99 in ms on SQLite (a file, as a bench keeps it) and on
PostgreSQL (a throwaway local server started with initdb/pg_ctl, or ``--pg URL``), and the
re-import of a stored run (idempotent: nothing written).

    .venv/bin/python benchmarks/bench_db.py [--writes 200] [--pg postgresql://user@host/db]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.fleet.db.store import RunLabels, connect, store_record

REPO = Path(__file__).resolve().parents[1]
# the measurements per scenario of a built-in suite run on the emulated camera (173 in all)
PER_SCENARIO = [14, 12, 10, 16, 12, 14, 8, 9, 18, 13, 15, 12, 10, 10]


def unit_record(i: int) -> dict[str, Any]:
    """One unit's run record, unit ``i`` (a new run key each time)."""
    tests = []
    for s, n in enumerate(PER_SCENARIO):
        tests.append(
            {
                "scenario": f"scenario-{s}",
                "title": f"Scenario {s}",
                "requirements": ["BWC-PRE-01", "BWC-EVT-01", "BWC-EVD-01"],
                "verdict": "pass",
                "measurements": [
                    {
                        "name": f"quantity_{m}[event 1]",
                        "value": 120.0 + m * 0.001,
                        "unit": "s",
                        "low": 119.9667,
                        "high": 120.0333,
                        "outcome": "pass",
                        "requirement": "BWC-PRE-01",
                        "quantity": f"quantity_{m}",
                        "dimensions": {"event": 1},
                        "note": "pre-roll from the first frame's time code to the press",
                        "kind": "limit",
                        "limits_from": "catalogue",
                    }
                    for m in range(n)
                ],
                "clips": [{"path": f"/runs/unit-{i}/evidence/scenario-{s}/CAM_0001.MP4", "sha256": f"{i:064x}"}],
                "error": None,
                "duration_s": 74.0,
            }
        )
    return {
        "schema_version": "1.0",
        "phase": "Phase 2",
        "status": "complete",
        "start_utc": f"2026-05-01T08:00:00.{i:06d}+00:00",
        "end_utc": "2026-05-01T08:40:00+00:00",
        "rig": {"name": "bench-1", "clock": "RealClock", "kind": "bench", "run_id": i},
        "camera": {"vendor": "Acme", "model": "BWC-9", "serial": f"SN{i:07d}", "firmware": "2.0.1"},
        "instruments": {"power": "KEITHLEY INSTRUMENTS,MODEL 2281S-20-6,4466001,02.03.0008"},
        "faults": [],
        "catalogue": {"path": "scenarios/requirements.yaml", "sha256": "ab" * 32},
        "harness": {"version": "0.1.0"},
        "tests": tests,
    }


def measure(url: str, writes: int) -> tuple[list[float], list[float]]:
    """Milliseconds per write of a new unit, and per re-import of a stored one."""
    engine = connect(url)
    labels = RunLabels(lot="LOT-1", operator="bench operator", bench="bench-1")
    for i in range(5):  # warm the connection pool and the statement caches
        store_record(engine, unit_record(10_000_000 + i), labels=labels)
    new, again = [], []
    for i in range(writes):
        record = unit_record(i)
        t0 = time.perf_counter()
        store_record(engine, record, labels=labels)
        new.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        assert store_record(engine, record, labels=labels).action == "unchanged"
        again.append((time.perf_counter() - t0) * 1000)
    engine.dispose()
    return new, again


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def report(kind: str, new: list[float], again: list[float]) -> None:
    print(
        f"{kind:<10} one unit's results ({sum(PER_SCENARIO)} measurements): median {statistics.median(new):6.1f} ms, "
        f"p99 {p99(new):6.1f} ms; re-import of a stored run: median {statistics.median(again):5.1f} ms, "
        f"p99 {p99(again):5.1f} ms ({len(new)} writes)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--pg", help="PostgreSQL URL to use instead of a throwaway local server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-db-") as tmp:
        report("SQLite", *measure(f"sqlite:///{Path(tmp) / 'bwc-results.db'}", args.writes))
    if args.pg:
        report("PostgreSQL", *measure(args.pg, args.writes))
        return 0
    sys.path.insert(0, str(REPO / "tests" / "harness" / "fleet"))
    from pg_server import PgServer

    server = PgServer()
    why = server.start()
    try:
        if why is not None:
            print(f"PostgreSQL: not measured ({why})")
            return 0
        report("PostgreSQL", *measure(server.create_database(), args.writes))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
