"""`--compare`: what changed since an earlier phase, measured against each measurement's band."""

from __future__ import annotations

import pytest
from synthetic_runs import measurement, two_scenarios

from harness.core.paths import CATALOGUE
from harness.plan.requirements import Catalogue
from harness.report.compare import compare, moved


def _record(tests: list[dict], phase: str) -> dict:
    return {"phase": phase, "status": "complete", "camera": {"model": "BWC-9", "firmware": phase}, "tests": tests}


@pytest.mark.parametrize(
    ("old", "new", "low", "high", "expected"),
    [
        (120.0, 120.004, 119.9667, 120.0333, False),  # 4 ms inside a 67 ms band: quiet
        (120.0, 120.01, 119.9667, 120.0333, True),  # 10 ms: more than a tenth of the band
        (0, 1, 0, 0, True),  # zero-width band: any change
        (0, 0, 0, 0, False),
        (10.0, 10.5, None, 90.0, False),  # one-sided: 5 % of the old value
        (10.0, 12.0, None, 90.0, True),
    ],
)
def test_moved_is_judged_against_the_tolerance_band(old, new, low, high, expected) -> None:
    assert moved(old, new, low, high) is expected


def test_compare_lists_new_failures_fixed_moved_and_vanished_measurements() -> None:
    old_tests = two_scenarios(join_missing=2)
    old_tests[0]["measurements"].append(measurement("gone_s", 1.0, 0, 2, "BWC-PRE-01"))
    new_tests = two_scenarios(preroll=119.9)  # pre-roll breaks, the join is repaired
    new_tests[1]["measurements"][0] = measurement("stop_lag_s[event 1]", 0.5, -0.0333, 1.0, "BWC-STOP-01")
    new_tests[1]["measurements"].append(measurement("stop_files", 1, 1, 1, "BWC-STOP-02", "files"))
    result = compare(_record(old_tests, "Phase 1"), _record(new_tests, "Phase 2"), Catalogue.load(CATALOGUE))
    assert [c.name for c in result.new_failures] == ["preroll_s[event 1]"]
    assert result.new_failures[0].delta == pytest.approx(-0.1)
    assert [c.name for c in result.fixed] == ["join_missing_frames[event 1]"]
    assert [c.name for c in result.moved] == ["stop_lag_s[event 1]"]
    assert [c.name for c in result.appeared] == ["stop_files"]
    assert [c.name for c in result.gone] == ["gone_s"]
    assert ("BWC-PRE-01", "pass", "fail") in result.requirements
    assert ("BWC-CONT-01", "fail", "pass") in result.requirements
    assert ("BWC-STOP-02", "inconclusive", "pass") in result.requirements
    assert result.old_label.startswith("Phase 1") and not result.quiet


def test_comparing_a_run_with_itself_is_quiet() -> None:
    record = _record(two_scenarios(), "Phase 1")
    assert compare(record, record, Catalogue.load(CATALOGUE)).quiet
