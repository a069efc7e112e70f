"""The emulated photodiode: a light sensor on the display's patch, seeing only what was presented.

It reads the same presentation model the emulated camera films (harness/scene/presentation.py):
an edge wherever the patch's level changes between one refresh slot and the next, a moment after
the slot starts (the panel's response and the comparator, ``response_s``), with a little jitter.
A frame the display repeated, showed late or dropped changes the edges exactly as it would on a
bench. The emulated rig controller stamps each edge on its own clock (harness/emulator/rig_controller.py).
"""

from __future__ import annotations

import numpy as np

from harness.scene.compose import Scene
from harness.scene.presentation import Presentation, _uniform, patch_level

#: light on the patch to the comparator's switch (panel response + comparator), and its jitter (s)
RESPONSE_S = 0.0003
JITTER_S = 0.00005


class EmulatedPhotodiode:
    def __init__(self, scene: Scene, response_s: float = RESPONSE_S, jitter_s: float = JITTER_S, seed: int = 1) -> None:
        """``scene``: the bench's display; its presentation model (None: ideal) says what was on the panel."""
        self.scene = scene
        self._ideal = Presentation(scene.refresh_hz)
        self.response_s = response_s
        self.jitter_s = jitter_s
        self.seed = seed

    def edges(self, t0: float, t1: float) -> list[tuple[float, int]]:
        """Light edges ``(t, level)`` with ``t0 < t <= t1`` (``level`` 1: the patch turned white)."""
        if t1 <= t0:
            return []
        p = self.scene.presentation or self._ideal
        lag = self.response_s + self.jitter_s
        k = np.arange(p.slot_at(t0 - lag) - 1, p.slot_at(t1) + 2, dtype=np.int64)
        levels = np.asarray(patch_level(p.frames(k)), dtype=np.int64)
        change = np.flatnonzero(levels[1:] != levels[:-1]) + 1
        slots = k[change]
        jitter = (_uniform(self.seed ^ 0x11D, slots) - 0.5) * 2.0 * self.jitter_s
        t = np.asarray(p.slot_start(slots), dtype=np.float64) + self.response_s + jitter
        keep = (t > t0) & (t <= t1)
        return list(zip(t[keep].tolist(), levels[change][keep].tolist()))
