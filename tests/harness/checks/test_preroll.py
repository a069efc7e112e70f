"""The expected pre-roll after an early activation counts from the measured buffering start, and
the measured boot time is judged against the profile's boot range; without a measurable start the
expectation falls back to power-on + boot time with the tolerance widened by the boot range."""

from __future__ import annotations

import pytest

from harness.analysis.clip import ClipAnalysis
from harness.checks import CHECKS, CheckInput
from harness.checks.preroll import preroll_expectation
from harness.core.measurement import NOT_MEASURABLE
from harness.core.paths import CAMERAS_DIR
from harness.core.timeline import Action, BufferingStarted, Timeline
from harness.plan.profile import CameraProfile

PERIOD = 1 / 30


@pytest.fixture(scope="module")
def profile() -> CameraProfile:
    return CameraProfile.load(CAMERAS_DIR / "emulated.yaml")


def clip(first_ref: float, last_ref: float) -> ClipAnalysis:
    n = round((last_ref - first_ref) / PERIOD) + 1
    ref = [first_ref + k * PERIOD for k in range(n)]
    return ClipAnalysis(
        path="/clips/a.mp4",
        pts_s=[k * PERIOD for k in range(n)],
        ref_s=ref,
        first_ref_s=first_ref,
        last_ref_s=ref[-1],
        frames=n,
        decoded=n,
    )


def buffering(on_t: float, boot: float | None, **extra) -> Action:
    detail = BufferingStarted(power_on_t=on_t, boot_s=boot, interval_s=0.1, readings=80, **extra)
    return Action(on_t + (boot if boot is not None else 8.0), "power", "buffering", detail)


def run(profile: CameraProfile, *actions: Action, first_ref: float = 20.0) -> dict:
    timeline = Timeline([Action(2.0, "power", "on"), *actions, Action(60.0, "gesture", "start")])
    out = CHECKS["preroll"](CheckInput(profile, timeline, [clip(first_ref, 70.0)], 1))
    return {m.name: m for m in out}


def test_expectation_counts_from_the_measured_start_not_the_typed_boot(profile) -> None:
    """The camera really buffered 11 s after power-on (profile: 8 s): the expectation follows it."""
    timeline = Timeline([Action(2.0, "power", "on"), buffering(2.0, 11.0)])
    e = preroll_expectation(CheckInput(profile, timeline, [], 1), 60.0)
    assert not e.full and e.value == pytest.approx(60.0 - 13.0 - PERIOD / 2)
    assert e.uncertainty_s == pytest.approx(0.05) and e.boot is not None and e.boot.measured


def test_measured_boot_in_range_passes_and_a_slow_one_fails(profile) -> None:
    ok = run(profile, buffering(2.0, 8.03), first_ref=10.03 + PERIOD / 2)
    assert ok["boot_s[event 1]"].outcome == "pass" and ok["preroll_s[event 1]"].outcome == "pass"
    assert ok["boot_s[event 1]"].requirement == "BWC-PRE-02"
    slow = run(profile, buffering(2.0, 14.0), first_ref=16.0 + PERIOD / 2)
    assert slow["boot_s[event 1]"].outcome == "fail" and slow["boot_s[event 1]"].value == 14.0
    assert slow["preroll_s[event 1]"].outcome == "pass"  # the clip holds what was buffered


def test_a_start_never_seen_fails_the_boot(profile) -> None:
    m = run(profile, buffering(2.0, None, note="the draw never stepped"), first_ref=10.0 + PERIOD / 2)
    assert m["boot_s[event 1]"].outcome == "fail" and m["boot_s[event 1]"].value is None


def test_not_measurable_falls_back_with_the_boot_range_in_the_tolerance(profile) -> None:
    loose = profile.model_copy(update={"boot_tolerance_s": 1.5})
    why = "the profile's booting and buffering draws differ by less than 10 %"
    m = run(loose, buffering(2.0, None, not_measurable=why), first_ref=10.0 + 1.2)  # a boot 1.2 s long
    boot, pre = m["boot_s[event 1]"], m["preroll_s[event 1]"]
    assert boot.outcome == NOT_MEASURABLE and boot.not_measurable == why
    assert pre.outcome == "pass"
    assert (pre.high - pre.low) / 2 == pytest.approx(PERIOD + 1.5)
    assert "not measured" in pre.note and "boot range" in pre.note


def test_full_buffer_makes_no_boot_measurement(profile) -> None:
    timeline = Timeline([Action(2.0, "power", "on"), buffering(2.0, 8.0), Action(300.0, "gesture", "start")])
    out = CHECKS["preroll"](CheckInput(profile, timeline, [clip(180.0, 310.0)], 1))
    assert [m.name for m in out] == ["preroll_s[event 1]"]


def test_button_camera_counts_from_its_power_gesture(profile) -> None:
    """A camera with a power button is on from its power_on gesture, not from the supply."""
    timeline = Timeline([Action(2.0, "power", "on"), Action(6.0, "gesture", "power_on")])
    e = preroll_expectation(CheckInput(profile, timeline, [], 1), 60.0)
    assert e.value == pytest.approx(60.0 - 14.0 - PERIOD / 2)
