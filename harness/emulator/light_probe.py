"""The emulated light probe: a photodiode held on the scene's patch of the emulated panel.

It sees each frame the display presented at the frame's present time (the display's log) plus the
emulated panel's latency (:attr:`harness.emulator.rig.EmulatedRig.panel_latency_s`), through the
sensor's rise-time and threshold scatter, stamped in whole microseconds as a rig controller's
input would be. ``bwc calibrate display`` measures the panel latency from these edges without
knowing the emulator's figure; the test compares the two.
"""

from __future__ import annotations

import math
import random
from typing import Protocol

#: the probe's timing scatter (rise time and threshold crossing), standard deviation (s)
PROBE_SCATTER_S = 0.0002


class PresentTimes(Protocol):
    """What the probe reads from the display's present log."""

    refresh_hz: float
    latency_s: float

    def present_time(self, n: int) -> float | None: ...


class EmulatedLightProbe:
    """Light edges at the patch: ``(display frame, harness time the light changed)``."""

    def __init__(self, log: PresentTimes, panel_latency_s: float, seed: int = 1) -> None:
        self.log = log
        self.panel_latency_s = panel_latency_s
        self._rng = random.Random(seed)
        self.describe = f"emulated photodiode on the patch (scatter {PROBE_SCATTER_S * 1e3:g} ms)"

    def edges(self, t0: float, t1: float) -> list[tuple[int, float]]:
        """The edges of the frames presented in [t0, t1)."""
        r = self.log.refresh_hz
        out = []
        for n in range(math.ceil(t0 * r - 1e-9), math.ceil(t1 * r - 1e-9)):
            p = self.log.present_time(n)
            if p is None:  # never shown: no light change
                continue
            raw = p - self.log.latency_s + self.panel_latency_s + self._rng.gauss(0.0, PROBE_SCATTER_S)
            out.append((n, round(raw * 1e6) / 1e6))
        return out
