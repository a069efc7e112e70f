"""`bwc certify --list` and `bwc faults --profile`: what a run on a camera will take and prove."""

from __future__ import annotations

from tests.conftest import run_bwc


def test_certify_list_prints_each_scenarios_bench_duration_for_the_profile() -> None:
    """The Axon's 4-hour split makes its segment scenario last over four hours; the Axis, which
    never splits, does not take it; nothing runs."""
    axon = run_bwc("certify", "--list", "--profile", "axon-body-4")
    assert axon.returncode == 0, axon.stderr
    line = next(x for x in axon.stdout.splitlines() if "segments.yaml" in x)
    assert "4:01:" in line
    assert "expected bench duration:" in axon.stdout
    axis = run_bwc("certify", "--list", "--profile", "axis-w110", "scenarios/segments.yaml", "scenarios/stop.yaml")
    assert axis.returncode == 0, axis.stderr
    assert "not applicable" in axis.stdout and "segment_s" in axis.stdout
    assert "for 1 scenario(s)" in axis.stdout


def test_certify_list_names_a_bad_profile_in_one_line() -> None:
    proc = run_bwc("certify", "--list", "--profile", "no-such-camera")
    assert proc.returncode == 2
    assert "no-such-camera" in proc.stdout + proc.stderr and "Traceback" not in proc.stdout + proc.stderr


def test_faults_verb_says_which_faults_apply_to_a_persona() -> None:
    proc = run_bwc("faults", "--profile", "axis-w110")
    assert proc.returncode == 0, proc.stderr
    assert "AXIS W110" in proc.stdout and "buffer-shrinks" in proc.stdout
    assert "76.5" in proc.stdout  # 85 % of its 90 s buffer, the figure its proof expects
    assert "does not apply" in proc.stdout


def test_faults_verb_names_a_bad_profile_in_one_line() -> None:
    proc = run_bwc("faults", "--matrix", "--profile", "no-such-camera")
    assert proc.returncode == 2
    assert "no-such-camera" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
