"""The A/V drift fit: slope of the per-stimulus offsets and the standard error it is judged with."""

from __future__ import annotations

import numpy as np
import pytest

from harness.checks.av import drift_fit


def test_a_clean_drift_is_read_with_a_small_error():
    """500 ppm over 38 s with 0.1 ms of scatter: read within a few ppm, with a few ppm of error."""
    t = np.linspace(0.0, 38.0, 14)
    rng = np.random.default_rng(1)
    slope, se = drift_fit(t, 0.02 + 500e-6 * t + rng.normal(0, 1e-4, t.size))
    assert slope == pytest.approx(500.0, abs=10.0)
    assert 0.0 < se < 10.0


def test_scatter_over_a_short_span_gives_an_error_beyond_a_50_ppm_limit():
    """Offsets scattered by a frame (33 ms) over 6 s cannot tell 50 ppm: the error says so."""
    t = np.linspace(0.0, 6.0, 5)
    _, se = drift_fit(t, 0.02 + np.array([0.0, 0.033, -0.033, 0.033, 0.0]))
    assert se > 50.0


def test_two_stimuli_give_a_slope_without_an_error():
    slope, se = drift_fit(np.array([0.0, 10.0]), np.array([0.0, 1e-3]))
    assert slope == pytest.approx(100.0) and se == 0.0
