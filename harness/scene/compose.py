"""The scene the display shows: a pure function of time.

Display frame ``n`` is presented at ``n / refresh_hz`` seconds of scene reference time and
shows the time code for ``n``. Because the scene is a function, an emulated camera renders
only the frames that end up in a clip, and a lab can render the same scene to a file.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from harness.scene.busy import BITRATE_FACTOR, SCENE_VARIANTS, BusyLayer, SceneVariant
from harness.scene.presentation import PATCH, Presentation, patch_level
from harness.scene.stimulus import flash_on
from harness.scene.timecode import SceneRenderer

FLASH_BAND = (0.0, 0.08)  # top strip of the display: black, white while the A/V stimulus flashes


class Scene:
    def __init__(
        self,
        width: int,
        height: int,
        refresh_hz: float = 60.0,
        run_id: int = 0,
        utc_origin: float = 0.0,
        variant: SceneVariant = "standard",
    ) -> None:
        """``run_id`` and ``utc_origin`` (UTC seconds at scene time 0) go into the code's coarse slots;
        ``variant``: the standard scene or the busy one (harness/scene/busy.py)."""
        self.width = width
        self.height = height
        self.refresh_hz = refresh_hz
        self.run_id = run_id
        self.utc_origin = utc_origin
        self._renderer = SceneRenderer(width, height, run_id=run_id, utc_origin=utc_origin)
        self.frame = lru_cache(maxsize=8)(self._render)
        self._busy: BusyLayer | None = None
        self._variant: SceneVariant = "standard"
        self.variant = variant
        #: when each frame is really on the panel (None: the ideal display, frame n from n / refresh_hz)
        self.presentation: Presentation | None = None

    @property
    def variant(self) -> SceneVariant:
        """Which scene the display shows: 'standard', or 'busy' (a worst case for the camera's encoder)."""
        return self._variant

    @variant.setter
    def variant(self, variant: SceneVariant) -> None:
        if variant not in SCENE_VARIANTS:
            raise ValueError(f"unknown scene variant {variant!r} (known: {', '.join(SCENE_VARIANTS)})")
        if variant != self._variant:
            self.frame.cache_clear()
        self._variant = variant
        if variant == "busy" and self._busy is None:
            self._busy = BusyLayer(self.width, self.height)

    @property
    def bitrate_factor(self) -> float:
        """Encoded bitrate of this variant relative to the standard scene (measured, kept as data)."""
        return BITRATE_FACTOR[self._variant]

    def _render(self, n: int) -> np.ndarray:
        image = self._renderer.render(n, self.refresh_hz)
        if self._variant == "busy" and self._busy is not None:
            self._busy.paint(image, n)
        y0, y1 = (round(f * self.height) for f in FLASH_BAND)
        image[y0:y1] = 255 if flash_on(self.present_time(n), self.refresh_hz) else 0
        x0, py0, x1, py1 = (round(f * s) for f, s in zip(PATCH, (self.width, self.height) * 2))
        image[py0:py1, x0:x1] = 255 if patch_level(n) else 0  # the photodiode patch
        return image

    def flash_band(self) -> tuple[int, int]:
        """Rows of the flash strip at this scene's size."""
        return round(FLASH_BAND[0] * self.height), round(FLASH_BAND[1] * self.height)

    def index_at(self, t: float) -> int:
        """Display frame on screen at reference time ``t``."""
        return math.floor(t * self.refresh_hz + 1e-9)

    def present_time(self, n: int) -> float:
        return n / self.refresh_hz

    def expose(self, t0: float, t1: float) -> np.ndarray:
        """What a sensor integrates from ``t0`` to ``t1``: display frames weighted by time on screen."""
        if self.presentation is not None:
            return self._expose_shown(t0, t1, self.presentation)
        first, last = self.index_at(t0), self.index_at(max(t0, t1 - 1e-9))
        if first == last:
            return self.frame(first)
        span = t1 - t0
        weights = [
            (n, (min(t1, self.present_time(n + 1)) - max(t0, self.present_time(n))) / span)
            for n in range(first, last + 1)
        ]
        image, seen = self.frame(weights[0][0]), weights[0][1]
        for n, w in weights[1:]:  # running weighted mean in uint8 arithmetic (cv2 rounds and saturates)
            seen += w
            image = cv2.addWeighted(image, 1.0 - w / seen, self.frame(n), w / seen, 0.0)
        return image

    def _expose_shown(self, t0: float, t1: float, presentation: Presentation) -> np.ndarray:
        """:meth:`expose` on a display whose frames are on the panel when ``presentation`` says."""
        span = max(t1 - t0, 1e-9)
        weights = [(n, (min(t1, off) - max(t0, on)) / span) for n, on, off in presentation.shown(t0, t1)]
        image, seen = self.frame(weights[0][0]), weights[0][1]
        for n, w in weights[1:]:
            seen += w
            image = cv2.addWeighted(image, 1.0 - w / seen, self.frame(n), w / seen, 0.0)
        return image
