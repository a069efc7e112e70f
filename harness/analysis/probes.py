"""Per-frame readings taken in the same decoding pass as the time code."""

from __future__ import annotations

import numpy as np

from harness.scene.watermark import READERS, TimestampReader


class WatermarkProbe:
    """Reads the camera's burned-in clock from each frame (a reader per format: 'bits', or OCR)."""

    def __init__(self, kind: str) -> None:
        if kind not in READERS:
            raise ValueError(f"no burned-in timestamp reader {kind!r}; known: {sorted(READERS)}")
        self.kind = kind
        self.reader: TimestampReader | None = None  # sized on the first frame
        self.samples: list[tuple[int, float]] = []  # (frame index, camera UTC seconds)

    def observe(self, index: int, pts_s: float, gray: np.ndarray) -> None:
        if self.reader is None:
            self.reader = READERS[self.kind](gray.shape[1], gray.shape[0])
        value = self.reader.read(gray)
        if value is not None:
            self.samples.append((index, value))


class BrightnessProbe:
    """Mean luma of each frame: the flash of the A/V stimulus lifts it well above its neighbours."""

    def __init__(self) -> None:
        self.levels: list[float] = []

    def observe(self, index: int, pts_s: float, gray: np.ndarray) -> None:
        self.levels.append(float(gray[::4, ::4].mean()))
