"""The fleet report from a results database filled with unit records of a phase."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from harness.fleet.acceptance import LotInfo, register_lot
from harness.fleet.db.store import RunLabels, connect, store_record
from harness.fleet.fleet_report import context, gather, wilson, write_fleet_report


def record(
    serial: str, start: str, verdict: str, preroll: float, runtime: float, phase: str = "Phase 2"
) -> dict[str, Any]:
    """A unit's run record as bwc certify writes it (two scenarios, the measurements the report plots)."""
    pre_ok = 119.9 <= preroll <= 120.1
    return {
        "schema_version": 1,
        "phase": phase,
        "status": "complete",
        "start_utc": start,
        "end_utc": start,
        "rig": {"name": "bench-a", "kind": "emulated", "run_id": 1},
        "camera": {"vendor": "Acme", "model": "BC-1", "serial": serial, "firmware": "1.0"},
        "faults": [],
        "tests": [
            {
                "scenario": "preroll-full-buffer",
                "title": "Pre-roll",
                "requirements": ["BWC-PRE-01"],
                "verdict": "pass" if pre_ok else "fail",
                "measurements": [
                    {
                        "name": "preroll_s[event 1]",
                        "quantity": "preroll_s",
                        "value": preroll,
                        "unit": "s",
                        "low": 119.9,
                        "high": 120.1,
                        "outcome": "pass" if pre_ok else "fail",
                        "requirement": "BWC-PRE-01",
                    },
                ],
                "clips": [],
            },
            {
                "scenario": "power-draw",
                "title": "Draw",
                "requirements": ["BWC-PWR-01"],
                "verdict": verdict if not pre_ok else "pass" if verdict == "pass" else verdict,
                "measurements": [
                    {
                        "name": "runtime_estimate_h",
                        "quantity": "runtime_estimate_h",
                        "value": runtime,
                        "unit": "h",
                        "low": 13.0,
                        "high": None,
                        "outcome": "pass" if runtime >= 13 else "fail",
                        "requirement": "BWC-PWR-01",
                    },
                ],
                "clips": [],
            },
        ],
    }


@pytest.fixture
def filled(tmp_path: Path):
    engine = connect(f"sqlite:///{tmp_path / 'r.db'}")
    register_lot(engine, LotInfo("LOT-A", "BC-1", 50, "1.0", "II"))
    rows = [
        ("U1", "2026-01-01T08:00:00", "pass", 120.0, 13.5, "LOT-A", "bench-1"),
        ("U2", "2026-01-01T08:10:00", "pass", 120.05, 13.8, "LOT-A", "bench-2"),
        ("U3", "2026-01-01T08:20:00", "fail", 115.0, 13.4, "LOT-A", "bench-1"),  # short buffer
        ("U4", "2026-01-01T08:30:00", "fail", 120.0, 9.0, "LOT-B", "bench-2"),  # short runtime
        ("U3", "2026-01-01T09:00:00", "fail", 115.1, 13.4, "LOT-A", "bench-2"),  # re-tested: fails again
    ]
    for serial, start, verdict, pre, rt, lot, bench in rows:
        rec = record(serial, start, verdict, pre, rt)
        store_record(engine, rec, labels=RunLabels(lot=lot, bench=bench, operator="alice"))
    other = record("U9", "2026-01-01T10:00:00", "pass", 120.0, 14.0, phase="Phase 1")
    store_record(engine, other, labels=RunLabels(lot="LOT-A", bench="bench-1"))
    interrupted = record("U5", "2026-01-01T11:00:00", "pass", 120.0, 14.0)
    interrupted["status"], interrupted["tests"] = "running", []
    store_record(engine, interrupted, labels=RunLabels(lot="LOT-A", bench="bench-1"))  # a station that died
    return engine


def test_wilson_interval_matches_published_values() -> None:
    # Wilson (1927) / Newcombe (1998) table values at 95 %
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=5e-5)
    assert wilson(1, 2) == pytest.approx((0.0945, 0.9055), abs=5e-5)
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=5e-5)
    assert wilson(0, 0) == (0.0, 1.0)


def test_the_phase_figures(filled) -> None:
    register_lot(filled, LotInfo("LOT-C", "BC-1", 50, "1.0", "II"))  # registered, no unit tested yet
    data = gather(filled, "Phase 2")
    ctx = context(data)
    assert ctx["units"] == 5 and ctx["decided"] == 4 and ctx["passed"] == 2  # U5 interrupted: to re-test
    assert [u.result.serial for u in ctx["retest"]] == ["U5"]
    assert ctx["low"] == pytest.approx(wilson(2, 4)[0])
    by_lot = {r["label"]: r for r in ctx["by_lot"]}
    assert (by_lot["LOT-A"]["units"], by_lot["LOT-A"]["failed"], by_lot["LOT-A"]["attempts"]) == (4, 1, 5)
    assert by_lot["LOT-B"]["failed"] == 1
    assert {r["label"] for r in ctx["by_bench"]} == {"bench-1", "bench-2"}
    assert dict(ctx["failures"]) == {"BWC-PRE-01": ["U3"], "BWC-PWR-01": ["U4"]}
    pre = sorted(v for v, _ in data.values["preroll_s"])
    assert pre == pytest.approx([-5.0, 0.0, 0.0, 0.05])  # U3's first failure decides it; error from the limits' middle
    lots = {r["lot"]: r for r in data.lots}
    # 50 units, level II: code letter D; AQL 1.0 arrows to n=13, Ac 0, Re 1; U1, U2, U3 have a result
    assert lots["LOT-A"]["sample"] == 13 and lots["LOT-A"]["still_to_test"] == 10
    assert (lots["LOT-C"]["tested"], lots["LOT-C"]["sample"], lots["LOT-C"]["still_to_test"]) == (0, 13, 13)
    assert lots["LOT-A"]["decision"].startswith("rejected")
    assert lots["LOT-B"]["sample"] is None and "not registered" in lots["LOT-B"]["decision"]


def test_report_files(filled, tmp_path: Path) -> None:
    html_path, pdf_path, note = write_fleet_report(filled, "Phase 2", tmp_path / "out")
    html = html_path.read_text()
    assert 'data-passed="2" data-decided="4"' in html
    assert "Wilson score interval" in html and "BWC-PRE-01" in html and "U3" in html
    assert len(re.findall(r'<img alt="[a-z_]+ distribution" src="data:image/png;base64,', html)) == 2
    assert "http://" not in html and "https://" not in html  # self-contained
    if note is None:
        assert pdf_path is not None and pdf_path.read_bytes()[:5] == b"%PDF-"


def test_a_phase_without_units(filled, tmp_path: Path) -> None:
    html_path, _, _ = write_fleet_report(filled, "Phase 9", tmp_path / "empty", pdf=False)
    assert 'data-decided="0"' in html_path.read_text()
