"""Burned-in camera timestamps and the readers that get the camera's clock back out of a frame.

Real cameras burn a human-readable date into each frame (an OCR reader would plug in here). The
emulated camera burns a machine-readable strip instead: its clock in milliseconds since
2020-01-01 UTC as 40 bits plus a CRC-8, each bit a pair of complementary cells (the same idea as
the display's time code, so exposure and compression cannot flip a bit unnoticed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import cv2
import numpy as np

from harness.scene.timecode import crc8

EPOCH = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
VALUE_BITS = 40
BITS = VALUE_BITS + 8
ROWS = 2
X0, X1 = 0.05, 0.95
Y0, Y1 = 0.915, 0.995
THRESHOLD = 0.3


class TimestampReader(Protocol):
    """Reads the camera's own time (UTC seconds since the Unix epoch) from one frame, or None."""

    def read(self, gray: np.ndarray) -> float | None: ...


def _bits(value: int) -> np.ndarray:
    value &= (1 << VALUE_BITS) - 1
    crc = crc8(value.to_bytes(5, "big"))
    word = (value << 8) | crc
    return np.array([(word >> (BITS - 1 - i)) & 1 for i in range(BITS)], dtype=bool)


def _cells(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Cell boxes (x0, y0, x1, y1): bit i is cell 2i, its complement cell 2i+1."""
    per_row = BITS // ROWS * 2
    xs = np.linspace(X0 * width, X1 * width, per_row + 1).round().astype(int)
    ys = np.linspace(Y0 * height, Y1 * height, ROWS + 1).round().astype(int)
    return [(xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(ROWS) for c in range(per_row)]


class BitsWatermark:
    """Draws and reads the emulated camera's timestamp strip at the bottom of the frame."""

    def __init__(self, width: int, height: int) -> None:
        self.boxes = _cells(width, height)
        self.per_row = BITS // ROWS * 2
        self.x0, self.x1 = self.boxes[0][0], self.boxes[self.per_row - 1][2]
        self.widths = np.array([x1 - x0 for x0, _, x1, _ in self.boxes[: self.per_row]])
        self.rows = [(self.boxes[r * self.per_row][1], self.boxes[r * self.per_row][3]) for r in range(ROWS)]
        inner = np.array(
            [
                (x0 + (x1 - x0) // 4, y0 + (y1 - y0) // 4, x1 - (x1 - x0) // 4, y1 - (y1 - y0) // 4)
                for x0, y0, x1, y1 in self.boxes
            ]
        )
        self._ix0, self._iy0, self._ix1, self._iy1 = inner.T
        self._area = (self._ix1 - self._ix0) * (self._iy1 - self._iy0)
        # the strip's rows: read() integrates only these, with the cells' rows taken from their top
        self._strip = (int(self._iy0.min()), int(self._iy1.max()))
        self._iy0, self._iy1 = self._iy0 - self._strip[0], self._iy1 - self._strip[0]

    def draw(self, gray: np.ndarray, utc_s: float) -> np.ndarray:
        """Burn ``utc_s`` into a copy of ``gray`` (one row of cells painted per slice)."""
        out = gray.copy()
        bits = _bits(round((utc_s - EPOCH) * 1000))
        cells = np.empty(BITS * 2, np.uint8)
        cells[0::2] = np.where(bits, 255, 0)
        cells[1::2] = np.where(bits, 0, 255)
        for r, (y0, y1) in enumerate(self.rows):
            row = np.repeat(cells[r * self.per_row : (r + 1) * self.per_row], self.widths)
            out[y0:y1, self.x0 : self.x1] = row
        return out

    def read(self, gray: np.ndarray) -> float | None:
        integral = cv2.integral(gray[self._strip[0] : self._strip[1]])
        sums = (
            integral[self._iy1, self._ix1]
            - integral[self._iy0, self._ix1]
            - integral[self._iy1, self._ix0]
            + integral[self._iy0, self._ix0]
        )
        means = sums / self._area
        a, b = means[0::2], means[1::2]
        d = (a - b) / (a + b + 1e-6)
        if np.any(np.abs(d) < THRESHOLD):
            return None
        word = 0
        for bit in d > 0:
            word = (word << 1) | int(bit)
        value, crc = word >> 8, word & 0xFF
        if crc8(value.to_bytes(5, "big")) != crc:
            return None
        return EPOCH + value / 1000


READERS = {"bits": BitsWatermark}
