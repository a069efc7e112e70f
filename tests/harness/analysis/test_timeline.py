"""Tests for the timeline fit: a simulated camera grid read through the real time-code resolver.

No pixels: each sensor frame's exposure is turned into per-bit decisions by the same rule the
decoder applies to cells (a mixture of the display frames' bits by time on screen, ambiguous near
one half), then resolved by :func:`resolve_states`. Ground truth is the simulated grid.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.analysis.timeline import TimelineBuilder
from harness.scene.timecode import CODE_BITS, COUNTER_MODULUS, Coarse, Reading, code_bits, resolve_states

R = 60.0


def read(m: float, exposure: float) -> Reading:
    """The reading of a frame whose exposure [m - e/2, m + e/2] integrates the display."""
    first = math.floor((m - exposure / 2) * R) - 1
    return _filmed(first, np.arange(first, math.floor((m + exposure / 2) * R) + 3) / R, m, exposure)


def camera(t0: float, fps: float, frames: int, exposure: float, ppm: float = 0.0, shown=None, pts_of=None):
    """A builder fed with frames of a camera grid; ``shown``/``pts_of`` map file frame -> sensor frame / pts."""
    period = 1 / fps
    true_period = period * (1 + ppm * 1e-6)
    shown = list(range(frames)) if shown is None else shown
    pts_of = (lambda i, k: k * period) if pts_of is None else pts_of
    builder = TimelineBuilder(R)
    for i, k in enumerate(shown):
        builder.add(pts_of(i, k), read(t0 + k * true_period, exposure))
    return builder, true_period


@pytest.mark.parametrize("fps", [30.0, 30000 / 1001, 25.0])
@pytest.mark.parametrize("phase", [0.03, 0.37, 0.71])
@pytest.mark.parametrize("exposure_refreshes", [0.5, 1.0, 1.8])
def test_first_frame_time_is_within_its_uncertainty(fps, phase, exposure_refreshes):
    """The reported first-frame time brackets the truth, and the bracket is under half a frame."""
    t0 = (1000 + phase) / R
    exposure = min(exposure_refreshes / R, 0.95 / fps)
    fit = camera(t0, fps, 300, exposure)[0].fit()
    assert fit.error is None
    assert abs(fit.first_ref_s - t0) <= fit.first_ref_uncertainty_s + 1e-9
    assert fit.first_ref_uncertainty_s < 0.5 / fps
    assert fit.gaps == [] and fit.duplicates == [] and fit.backwards == []


def test_phase_wander_narrows_the_first_frame_to_a_fraction_of_a_refresh():
    """At 29.97 fps the phase sweeps the display refresh: clean and blended frames pin t0 down."""
    t0 = 1234.567
    fit = camera(t0, 30000 / 1001, 900, 0.8 / R)[0].fit()
    assert abs(fit.first_ref_s - t0) <= fit.first_ref_uncertainty_s
    assert fit.first_ref_uncertainty_s < 0.5 / R  # far below the camera's frame period (2 refreshes)


def test_drift_ppm_of_the_sensor_clock():
    """A sensor 40 ppm slow against regular pts: the slope says so, within its uncertainty."""
    builder, true_period = camera(50.0, 25.0, 1500, 0.7 / R, ppm=40.0)
    fit = builder.fit()
    assert abs(fit.drift_ppm - 40.0) <= fit.drift_ppm_uncertainty
    assert fit.drift_ppm_uncertainty < 200.0
    assert abs(fit.sensor_period_s / true_period - 1) * 1e6 <= fit.drift_ppm_uncertainty + 1e-6


@pytest.mark.parametrize("honest_pts", [True, False], ids=["pts-show-the-drop", "regular-pts"])
def test_dropped_sensor_frames_are_a_gap_whatever_the_pts(honest_pts):
    """Five sensor frames lost after frame 99: a gap of 5, also when the pts keep a regular rate."""
    shown = [k for k in range(300) if not 100 <= k < 105]
    pts_of = (lambda i, k: k / 30) if honest_pts else (lambda i, k: i / 30)
    builder, period = camera(20.0, 30000 / 1001, 300, 0.9 / R, shown=shown, pts_of=pts_of)
    fit = builder.fit()
    assert [n for _, n in fit.gaps] == [5]
    assert fit.gaps[0][0] == pytest.approx(20.0 + 99 * period, abs=fit.first_ref_uncertainty_s + 1e-6)
    assert fit.duplicates == [] and fit.backwards == []


def test_repeated_frames_and_a_backwards_jump():
    shown = list(range(50)) + [49, 49] + list(range(50, 120)) + list(range(90, 130))
    fit = camera(8.0, 25.0, 0, 0.5 / R, shown=shown, pts_of=lambda i, k: i / 25)[0].fit()
    assert fit.duplicates == [(pytest.approx(8.0 + 49 / 25, abs=0.01), 2)]
    assert len(fit.backwards) == 1
    assert fit.backwards[0][1] == pytest.approx(8.0 + 119 / 25, abs=0.01)
    assert fit.backwards[0][2] == pytest.approx(8.0 + 90 / 25, abs=0.01)


def test_counter_wrap_is_unwrapped():
    """Across 2**24 - 1 -> 0 the reference time keeps rising: no backwards jump, one wrap counted."""
    t0 = (COUNTER_MODULUS - 60) / R
    builder, _ = camera(t0, 30.0, 90, 0.5 / R)
    fit = builder.fit()
    assert fit.counter_wraps == 1 and fit.backwards == [] and fit.gaps == []
    assert fit.last_ref_s == pytest.approx(t0 + 89 / 30, abs=1 / R)


def test_misread_frames_do_not_move_the_fit():
    """Frames whose reading is off the camera grid are counted, left out of gaps, and do not shift t0."""
    t0 = 400.25  # exposures centred on display switches: every frame reads blended
    builder = TimelineBuilder(R)
    for k in range(200):
        reading = read(t0 + k / 30, 0.6 / R)
        assert reading.kind == "blended"
        if k in (40, 41, 120):  # a reading 3 refreshes late: half-way between two camera frames
            reading = Reading("blended", reading.value + 3)
        builder.add(k / 30, reading)
    fit = builder.fit()
    assert fit.inconsistent_frames == 3
    assert fit.gaps == [] and fit.duplicates == [] and fit.backwards == []
    assert abs(fit.first_ref_s - t0) <= fit.first_ref_uncertainty_s


def test_coarse_data_gives_run_ids_and_the_utc_origin():
    builder = TimelineBuilder(R)
    origin = 1_767_225_600.3
    for k in range(120):  # 4 s at 30 fps: two UTC second boundaries
        m = 100.0 + k / 30
        reading = read(m, 0.5 / R)
        n = reading.value
        utc = math.floor(origin + n / R)
        run = 9 if k < 100 else 10
        builder.add(k / 30, Reading(reading.kind, n, None, Coarse(run, utc, True)))
    fit = builder.fit()
    assert fit.run_ids == {9: 100, 10: 20} and fit.run_id_changes == 1
    assert fit.utc_origin_s == pytest.approx(origin, abs=fit.utc_origin_uncertainty_s + 1e-9)
    assert fit.utc_origin_uncertainty_s <= 1 / 30 + 1 / R  # resolved to the camera frame that saw the change


def test_no_decodable_frame_is_an_error_not_an_exception():
    builder = TimelineBuilder(R)
    for k in range(10):
        builder.add(k / 30, Reading("undecodable", None, "no code in view"))
    fit = builder.fit()
    assert fit.error and "time code" in fit.error and fit.first_ref_s is None
    assert TimelineBuilder(R).fit().error == "clip holds no video frames"


@pytest.mark.parametrize("fps", [30000 / 1001, 24000 / 1001, 25.0])
def test_grid_times_do_not_wander_with_the_beat(fps):
    """At 29.97 fps on 60 Hz each frame's own reading is off by a slowly wandering part of a refresh
    (a 16.7 s beat); the frames' times on the fitted grid keep one error (within the first frame's
    uncertainty) over 38 s, so instants mapped through them do not drift apart."""
    t0, period = 1234.567, 1 / fps
    frames = round(38 * fps)
    builder = camera(t0, fps, frames, 1.0 / R)[0]
    fit = builder.fit()
    truth = t0 + np.arange(frames) * period
    error = fit.grid_ref_s - truth
    assert np.nanmax(np.abs(error)) <= fit.first_ref_uncertainty_s + 1e-9
    assert np.nanmax(error) - np.nanmin(error) < 0.1e-3  # a least-squares line through the readings: > 1 ms
    assert fit.drift_ppm_standard_error is not None and fit.drift_ppm_standard_error < 50.0


def _filmed(first: int, starts: np.ndarray, m: float, exposure: float) -> Reading:
    """A frame's reading on a display that put frame ``first + i`` up at ``starts[i]`` (until ``starts[i + 1]``)."""
    lo, hi = m - exposure / 2, m + exposure / 2
    mix = np.zeros(CODE_BITS)
    for i in range(int(np.searchsorted(starts, lo, "right")) - 1, int(np.searchsorted(starts, hi, "left"))):
        w = (min(hi, starts[i + 1]) - max(lo, starts[i])) / exposure
        if w > 0:
            mix += w * code_bits(first + i)
    d = 2 * mix - 1
    return resolve_states(np.where(d > 0.35, 1, np.where(d < -0.35, 0, -1)).astype(np.int8))


def test_a_refit_in_present_time_places_frames_the_display_showed_late_or_never():
    """A bench display: 11 ms late, a one-refresh stall from frame 45 030 on, frame 45 400 dropped.
    Fitted in nominal time the frames after the stall sit a refresh off their intervals; fitted
    through the present times every interval is where the panel held the frame."""
    frames = np.arange(44_000, 47_000)
    starts = frames / R + 0.011 + np.where(frames >= 45_030, 1 / R, 0.0)
    starts[frames == 45_400] = starts[frames == 45_401]  # never on the panel: 45 399 stays up two refreshes
    t0 = float(starts[frames == 44_100][0]) + 0.3 / R
    fps = 30000 / 1001
    builder = TimelineBuilder(R)
    for k in range(1000):
        builder.add(k / fps, _filmed(int(frames[0]), starts, t0 + k / fps, 0.8 / R))
    nominal = builder.fit()

    def present(t: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(t) * R, frames, starts)

    fit = builder.fit(present)
    assert nominal.inconsistent_frames > 0
    assert fit.inconsistent_frames == 0
    assert abs(fit.first_ref_s - t0) <= fit.first_ref_uncertainty_s < 0.5 / R
    assert fit.gaps == [] and fit.duplicates == []
    assert fit.grid_ref_s[-1] == pytest.approx(t0 + 999 / fps, abs=2 * fit.first_ref_uncertainty_s)
