"""Tests for the scene: a sensor exposure blends display frames by their time on screen."""

from __future__ import annotations

import numpy as np
import pytest

from harness.scene.compose import Scene
from harness.scene.timecode import TimecodeDecoder

R = 60.0
N = 1234  # a display frame whose successor differs in a low Gray bit and the CRC


@pytest.fixture(scope="module")
def scene():
    return Scene(640, 360, R)


@pytest.fixture(scope="module")
def decoder():
    return TimecodeDecoder(640, 360)


def differing(scene, a, b):
    """Mask of pixels where display frames a and b differ, with the two images."""
    fa, fb = scene.frame(a), scene.frame(b)
    mask = fa != fb
    assert mask.sum() > 1000  # code cells, moving block, bar and text all change
    return mask, fa.astype(np.float64), fb.astype(np.float64)


def test_index_and_present_time_are_inverse(scene):
    """index_at(present_time(n)) == n on every refresh edge, and just before the edge it is n - 1."""
    for n in range(0, 200_000, 37):
        t = scene.present_time(n)
        assert t == pytest.approx(n / R)
        assert scene.index_at(t) == n
        assert scene.index_at(t + 0.5 / R) == n
        if n:
            assert scene.index_at(t - 1e-6) == n - 1


def test_expose_within_one_display_frame_is_that_frame(scene, decoder):
    """An exposure wholly inside display frame n returns exactly frame(n), which decodes clean n."""
    image = scene.expose((N + 0.1) / R, (N + 0.9) / R)
    assert np.array_equal(image, scene.frame(N))
    assert not np.array_equal(image, scene.frame(N + 1))
    reading = decoder.decode(image)
    assert (reading.kind, reading.value) == ("clean", N)


def test_expose_exactly_one_refresh_is_that_frame(scene):
    """An exposure from one present time to the next holds only that frame (the edge is not a blend)."""
    image = scene.expose(scene.present_time(N), scene.present_time(N + 1))
    assert np.array_equal(image, scene.frame(N))


def test_expose_half_and_half_decodes_blended(scene, decoder):
    """An exposure split 50/50 over the n -> n+1 switch is a per-pixel mean and decodes blended n."""
    image = scene.expose((N + 0.5) / R, (N + 1.5) / R)
    mask, fa, fb = differing(scene, N, N + 1)
    expected = (fa + fb) / 2
    assert np.abs(image[mask] - expected[mask]).max() <= 1.0
    assert np.array_equal(image[~mask], scene.frame(N)[~mask])
    reading = decoder.decode(image)
    assert (reading.kind, reading.value) == ("blended", N)


@pytest.mark.parametrize("w_first", [0.25, 0.75])
def test_expose_weights_follow_time_on_screen(scene, w_first):
    """A 25/75 (or 75/25) split mixes the two frames in that proportion, not the reverse."""
    t0 = (N + 1 - w_first) / R
    image = scene.expose(t0, t0 + 1 / R).astype(np.float64)
    mask, fa, fb = differing(scene, N, N + 1)
    expected = w_first * fa + (1 - w_first) * fb
    swapped = (1 - w_first) * fa + w_first * fb
    assert np.abs(image[mask] - expected[mask]).max() <= 1.0
    # a white/black flip (code cell) lands near 64 or 191: far from the swapped weighting
    flips = mask & (np.abs(fa - fb) == 255)
    assert flips.any()
    assert np.abs(image[flips] - swapped[flips]).min() > 100


def test_expose_across_three_frames_weights_each_by_overlap(scene):
    """An exposure covering frames n, n+1, n+2 for 0.5, 1 and 0.5 refreshes weights them 1/4, 1/2, 1/4."""
    image = scene.expose((N + 0.5) / R, (N + 2.5) / R).astype(np.float64)
    f = [scene.frame(N + k).astype(np.float64) for k in range(3)]
    expected = 0.25 * f[0] + 0.5 * f[1] + 0.25 * f[2]
    assert np.abs(image - expected).max() <= 2.0  # uint8 running mean rounds once per step
    changed = (f[0] != f[1]) | (f[1] != f[2])
    assert np.abs(image[changed] - f[1][changed]).max() > 30  # really a blend, not frame n+1


def test_scene_is_a_pure_function_of_frame_number():
    """Two scenes of the same size render identical frames; different frames differ."""
    a, b = Scene(640, 360, R), Scene(640, 360, R)
    assert np.array_equal(a.frame(N), b.frame(N))
    assert not np.array_equal(a.frame(N), a.frame(N + 1))
