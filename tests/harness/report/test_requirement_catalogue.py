"""The requirement catalogue: the ids the suite and the report rely on, and coverage of the suite."""

from __future__ import annotations

import pytest

from harness.core.config import ConfigError
from harness.core.paths import CATALOGUE, SUITE_DIR
from harness.plan.requirements import Catalogue, coverage
from harness.report.coverage import suite_coverage

EXPECTED_IDS = {
    "BWC-PRE-01",
    "BWC-PRE-02",
    "BWC-EVT-01",
    "BWC-ACT-01",
    "BWC-CONT-01",
    "BWC-CONT-02",
    "BWC-SEG-01",
    "BWC-STOP-01",
    "BWC-STOP-02",
    "BWC-CLK-01",
    "BWC-CLK-02",
    "BWC-AV-01",
    "BWC-AV-02",
    "BWC-AUD-01",
    "BWC-PWR-01",
    "BWC-PWR-02",
    "BWC-PWR-03",
    "BWC-PWR-04",
    "BWC-EVD-01",
}


def test_catalogue_holds_every_requirement_the_product_tests() -> None:
    catalogue = Catalogue.load(CATALOGUE)
    assert catalogue.ids >= EXPECTED_IDS
    for r in catalogue.requirements:
        assert r.statement and r.criterion and r.source, r.id
    assert catalogue.by_id["BWC-AV-01"].level == "target"  # EBU R37 is the target, BT.1359 the must
    assert catalogue.by_id["BWC-AV-02"].level == "must"
    assert "125" in catalogue.by_id["BWC-AV-02"].criterion and "60" in catalogue.by_id["BWC-AV-01"].criterion


def test_a_requirement_listed_twice_is_a_clear_error(tmp_path) -> None:
    text = CATALOGUE.read_text()
    first = text.index("  - id: BWC-PRE-01")
    block = text[first : text.index("  - id: BWC-PRE-02")]
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


# --------------------------------------------------------------------------- the catalogue's figures


def _edited(tmp_path, old: str, new: str):
    """A copy of the built-in catalogue with one line edited, as an agency would keep its own."""
    text = CATALOGUE.read_text()
    assert old in text, old
    path = tmp_path / "my-agency.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_the_catalogue_carries_the_figures_the_checks_judge_against() -> None:
    cat = Catalogue.load(CATALOGUE)
    assert cat.bounds("BWC-PWR-01", "shift", "h") == (12.0, None)
    assert cat.bounds("BWC-PWR-02", "lead", "min") == (5.0, 30.0)
    assert cat.figure("BWC-PWR-03", "end_loss", "s") == 2.0
    assert cat.bounds("BWC-AV-02", "offset", "ms") == (-45.0, 125.0)
    assert cat.figure("BWC-CLK-02", "drift", "s") / cat.figure("BWC-CLK-02", "shift", "s") * 1e6 == pytest.approx(
        46.296, abs=1e-3
    )
    assert cat.figure("BWC-PRE-01", "tolerance", "frames") == 1.0
    assert cat.limit("BWC-PRE-01", "buffer") is None  # left to the camera profile
    assert cat.bounds("BWC-PWR-02", "lead", "s") == (300.0, 1800.0)  # time units convert


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("lead: {low: 5, high: 30, unit: min}", "lead: {low: 5, high: 30, unit: minutes}", "limits.lead"),
        ("lead: {low: 5, high: 30, unit: min}", "lead: {low: 30, high: 5, unit: min}", "limits.lead"),
        ("  - id: BWC-PWR-02\n    group: Power\n", "  - group: Power\n", "requirements#17.id: Field required"),
    ],
    ids=["unknown-unit", "low-above-high", "missing-id"],
)
def test_a_bad_figure_is_one_clear_error_naming_file_and_field(tmp_path, old, new, field) -> None:
    bad = _edited(tmp_path, old, new)
    with pytest.raises(ConfigError) as info:
        Catalogue.load(bad)
    message = str(info.value)
    assert str(bad) in message and field in message, message
    assert "\n" not in message


def test_a_figure_a_check_needs_but_the_catalogue_lacks_is_named(tmp_path) -> None:
    cat = Catalogue.load(_edited(tmp_path, "      end_loss: {value: 2, unit: s}\n", ""))
    with pytest.raises(ValueError, match=r"my-agency.yaml: requirement BWC-PWR-03 gives no limits.end_loss"):
        cat.figure("BWC-PWR-03", "end_loss", "s")
