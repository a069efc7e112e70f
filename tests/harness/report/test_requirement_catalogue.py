"""The requirement catalogue: the ids the suite and the report rely on, and coverage of the suite."""

from __future__ import annotations

import pytest

from harness.core.config import ConfigError
from harness.core.paths import CATALOGUE, SUITE_DIR
from harness.report.coverage import suite_coverage
from harness.plan.requirements import Catalogue, coverage

EXPECTED_IDS = {
    "BWC-PRE-01", "BWC-PRE-02", "BWC-EVT-01", "BWC-ACT-01", "BWC-CONT-01", "BWC-CONT-02", "BWC-SEG-01",
    "BWC-STOP-01", "BWC-STOP-02", "BWC-CLK-01", "BWC-CLK-02", "BWC-AV-01", "BWC-AV-02", "BWC-AUD-01",
    "BWC-PWR-01", "BWC-PWR-02", "BWC-PWR-03", "BWC-PWR-04", "BWC-EVD-01",
}


def test_catalogue_holds_every_requirement_the_product_tests() -> None:
    catalogue = Catalogue.load(CATALOGUE)
    assert EXPECTED_IDS <= catalogue.ids
    for r in catalogue.requirements:
        assert r.statement and r.criterion and r.source, r.id
    assert catalogue.by_id["BWC-AV-01"].level == "target"  # EBU R37 is the target, BT.1359 the must
    assert catalogue.by_id["BWC-AV-02"].level == "must"
    assert "125" in catalogue.by_id["BWC-AV-02"].criterion and "60" in catalogue.by_id["BWC-AV-01"].criterion


def test_a_requirement_listed_twice_is_a_clear_error(tmp_path) -> None:
    text = CATALOGUE.read_text()
    first = text.index("  - id: BWC-PRE-01")
    block = text[first:text.index("  - id: BWC-PRE-02")]
    bad = tmp_path / "requirements.yaml"
    bad.write_text(text + block)
    with pytest.raises(ConfigError, match=r"listed twice: \['BWC-PRE-01'\]"):
        Catalogue.load(bad)


def test_every_built_in_scenario_names_only_catalogued_ids() -> None:
    cov = suite_coverage(SUITE_DIR, Catalogue.load(CATALOGUE))
    assert cov.ok, (cov.unknown, cov.errors)
    assert "preroll-full-buffer" in cov.by_requirement["BWC-PRE-01"]


def test_coverage_names_unknown_ids_and_uncovered_requirements() -> None:
    catalogue = Catalogue.load(CATALOGUE)
    cov = coverage(catalogue, {"a": ["BWC-PRE-01", "BWC-XYZ-01"], "b": ["BWC-PRE-01"]}, {"c.yaml": "line 3: bad"})
    assert cov.by_requirement["BWC-PRE-01"] == ["a", "b"]
    assert cov.unknown == {"a": ["BWC-XYZ-01"]}
    assert "BWC-PRE-02" in cov.uncovered and "BWC-PRE-01" not in cov.uncovered
    assert not cov.ok
