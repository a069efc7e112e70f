"""``bwc certify`` without ``--workers``: one worker per CPU core on the built-in emulated camera only."""

from __future__ import annotations

import argparse
import os

import pytest

from harness.cli import certify
from tests.conftest import REPO


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    certify.add_parser(parser.add_subparsers(dest="verb"))
    return parser.parse_args(["certify", *argv])


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)


def test_no_option_is_none_so_the_default_can_be_told_from_an_explicit_zero() -> None:
    assert _args().workers is None and _args("--workers", "0").workers == 0


def test_built_in_emulated_suite_runs_one_worker_per_core(two_cores) -> None:
    assert certify.default_workers(_args()) == 2


def test_one_core_or_one_scenario_is_one_process(two_cores, monkeypatch: pytest.MonkeyPatch) -> None:
    assert certify.default_workers(_args(str(REPO / "scenarios" / "stop.yaml"))) == 0
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert certify.default_workers(_args()) == 0


def test_another_rig_or_camera_profile_runs_in_one_process(two_cores, tmp_path) -> None:
    rig = tmp_path / "rig.yaml"
    rig.write_text("rig:\n  kind: emulated\n")
    assert certify.default_workers(_args("--rig", str(rig))) == 0
    assert certify.default_workers(_args("--profile", "axon-body-4")) == 0


def test_from_a_terminal_the_emulated_rig_still_answers_so_workers_stay(two_cores, monkeypatch) -> None:
    """Every shipped scenario confirms READY; on the emulated rig the rig answers unless a person is asked for."""
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    assert certify.default_workers(_args()) == 2
    assert certify.default_workers(_args("--operator", "terminal")) == 0  # a person answers: one process
