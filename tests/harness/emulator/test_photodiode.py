"""The emulated photodiode sees only what the display really presented."""

from __future__ import annotations

import numpy as np
import pytest

from harness.emulator.photodiode import EmulatedPhotodiode
from harness.scene.compose import Scene
from harness.scene.presentation import RealisticPresentation, patch_level


def test_edges_follow_the_presented_frames_not_the_schedule() -> None:
    scene = Scene(640, 360, 60.0)
    diode = EmulatedPhotodiode(scene, response_s=0.0005, jitter_s=0.0)
    ideal = diode.edges(1.0, 2.0)
    assert len(ideal) == 59  # 60 refreshes, one marked frame keeps its level
    assert ideal[0][0] == pytest.approx(61 / 60 + 0.0005) and ideal[0][1] == patch_level(61)
    scene.presentation = p = RealisticPresentation(60.0, seed=3, drop_rate=0.05)
    edges = diode.edges(1.0, 3.0)
    slots = np.rint((np.array([t for t, _ in edges]) - 0.0005 - p.delay_s) * 60).astype(int)
    frames = p.frames(slots)
    assert [lv for _, lv in edges] == np.asarray(patch_level(frames)).tolist()
    assert all(
        p.frames(np.array([k - 1]))[0] != f for k, f in zip(slots, frames)
    )  # an edge only where the frame changed
    assert len(edges) < 119  # repeated frames give no edge
    assert diode.edges(2.0, 2.0) == [] and diode.edges(1.0, 2.0) + diode.edges(2.0, 3.0) == edges
