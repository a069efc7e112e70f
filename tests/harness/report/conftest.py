"""Fixtures of the report tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_runs import two_scenarios, write_run


@pytest.fixture
def run_factory(tmp_path: Path):
    def make(name: str = "run", **kwargs: object) -> Path:
        tests = kwargs.pop("tests", None) or two_scenarios()
        return write_run(tmp_path / name, tests, **kwargs)

    return make
