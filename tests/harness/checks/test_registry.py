"""The check registry implements exactly the checks scenario files may name."""

from __future__ import annotations

from harness.checks.registry import CHECKS
from harness.plan.scenario import CHECK_NAMES


def test_every_name_a_scenario_may_use_has_one_check_and_no_check_is_unreachable() -> None:
    assert sorted(CHECKS) == sorted(CHECK_NAMES)
    assert len(set(CHECK_NAMES)) == len(CHECK_NAMES)
