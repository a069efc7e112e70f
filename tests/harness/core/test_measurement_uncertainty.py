"""Expanded uncertainty on a measurement and the decision rule that turns it into an outcome."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.core.measurement import INCONCLUSIVE, BudgetItem, Declared, expanded

LAG = Declared("stop_lag_s", "s", "BWC-STOP-01", "catalogue", ("event",))
HIGH = 1.0
U = 0.04


def made(value: float, rule: str) -> object:
    m = LAG(value, 0.0, HIGH, event=1)
    return replace(m, uncertainty=U, budget=(BudgetItem("present time (software log)", U / 2),), decision_rule=rule)


@pytest.mark.parametrize(
    ("value", "guarded", "simple"),
    [
        (HIGH - U / 2, INCONCLUSIVE, "pass"),  # the interval straddles the limit
        (HIGH - 2 * U, "pass", "pass"),
        (HIGH + U / 2, INCONCLUSIVE, "fail"),
        (HIGH + 2 * U, "fail", "fail"),
        (0.0 + U / 2, INCONCLUSIVE, "pass"),  # the low limit too
    ],
)
def test_guarded_acceptance_calls_a_straddling_value_inconclusive(value: float, guarded: str, simple: str) -> None:
    assert made(value, "guarded").outcome == guarded
    assert made(value, "simple").outcome == simple


def test_inconclusive_is_never_a_pass_and_is_recorded_with_its_budget() -> None:
    m = made(HIGH - U / 2, "guarded")
    assert m.outcome != "pass"
    rec = m.record()
    assert rec["outcome"] == INCONCLUSIVE
    assert rec["uncertainty"] == U and rec["coverage_k"] == 2.0 and rec["decision_rule"] == "guarded"
    assert rec["budget"] == [{"source": "present time (software log)", "u": U / 2, "note": ""}]
    assert "+/- 0.04" in str(m)


def test_a_measurement_without_uncertainty_records_no_uncertainty_fields() -> None:
    rec = LAG(0.5, 0.0, HIGH, event=1).record()
    assert "uncertainty" not in rec and "budget" not in rec
    assert rec["decision_rule"] == "simple"


def test_expanded_uncertainty_is_k_times_the_root_sum_of_squares() -> None:
    assert expanded([BudgetItem("a", 3.0), BudgetItem("b", 4.0)]) == pytest.approx(10.0)
