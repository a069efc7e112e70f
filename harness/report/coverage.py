"""Requirement coverage of a scenario folder: which scenarios claim which requirement ids.

Read with the same rule as the pytest plugin (every YAML file directly in the folder except the
catalogue), so `bwc requirements` judges exactly the suite that `bwc certify` would run.
"""

from __future__ import annotations

from pathlib import Path

from harness.core.config import ConfigError
from harness.core.paths import CATALOGUE
from harness.plan.requirements import Catalogue, Coverage, coverage
from harness.plan.scenario import Scenario


def scenario_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml") and p.name != CATALOGUE.name
    )


def suite_coverage(folder: Path, catalogue: Catalogue) -> Coverage:
    claims: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    for path in scenario_files(folder):
        try:
            scenario = Scenario.load(path)
        except ConfigError as exc:
            errors[path.name] = "; ".join(exc.problems)
            continue
        claims[scenario.id] = list(scenario.requirements)
    return coverage(catalogue, claims, errors)
