"""Draws what the display shows for display frame ``n``: the fine band, the two coarse slots, the
anchors, a moving block, a per-second bar and a text line. No wall-clock reads: time in the text is
``n / refresh_hz``."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from harness.scene.timecode.codec import RUN_ID_MODULUS, coarse_bits, code_bits, slot_seconds
from harness.scene.timecode.layout import DEFAULT_LAYOUT, CodeLayout

WHITE = 255
BLACK = 0
GREY = 128


class SceneRenderer:
    """Draws the scene the display shows for counter ``n`` (uint8 grey, H x W).

    The static part (grey, anchors, bar track) is drawn once; each render copies it and paints
    the fine cells, the two coarse slots (cached per value: they change once per two seconds),
    the moving block, the bar fill and the text line. ``run_id`` and ``utc_origin`` (UTC seconds
    at scene time 0) feed the coarse slots.
    """

    def __init__(
        self, width: int, height: int, layout: CodeLayout = DEFAULT_LAYOUT, run_id: int = 0, utc_origin: float = 0.0
    ) -> None:
        if width <= 0 or height <= 0:
            raise ValueError("width and height must be positive")
        if not 0 <= run_id < RUN_ID_MODULUS:
            raise ValueError(f"run_id must be in [0, {RUN_ID_MODULUS})")
        self.width = width
        self.height = height
        self.layout = layout
        self.run_id = run_id
        self.utc_origin = utc_origin
        self._blocks = {}
        for block in ("fine", "A", "B"):
            cells = layout.cell_boxes(width, height, block)
            if int((cells[:, 2] - cells[:, 0]).min()) < 4 or int((cells[:, 3] - cells[:, 1]).min()) < 4:
                raise ValueError(f"{width}x{height} is too small for this layout")
            bx0, by0 = int(cells[:, 0].min()), int(cells[:, 1].min())
            bx1, by1 = int(cells[:, 2].max()), int(cells[:, 3].max())
            index = np.zeros((by1 - by0, bx1 - bx0), dtype=np.intp)  # block pixel -> cell index
            for i, (x0, y0, x1, y1) in enumerate(cells):
                index[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0] = i
            self._blocks[block] = ((bx0, by0, bx1, by1), index)
        self._bar = (
            round(layout.bar_x0 * width),
            round(layout.bar_y0 * height),
            round(layout.bar_x1 * width),
            round(layout.bar_y1 * height),
        )
        self._background = self._draw_background()
        self._font = cv2.FONT_HERSHEY_SIMPLEX
        self._font_scale, self._thickness = self._fit_text()
        self._block_y = (round(layout.block_y0 * height), round(layout.block_y1 * height))
        self._block_w = max(1, width // layout.block_steps)
        self._slot_patch = lru_cache(maxsize=8)(self._draw_slot)

    def _draw_background(self) -> np.ndarray:
        lay, w, h = self.layout, self.width, self.height
        img = np.full((h, w), GREY, dtype=np.uint8)
        for a in lay.anchor_boxes(w, h):
            x0, y0, x1, y1 = (int(v) for v in a)
            img[y0:y1, x0:x1] = WHITE
            cx0, cy0, cx1, cy1 = lay.anchor_core(a)
            img[cy0:cy1, cx0:cx1] = BLACK
        bx0, by0, bx1, by1 = self._bar
        img[by0:by1, bx0:bx1] = 64  # empty bar track
        return img

    def _fit_text(self) -> tuple[float, int]:
        """Largest font scale whose worst-case line fits the text slot."""
        lay = self.layout
        sample = "frame 99999999  t=9999999.999 s"
        scale = self.height / 360.0
        thickness = max(1, round(2 * self.height / 720))
        for _ in range(40):
            (tw, th), base = cv2.getTextSize(sample, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
            if tw <= lay.text_max_w * self.width and th + base <= lay.text_max_h * self.height:
                break
            scale *= 0.9
        return scale, thickness

    @staticmethod
    def _cell_values(bits: np.ndarray) -> np.ndarray:
        values = np.empty(2 * bits.size, dtype=np.uint8)
        values[0::2] = np.where(bits, WHITE, BLACK)
        values[1::2] = np.where(bits, BLACK, WHITE)
        return values

    def _draw_slot(self, block: str, utc_s: int) -> np.ndarray:
        return self._cell_values(coarse_bits(self.run_id, utc_s))[self._blocks[block][1]]

    def slot_values(self, n: int, refresh_hz: float) -> tuple[int, int]:
        """UTC seconds shown in slots A and B on display frame ``n``."""
        return slot_seconds(self.utc_origin + n / refresh_hz)

    def render(self, n: int, refresh_hz: float = 60.0) -> np.ndarray:
        """The scene for display frame ``n`` (the code carries ``n mod 2**24``; the text shows ``n``)."""
        if n < 0:
            raise ValueError("n must be non-negative")
        if refresh_hz <= 0:
            raise ValueError("refresh_hz must be positive")
        img = self._background.copy()
        (bx0, by0, bx1, by1), index = self._blocks["fine"]
        img[by0:by1, bx0:bx1] = self._cell_values(code_bits(n))[index]
        for block, utc_s in zip(("A", "B"), self.slot_values(n, refresh_hz)):
            (sx0, sy0, sx1, sy1), _ = self._blocks[block]
            img[sy0:sy1, sx0:sx1] = self._slot_patch(block, utc_s)
        # moving block: one step per display frame, wraps every block_steps frames
        x = (n % self.layout.block_steps) * self._block_w
        img[self._block_y[0] : self._block_y[1], x : x + self._block_w] = WHITE
        # progress bar: fills once per second of display time
        per_second = max(1, round(refresh_hz))
        px0, py0, px1, py1 = self._bar
        fill = round((px1 - px0) * ((n % per_second) + 1) / per_second)
        img[py0:py1, px0 : px0 + fill] = 200
        text = f"frame {n}  t={n / refresh_hz:.3f} s"
        org = (round(0.04 * self.width), round(self.layout.text_baseline_y * self.height))
        cv2.putText(img, text, org, self._font, self._font_scale, WHITE, self._thickness, cv2.LINE_AA)
        return img
