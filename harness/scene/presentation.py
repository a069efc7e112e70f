"""When each display frame is really on the panel, and the patch a photodiode watches to find out.

The scene is a function of *nominal* time: display frame ``n`` is due at ``n / refresh_hz``. A real
display shows it later: the compositor hands it over a few milliseconds after it was drawn and the
panel takes it at its next vertical blank (the refresh phase), so every frame is up a roughly
constant ``delay_s`` late; now and then the pipeline misses a blank (the frame before stays up one
refresh more and the late frame replaces the next one) or drops a frame outright.

:class:`Presentation` is the ideal display (frame ``n`` from ``n / refresh_hz`` to ``(n + 1) /
refresh_hz``); :class:`RealisticPresentation` is the seeded model above. Both are pure functions of
the refresh slot, so the emulated camera and the emulated photodiode see the same truth without
sharing state.

The **photodiode patch** (:data:`PATCH`, bottom-right corner, outside everything the analysis
reads) is white or black per frame by :func:`patch_level`: it toggles every refresh except once
in :data:`MARK_EVERY` frames, where it keeps its level. The toggles give a light edge (a present
time) on every refresh; the kept level is a slow pattern that tells a repeated frame from a
skipped one, so a frame shown twice, late or not at all is found from the edges alone
(harness/devices/present_photodiode.py).
"""

from __future__ import annotations

import math

import numpy as np

#: the photodiode patch: (x0, y0, x1, y1) as fractions of the display (below the per-second bar)
PATCH = (0.955, 0.955, 1.0, 1.0)
#: the realistic display's compositor delay range (s), before the wait for the vertical blank
COMPOSITOR_S = (0.001, 0.004)
#: one frame in this many keeps the patch's level (the slow pattern)
MARK_EVERY = 60


def patch_level(n: int | np.ndarray) -> int | np.ndarray:
    """1 (white) or 0 (black): the patch in display frame ``n``.

    It toggles every frame but one in :data:`MARK_EVERY`: frame ``n`` with ``n % MARK_EVERY == 0``
    keeps the level of the frame before (the slow pattern). A toggle every refresh makes a
    frame shown twice, late or not at all a missing light edge; the rare kept level marks which
    frame is which, so a frame skipped is not mistaken for a frame repeated and the frames are
    numbered from the edges alone. (One bit per refresh cannot do both everywhere: a drop of
    the marked frame itself looks like none.)
    """
    return (n - n // MARK_EVERY) & 1


def _uniform(seed: int, k: np.ndarray) -> np.ndarray:
    """A uniform [0, 1) number per refresh slot ``k`` (splitmix64 of seed and slot): no state."""
    with np.errstate(over="ignore"):
        z = (
            np.asarray(k, dtype=np.int64).astype(np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        ) * np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(31)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(29)
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


class Presentation:
    """The ideal display: refresh slot ``k`` shows frame ``k`` from ``k / refresh_hz`` on."""

    ideal = True
    delay_s = 0.0

    def __init__(self, refresh_hz: float) -> None:
        self.refresh_hz = refresh_hz
        self.period_s = 1.0 / refresh_hz

    def slot_at(self, t: float) -> int:
        """The refresh slot on the panel at ``t``."""
        return math.floor((t - self.delay_s) * self.refresh_hz + 1e-9)

    def slot_start(self, k: int | np.ndarray) -> float | np.ndarray:
        return k * self.period_s + self.delay_s

    def frames(self, k: np.ndarray) -> np.ndarray:
        """The display frame each refresh slot ``k`` shows."""
        return np.asarray(k, dtype=np.int64)

    def frame_at(self, t: float) -> int:
        return int(self.frames(np.array([self.slot_at(t)]))[0])

    def shown(self, t0: float, t1: float) -> list[tuple[int, float, float]]:
        """(frame, on, off) of every slot on the panel in [t0, t1), consecutive slots of one frame merged."""
        k = np.arange(self.slot_at(t0), self.slot_at(max(t0, t1 - 1e-9)) + 1)
        f = self.frames(k)
        out: list[tuple[int, float, float]] = []
        for slot, frame in zip(k.tolist(), f.tolist()):
            on, off = float(self.slot_start(slot)), float(self.slot_start(slot + 1))
            if out and out[-1][0] == frame:
                out[-1] = (frame, out[-1][1], off)
            else:
                out.append((frame, on, off))
        return out

    def on_panel(self, n: int) -> float | None:
        """When frame ``n`` first appeared (None: never shown)."""
        for k in (n, n + 1):
            if int(self.frames(np.array([k]))[0]) == n:
                return float(self.slot_start(k))
        return None


class RealisticPresentation(Presentation):
    """A display pipeline as a bench has one (seeded): constant delay, an occasional miss.

    ``delay_s`` = compositor delay (``compositor_s``, drawn in its range) + the wait for the next
    vertical blank (the refresh phase, uniform over a refresh). Per refresh slot, with probability
    ``late_rate`` the frame misses its blank (slot ``k`` repeats frame ``k - 1``, slot ``k + 1``
    shows frame ``k``, frame ``k + 1`` is never shown) and with probability ``drop_rate`` it is
    dropped (slot ``k`` repeats frame ``k - 1``): by default one miss in about half a minute.
    """

    ideal = False

    def __init__(
        self,
        refresh_hz: float,
        seed: int = 1,
        compositor_s: tuple[float, float] = COMPOSITOR_S,
        late_rate: float = 0.0003,
        drop_rate: float = 0.0002,
    ) -> None:
        super().__init__(refresh_hz)
        rng = np.random.default_rng([seed, 0x5EED])
        self.seed = seed
        self.compositor_s = float(rng.uniform(*compositor_s))
        self.phase_s = float(rng.uniform(0.0, self.period_s))
        self.delay_s = self.compositor_s + self.phase_s
        self.late_rate = late_rate
        self.drop_rate = drop_rate

    def _late(self, k: np.ndarray) -> np.ndarray:
        return _uniform(self.seed, k) < self.late_rate

    def _drop(self, k: np.ndarray) -> np.ndarray:
        u = _uniform(self.seed, k)
        return (u >= self.late_rate) & (u < self.late_rate + self.drop_rate)

    def frames(self, k: np.ndarray) -> np.ndarray:
        k = np.asarray(k, dtype=np.int64)
        repeat = self._late(k) | self._late(k - 1) | self._drop(k)
        return k - repeat.astype(np.int64)
