"""The busy scene variant: a worst case for a camera's encoder, around a time code that still reads.

Some cameras keep their pre-event buffer in storage of a fixed size (the Axis W100 family says so
in its manual): in a complex scene with much movement the encoder spends more bits per second, the
storage holds fewer seconds, and the buffer comes out shorter than configured. A certification
films such a scene to catch it. The busy variant adds, to every display frame of the standard
scene:

* a fine random texture (2-pixel grain) that moves fast (several pixels per display frame, in two
  directions) in the bands above and below the code (outside its quiet zone, away from the flash
  strip, so the A/V stimulus and the code are untouched);
* fresh noise on the grey quiet zone around the code's cells and anchors (not on the cells).

The code's cells are compared in complementary pairs and sampled away from their edges, so the
time code still decodes (tests/harness/scene/test_busy.py reads it back through the capture model).

:data:`BITRATE_FACTOR` is the figure the emulated camera uses for the encoded bitrate of each
variant relative to the standard scene; it was measured once with
``benchmarks/bench_scene_bitrate.py`` (constant-quality x264, the emulated camera's preset) and is
kept here as data.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from harness.plan.scenario import SCENE_VARIANTS, SceneVariant
from harness.scene.timecode.layout import DEFAULT_LAYOUT, CodeLayout

__all__ = ["BITRATE_FACTOR", "SCENE_VARIANTS", "BusyLayer", "SceneVariant"]

#: encoded bitrate of each variant relative to the standard scene, at the same quality, as
#: benchmarks/bench_scene_bitrate.py measured it (x264 ultrafast CRF 23, moderate capture realism,
#: 640x360 at 30 fps, the size CI writes: 397 vs 2347 kbit/s; 8.8x at 1280x720, 9x with HEVC)
BITRATE_FACTOR: dict[SceneVariant, float] = {"standard": 1.0, "busy": 5.9}

GRAIN_PX = 2  # texture grain: fine enough to be costly, coarse enough to survive the optics
NOISE_SIGMA = 10.0  # grey levels of noise on the quiet zone
MOTION_PX = (7, 3)  # texture motion per display frame (x, y)
FLASH_END = 0.08  # below the scene's flash strip (harness.scene.compose.FLASH_BAND)


class BusyLayer:
    """Paints the busy variant's texture and noise onto a standard scene frame of one size."""

    def __init__(self, width: int, height: int, layout: CodeLayout = DEFAULT_LAYOUT, seed: int = 2024) -> None:
        self.width = width
        self.height = height
        self.layout = layout
        rng = np.random.default_rng(seed)
        grains = rng.integers(0, 2, size=(height // GRAIN_PX + 2, width // GRAIN_PX + 2), dtype=np.uint8)
        tile = np.kron(grains, np.ones((GRAIN_PX, GRAIN_PX), np.uint8)) * 255
        self._tile = np.tile(tile, (2, 2))  # room to shift by up to one tile either way
        self._noise = np.clip(rng.normal(0.0, NOISE_SIGMA, size=(16, height, width)), -127, 127).astype(np.int8)

    @cached_property
    def _bands(self) -> list[tuple[int, int]]:
        """Rows of the textured bands: above the code's quiet zone (below the flash strip) and below it."""
        lay, h = self.layout, self.height
        return [(round(FLASH_END * h), round(lay.quiet_y0 * h)), (round(lay.quiet_y1 * h), h)]

    @cached_property
    def _quiet_mask(self) -> np.ndarray:
        """Pixels of the quiet zone that are plain grey background (not a cell, not an anchor)."""
        lay, w, h = self.layout, self.width, self.height
        mask = np.zeros((h, w), bool)
        mask[round(lay.quiet_y0 * h) : round(lay.quiet_y1 * h)] = True
        rects = [lay.cell_rects(b) for b in ("fine", "A", "B")] + [lay.anchor_rects()]
        for x0, y0, x1, y1 in np.concatenate(rects):
            mask[round(y0 * h) : round(y1 * h), round(x0 * w) : round(x1 * w)] = False
        return mask

    def paint(self, image: np.ndarray, n: int) -> np.ndarray:
        """``image`` (the standard frame ``n``, uint8 H x W) with the busy layers, in place."""
        th, tw = self._tile.shape[0] // 2, self._tile.shape[1] // 2
        dx, dy = (n * MOTION_PX[0]) % tw, (n * MOTION_PX[1]) % th
        for y0, y1 in self._bands:
            image[y0:y1] = self._tile[dy + y0 : dy + y1, dx : dx + self.width]
        noisy = image.astype(np.int16) + self._noise[n % len(self._noise)]
        mask = self._quiet_mask
        image[mask] = np.clip(noisy[mask], 0, 255).astype(np.uint8)
        return image
