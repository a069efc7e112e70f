"""Tests for the A/V stimulus: the event schedule, the flash window, the chirp and the acoustic delay."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.scene.stimulus import (
    CHIRP_AMPLITUDE,
    FLASH_S,
    SLOT_S,
    acoustic_delay_s,
    chirp,
    event_times,
    flash_on,
)

R = 60.0


@pytest.fixture(scope="module")
def events():
    return event_times(0.0, 300.0, R)


def test_schedule_is_deterministic_and_a_pure_function_of_time(events):
    """Two calls give the same list, and a sub-range is exactly the slice of a wider query."""
    assert event_times(0.0, 300.0, R) == events
    assert event_times(40.0, 130.0, R) == [e for e in events if 40.0 <= e < 130.0]
    e = events[10]
    assert event_times(e, e + 0.001, R) == [e]  # half-open interval [t0, t1)
    assert event_times(e - 0.001, e, R) == []


def test_one_event_per_slot(events):
    """300 s hold exactly 100 events, one in each 3 s slot, 0.2 .. 1.8 s (+ one refresh) into it."""
    assert len(events) == 300 / SLOT_S
    slots = [math.floor(e / SLOT_S) for e in events]
    assert slots == list(range(100))
    into = [e - s * SLOT_S for e, s in zip(events, slots)]
    assert min(into) >= 0.2 - 1e-9
    assert max(into) <= 1.8 + 1 / R + 1e-9


def test_intervals_are_irregular_with_minimum_spacing(events):
    """Intervals differ from one another (no periodic schedule) and never fall below 1.3 s."""
    d = np.diff(events)
    assert d.min() >= 1.3
    assert len(set(np.round(d, 6))) > 20  # many distinct intervals, not a fixed period
    assert d.std() > 0.2


@pytest.mark.parametrize("refresh", [60.0, 50.0])
def test_every_event_starts_on_a_refresh_boundary(refresh):
    """Each event time is an integer number of display refresh periods."""
    for e in event_times(0.0, 120.0, refresh):
        assert abs(e * refresh - round(e * refresh)) < 1e-6, e


def test_flash_on_for_the_flash_window_and_off_just_before(events):
    """flash_on is true from each event for 0.1 s (sampled inside), false just before and just after."""
    for e in events[:30]:
        assert not flash_on(e - 1e-6, R)
        assert not flash_on(e - 0.5, R)
        for dt in (0.0, 0.001, 0.05, 0.099):
            assert flash_on(e + dt, R), (e, dt)
        assert not flash_on(e + FLASH_S + 1e-6, R)
        assert not flash_on(e + 0.5, R)


def test_flash_lasts_exactly_six_display_frames(events):
    """Sampled at display refresh instants (as the Scene does), every flash lights exactly 0.1 s = 6 frames."""
    frames = round(FLASH_S * R)
    lit = []
    for e in events[:60]:
        n = round(e * R)
        lit.append(sum(flash_on(k / R, R) for k in range(n - 3, n + frames + 3)))
    assert lit == [frames] * len(lit)


def test_chirp_length_and_amplitude():
    """40 ms at 48 kHz is 1920 samples (1764 at 44.1 kHz); the Hann-windowed peak reaches but never exceeds 0.3."""
    c = chirp(48000)
    assert c.dtype == np.float32 and c.size == 1920
    assert chirp(44100).size == 1764
    peak = float(np.abs(c).max())
    assert CHIRP_AMPLITUDE * 0.97 <= peak <= CHIRP_AMPLITUDE
    assert abs(c[0]) < 1e-6 and abs(c[-1]) < 1e-3  # windowed: starts and ends at zero


def test_chirp_energy_lies_between_one_and_four_khz():
    """At least 95 % of the chirp's energy is in 0.8 .. 4.2 kHz."""
    c = chirp(48000).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(c, 1 << 16)) ** 2
    freqs = np.fft.rfftfreq(1 << 16, 1 / 48000)
    band = spectrum[(freqs >= 800) & (freqs <= 4200)].sum()
    assert band / spectrum.sum() > 0.95


def test_chirp_autocorrelation_peak_is_sharp():
    """The main lobe (above half the peak) is narrower than 0.5 ms and no sidelobe beyond 1 ms exceeds 5 %."""
    rate = 48000
    c = chirp(rate).astype(np.float64)
    ac = np.correlate(c, c, "full")
    ac /= ac.max()
    k = int(np.argmax(ac))
    assert k == c.size - 1  # the peak is at zero lag
    lo = hi = k
    while ac[lo - 1] > 0.5:
        lo -= 1
    while ac[hi + 1] > 0.5:
        hi += 1
    assert (hi - lo + 1) / rate < 0.5e-3
    far = round(1e-3 * rate)
    sidelobes = np.abs(np.concatenate([ac[: k - far], ac[k + far + 1 :]]))
    assert sidelobes.max() < 0.05


def test_acoustic_delay():
    """Sound takes about 2.9 ms over 1 m (343 m/s), and scales linearly with distance."""
    assert acoustic_delay_s(1.0) == pytest.approx(2.915e-3, abs=2e-6)
    assert acoustic_delay_s(0.0) == 0.0
    assert acoustic_delay_s(3.43) == pytest.approx(0.01, rel=1e-9)
