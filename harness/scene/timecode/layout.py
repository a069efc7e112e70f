"""Where the code sits on the display: :class:`CodeLayout`, normalized geometry (fractions of display
width / height) shared by the renderer, the sampler and the locator, so one layout renders and
decodes at any resolution and under any perspective."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, half-open


@dataclass(frozen=True)
class CodeLayout:
    """Normalized geometry (fractions of display width / height) of the code and the scene.

    From top to bottom: (a flash strip owned by the scene), a text line, coarse slot A, the fine
    band, coarse slot B, a moving block and a per-second bar. Fine cells are 16x25 px at
    640x360 and 32x50 px at 1280x720.
    """

    band_x0: float = 0.10
    cell_w: float = 0.025
    pairs_per_row: int = 16
    #: the fine band: 2 rows of 16 bit pairs
    band_y0: float = 0.43
    cell_h: float = 0.07
    rows: int = 2
    #: coarse slots A (above) and B (below): 4 rows of 16 pairs each
    slot_y0: tuple[float, float] = (0.19, 0.61)
    coarse_cell_h: float = 0.05
    coarse_rows: int = 4
    #: finder anchors at both ends of each block (all the same size)
    anchor_w: float = 0.07
    anchor_h: float = 0.14
    anchor_gap: float = 0.01
    anchor_core_frac: float = 0.4
    #: mid-grey zone (full width) that only cells and anchors may draw into
    quiet_y0: float = 0.17
    quiet_y1: float = 0.83
    #: fraction of a cell (each side) not sampled, so blur at cell edges is ignored
    sample_margin: float = 0.25
    #: human-readable text line (baseline) and its maximum height
    text_baseline_y: float = 0.145
    text_max_h: float = 0.055
    text_max_w: float = 0.92
    #: moving block (one step per display frame) and per-second progress bar
    block_y0: float = 0.85
    block_y1: float = 0.88
    block_steps: int = 64
    bar_y0: float = 0.90
    bar_y1: float = 0.95
    bar_x0: float = 0.05
    bar_x1: float = 0.95

    def __post_init__(self) -> None:
        blocks = [(self.band_y0, self.band_y1)] + [(y, y + self.coarse_rows * self.coarse_cell_h) for y in self.slot_y0]
        blocks += [(a[1] - 0.5 * self.anchor_h, a[1] + 0.5 * self.anchor_h) for a in self.anchor_centres()]
        if any(y0 < self.quiet_y0 or y1 > self.quiet_y1 for y0, y1 in blocks):
            raise ValueError("code blocks and anchors must lie inside the quiet zone")
        spans = sorted(blocks[:3])
        if any(a[1] > b[0] for a, b in pairwise(spans)):
            raise ValueError("code blocks must not overlap")
        if self.left_anchor_x0 < 0 or self.right_anchor_x1 > 1:
            raise ValueError("anchors must lie inside the frame")
        if self.text_baseline_y - self.text_max_h < 0.08 or self.text_baseline_y > self.quiet_y0:
            raise ValueError("the text line must stay between the flash strip and the quiet zone")
        if self.block_y0 < self.quiet_y1 or self.bar_y0 < self.quiet_y1:
            raise ValueError("decorations must stay outside the quiet zone")
        if not 0 <= self.sample_margin < 0.5:
            raise ValueError("sample_margin must be in [0, 0.5)")

    @property
    def cells_per_row(self) -> int:
        return 2 * self.pairs_per_row

    @property
    def band_x1(self) -> float:
        return self.band_x0 + self.cells_per_row * self.cell_w

    @property
    def band_y1(self) -> float:
        return self.band_y0 + self.rows * self.cell_h

    @property
    def left_anchor_x0(self) -> float:
        return self.band_x0 - self.anchor_gap - self.anchor_w

    @property
    def right_anchor_x1(self) -> float:
        return self.band_x1 + self.anchor_gap + self.anchor_w

    @property
    def code_width(self) -> float:
        """Width of the whole code, anchor edge to anchor edge (fraction of display width)."""
        return self.right_anchor_x1 - self.left_anchor_x0

    # -- model geometry (normalized display coordinates) ------------------------------------
    def cell_rects(self, block: str) -> np.ndarray:
        """(cells, 4) rectangles x0, y0, x1, y1 of ``block`` ('fine', 'A' or 'B') in payload order:
        bit i is entry 2i, its complement 2i + 1."""
        if block == "fine":
            y0, h, rows = self.band_y0, self.cell_h, self.rows
        else:
            y0, h, rows = self.slot_y0[0 if block == "A" else 1], self.coarse_cell_h, self.coarse_rows
        rects = []
        for bit in range(rows * self.pairs_per_row):
            row, pair = divmod(bit, self.pairs_per_row)
            for col in (2 * pair, 2 * pair + 1):
                x = self.band_x0 + col * self.cell_w
                rects.append((x, y0 + row * h, x + self.cell_w, y0 + (row + 1) * h))
        return np.array(rects, dtype=np.float64)

    def anchor_centres(self) -> list[tuple[float, float]]:
        """Centres of the six anchors: A left, A right, fine left, fine right, B left, B right."""
        ys = [
            self.slot_y0[0] + 0.5 * self.coarse_rows * self.coarse_cell_h,
            self.band_y0 + 0.5 * self.rows * self.cell_h,
            self.slot_y0[1] + 0.5 * self.coarse_rows * self.coarse_cell_h,
        ]
        xl = self.left_anchor_x0 + 0.5 * self.anchor_w
        xr = self.band_x1 + self.anchor_gap + 0.5 * self.anchor_w
        return [(x, y) for y in ys for x in (xl, xr)]

    def anchor_rects(self) -> np.ndarray:
        """(6, 4) outer rectangles of the anchors, in :meth:`anchor_centres` order."""
        return np.array(
            [
                (x - self.anchor_w / 2, y - self.anchor_h / 2, x + self.anchor_w / 2, y + self.anchor_h / 2)
                for x, y in self.anchor_centres()
            ]
        )

    def anchor_corners(self) -> np.ndarray:
        """(6, 4, 2) outer corners of each anchor: top-left, top-right, bottom-right, bottom-left."""
        r = self.anchor_rects()
        return np.stack([r[:, [0, 1]], r[:, [2, 1]], r[:, [2, 3]], r[:, [0, 3]]], axis=1)

    # -- pixel geometry of an upright rendering --------------------------------------------
    def pixel_box(self, rect: np.ndarray | tuple[float, ...], width: int, height: int) -> Box:
        x0, y0, x1, y1 = rect
        return (round(x0 * width), round(y0 * height), round(x1 * width), round(y1 * height))

    def cell_boxes(self, width: int, height: int, block: str = "fine") -> np.ndarray:
        """Pixel boxes (cells, 4) of ``block`` in an upright rendering at ``width`` x ``height``."""
        return np.array([self.pixel_box(r, width, height) for r in self.cell_rects(block)], dtype=int)

    def anchor_boxes(self, width: int, height: int) -> np.ndarray:
        """Pixel boxes (6, 4) of the anchors' outer white squares in an upright rendering."""
        return np.array([self.pixel_box(r, width, height) for r in self.anchor_rects()], dtype=int)

    def anchor_core(self, box: Box | np.ndarray) -> Box:
        """The black core of an anchor box."""
        x0, y0, x1, y1 = (int(v) for v in box)
        mx = round((x1 - x0) * (1 - self.anchor_core_frac) / 2)
        my = round((y1 - y0) * (1 - self.anchor_core_frac) / 2)
        return (x0 + mx, y0 + my, x1 - mx, y1 - my)


DEFAULT_LAYOUT = CodeLayout()
