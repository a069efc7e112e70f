"""Power checks on hand-made inputs: each measurement's pass, fail and not-measured paths.

The same checks on real emulator runs are in tests/harness/test_power_scenarios.py (healthy, against
ground truth) and tests/harness/emulator/test_faults.py (each power fault caught at its size).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from harness.analysis.clip import ClipAnalysis
from harness.checks import CHECKS, CheckInput
from harness.core.paths import CAMERAS_DIR, CATALOGUE
from harness.core.timeline import (
    Action,
    BatterySelected,
    CurrentReading,
    PowerCut,
    PowerOn,
    Shutdown,
    Timeline,
)
from harness.plan.profile import CameraProfile
from harness.plan.requirements import Catalogue

PROFILE = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
LIMITS = Catalogue.load(CATALOGUE)
SHIFT_H = LIMITS.bounds("BWC-PWR-01", "shift", "h")[0]
WARNING_MIN = LIMITS.bounds("BWC-PWR-02", "lead", "min")
# the typed detail of each power action, as the power steps write it
TYPED = {"on": PowerOn, "shutdown": Shutdown, "cut": PowerCut, "current": CurrentReading}


def battery(soc: float) -> BatterySelected:
    return BatterySelected(
        model="1", soc=soc, capacity_ah=PROFILE.power.capacity_ah, current_limit=2.0, method="static"
    )


def timeline(*actions: tuple) -> Timeline:
    tl = Timeline()
    for t, kind, name, *detail in actions:
        data = detail[0] if detail else None
        if kind == "power" and isinstance(data, dict) and name in TYPED:
            data = TYPED[name](**data)
        tl.add(Action(t, kind, name, data))
    return tl


def run(name: str, tl: Timeline, clips: list[ClipAnalysis] | None = None) -> dict:
    inp = CheckInput(PROFILE, tl, clips or [], 0, reference_utc=lambda t: EPOCH + timedelta(seconds=t))
    return {m.name: m for m in CHECKS[name](inp)}


def clip(path: str, first: float, last: float, sha: str = "a" * 64, error: str | None = None) -> ClipAnalysis:
    return ClipAnalysis(
        path=path,
        first_ref_s=first,
        last_ref_s=last,
        sha256=sha,
        error=error,
        pts_s=[0.0, last - first],
        ref_s=[first, last],
    )


def shutdown_at(t: float) -> tuple:
    return (
        t,
        "power",
        "shutdown",
        {
            "last_running_t": t - 5,
            "first_off_t": t + 5,
            "amps_before": 0.32,
            "amps_after": 0.002,
            "threshold_a": 0.01,
            "interval_s": 1.0,
        },
    )


BATTERY = ((0.0, "power", "battery", battery(100.0)), (0.0, "power", "on", {"battery": "1", "soc": 100.0}))


def test_power_checks_are_registered() -> None:
    assert {"shift_runtime", "warning_lead", "cutoff", "power_cut", "current_profile"} <= set(CHECKS)


def test_shift_runtime_passes_at_the_claim_and_fails_short() -> None:
    claim = max(SHIFT_H, PROFILE.power.claimed_runtime_h)
    ok = run("shift_runtime", timeline(*BATTERY, shutdown_at(claim * 3600 + 60)))
    assert ok["shift_runtime_h"].passed and ok["shift_runtime_h"].value == pytest.approx(claim + 60 / 3600)
    assert ok["shift_runtime_h"].low == claim and ok["shift_runtime_h"].requirement == "BWC-PWR-01"
    short = run("shift_runtime", timeline(*BATTERY, shutdown_at(9 * 3600)))["shift_runtime_h"]
    assert short.outcome == "fail" and short.value == pytest.approx(9.0)


def test_shift_runtime_without_a_shutdown_is_a_lower_bound_or_not_measured() -> None:
    long = run("shift_runtime", timeline(*BATTERY, (14 * 3600, "power", "off")))["shift_runtime_h"]
    assert long.passed and "lower bound" in long.note
    short = run("shift_runtime", timeline(*BATTERY, (3600, "power", "off")))["shift_runtime_h"]
    assert short.value is None and not short.passed


def test_shift_runtime_needs_a_full_battery_and_the_duty_done() -> None:
    tl = timeline(
        (0.0, "power", "battery", battery(80.0)),
        (0.0, "power", "on", {"battery": "1"}),
        (3600.0, "gesture", "start"),
        (7200.0, "gesture", "stop"),
        shutdown_at(14 * 3600),
    )
    out = run("shift_runtime", tl)
    assert not out["shift_start_soc"].passed and out["shift_start_soc"].value == 80.0
    assert out["shift_recording_h"].value == pytest.approx(1.0) and not out["shift_recording_h"].passed
    assert run("shift_runtime", timeline((0.0, "power", "on")))["shift_runtime_h"].value is None


def test_current_profile_judges_each_state_and_estimates_the_runtime() -> None:
    draw = PROFILE.power.draw_a

    def reading(state: str, amps: float) -> tuple:
        return (
            1.0,
            "power",
            "current",
            {"state": state, "amps": amps, "min_a": amps, "max_a": amps, "volts": 3.85, "samples": 5, "t0": 0.0},
        )

    out = run("current_profile", timeline(reading("buffering", draw.buffering), reading("recording", draw.recording)))
    assert out["current_a[buffering]"].passed and out["current_a[recording]"].passed
    duty = PROFILE.power.duty
    mean = (duty.buffering_h * draw.buffering + duty.recording_h * draw.recording) / duty.hours
    assert out["runtime_estimate_h"].value == pytest.approx(PROFILE.power.capacity_ah / mean)
    assert out["runtime_estimate_h"].passed
    high = run(
        "current_profile", timeline(reading("buffering", draw.buffering * 1.4), reading("recording", draw.recording))
    )
    assert not high["current_a[buffering]"].passed and not high["runtime_estimate_h"].passed
    off = run("current_profile", timeline(reading("off", 0.0)))
    assert off["current_a[off]"].passed and off["runtime_estimate_h"].value is None


def test_warning_lead_without_any_warning_is_not_measured() -> None:
    out = run("warning_lead", timeline(*BATTERY, shutdown_at(1000.0)))
    assert out["warning_lead_min"].value is None and not out["warning_lead_min"].passed
    assert out["warning_logged"].value == 0 and not out["warning_logged"].passed
    assert (out["warning_lead_min"].low, out["warning_lead_min"].high) == WARNING_MIN


def test_warning_lead_from_the_camera_log_corrected_by_its_clock() -> None:
    """The log is in camera time; the same file's start time gives the camera's offset (here +2 s)."""
    offset = 2.0
    start_utc = (EPOCH + timedelta(seconds=100 + offset)).isoformat().replace("+00:00", "Z")
    warn_utc = (EPOCH + timedelta(seconds=400 + offset)).isoformat().replace("+00:00", "Z")
    meta = '{"camera_start_utc": "%s", "segment": 1, "power_log": [{"utc": "%s", "event": "low_battery"}]}' % (
        start_utc,
        warn_utc,
    )
    c = clip("/x/EMU_1.mp4", 100.0, 900.0)
    c.tags = {"comment": meta}
    out = run("warning_lead", timeline(*BATTERY, (90.0, "gesture", "start"), shutdown_at(1000.0)), [c])
    assert out["warning_lead_min"].value == pytest.approx(10.0) and out["warning_lead_min"].passed
    assert out["warning_logged"].value == 1


def test_cutoff_needs_a_shutdown_and_a_running_recording() -> None:
    assert run("cutoff", timeline(*BATTERY))["cutoff_file_finalised"].value is None
    stopped = timeline(*BATTERY, (10.0, "gesture", "start"), (20.0, "gesture", "stop"), shutdown_at(500.0))
    m = run("cutoff", stopped, [clip("/x/a.mp4", 0.0, 23.0)])["cutoff_file_finalised"]
    assert m.value is None and "no recording was running" in m.note


def test_power_cut_compares_the_files_saved_before_the_cut(tmp_path) -> None:
    """Unchanged and readable: 0 damaged; another hash, a missing file or an unreadable one count."""
    files = {"a.mp4": "1" * 64, "b.mp4": "2" * 64, "c.mp4": "3" * 64, "d.mp4": "4" * 64}
    tl = timeline(
        (0.0, "power", "on"),
        (10.0, "gesture", "start"),
        (20.0, "gesture", "stop"),
        (30.0, "power", "cut", {"files": files}),
    )
    clips = [
        clip("/e/a.mp4", 0.0, 5.0, "1" * 64),
        clip("/e/b.mp4", 6.0, 9.0, "f" * 64),
        clip("/e/d.mp4", 12.0, 20.0, "4" * 64, error="truncated"),
    ]
    out = run("power_cut", tl, clips)
    damaged = out["earlier_files_damaged"]
    assert damaged.value == 3 and not damaged.passed
    assert "b.mp4: changed" in damaged.note and "c.mp4: gone" in damaged.note and "d.mp4: truncated" in damaged.note
    assert out["cut_recovered_s"].value is None  # nothing was recording at the cut
    assert run("power_cut", timeline((0.0, "power", "on")))["cut_recovered_s"].value is None


def test_power_cut_measures_what_the_interrupted_recording_kept() -> None:
    tl = timeline(
        (0.0, "power", "on"),
        (20.0, "gesture", "start"),
        (60.0, "power", "cut", {"files": {}}),
        (65.0, "power", "on"),
        (80.0, "gesture", "start"),
        (85.0, "gesture", "stop"),
    )
    kept = clip("/e/cut.mp4", 14.0, 58.5)
    after = clip("/e/after.mp4", 73.05, 88.0)
    out = run("power_cut", tl, [kept, after])
    assert out["cut_recovered_s[event 1]"].value == pytest.approx(58.5 + 1 / 30 - 60.0)
    assert out["cut_recovered_s[event 1]"].passed and out["cut_unreadable_files[event 1]"].value == 0
    rebuffered = out["rebuffered_preroll_s[event 2]"]
    assert rebuffered.value == pytest.approx(80.0 - 73.05) and rebuffered.passed  # boot 8 s after 65 s
    lossy = run("power_cut", tl, [clip("/e/cut.mp4", 14.0, 29.5), after])["cut_recovered_s[event 1]"]
    assert lossy.value == pytest.approx(29.5 + 1 / 30 - 60.0) and not lossy.passed
