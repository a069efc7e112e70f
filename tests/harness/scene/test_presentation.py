"""The display's presentation model and the photodiode patch."""

from __future__ import annotations

import numpy as np

from harness.scene.compose import Scene
from harness.scene.presentation import MARK_EVERY, PATCH, Presentation, RealisticPresentation, patch_level


def test_the_patch_toggles_every_frame_but_the_marked_one() -> None:
    n = np.arange(1, 600)
    same = np.asarray(patch_level(n)) == np.asarray(patch_level(n - 1))
    assert set(n[same].tolist()) == set(range(MARK_EVERY, 600, MARK_EVERY))


def test_the_scene_draws_the_patch_in_its_corner() -> None:
    scene = Scene(640, 360, 60.0)
    x0, y0 = round(PATCH[0] * 640), round(PATCH[1] * 360)
    assert scene.frame(1)[y0 + 2, x0 + 2] == 255 and scene.frame(2)[y0 + 2, x0 + 2] == 0


def test_ideal_presentation_is_the_nominal_schedule() -> None:
    p = Presentation(60.0)
    assert p.on_panel(30) == 0.5 and p.frame_at(0.51) == 30
    shown = p.shown(0.49, 0.51)
    assert [n for n, _, _ in shown] == [29, 30]
    assert np.allclose([(a, b) for _, a, b in shown], [(29 / 60, 0.5), (0.5, 31 / 60)])


def test_realistic_presentation_is_late_by_a_seeded_delay_and_misses_now_and_then() -> None:
    """Every frame is late by compositor delay + refresh phase; a late frame replaces the next
    one, a dropped frame leaves the one before up twice; the same seed gives the same display."""
    p = RealisticPresentation(59.94, seed=4, late_rate=0.01, drop_rate=0.01)
    assert 0.001 <= p.delay_s <= 0.004 + p.period_s
    k = np.arange(0, 20000)
    f = p.frames(k)
    assert np.all(np.diff(f) >= 0) and np.all((k - f) <= 1)
    repeats = int(np.count_nonzero(np.diff(f) == 0))
    assert 200 < repeats < 600  # about 2 % of the refreshes
    shown = [n for n in range(100, 400) if p.on_panel(n) is not None]
    lags = np.array([p.on_panel(n) - n * p.period_s for n in shown]) - p.delay_s
    assert np.allclose(lags[np.abs(lags) > 1e-9], p.period_s)  # on time, or one refresh late
    assert len(shown) < 300  # some never shown
    again = RealisticPresentation(59.94, seed=4, late_rate=0.01, drop_rate=0.01)
    assert again.delay_s == p.delay_s and np.array_equal(again.frames(k), f)


def test_a_camera_exposure_integrates_what_was_on_the_panel() -> None:
    """With a presentation model the scene's exposure weights frames by their time on the panel."""
    scene = Scene(640, 360, 60.0)
    scene.presentation = RealisticPresentation(60.0, seed=2)
    p = scene.presentation
    t = float(p.slot_start(100)) + 0.004  # inside slot 100: frame p.frames(100) only
    frame = int(p.frames(np.array([100]))[0])
    assert np.array_equal(scene.expose(t, t + 0.002), scene.frame(frame))
