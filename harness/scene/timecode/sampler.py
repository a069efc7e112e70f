"""Reads the code's cells and anchors out of a camera frame through a homography (one gather of
pixels per frame) and turns cell means into per-bit decisions relative to the frame's own contrast."""

from __future__ import annotations

import cv2
import numpy as np

from harness.scene.timecode.layout import DEFAULT_LAYOUT, CodeLayout

#: |d| must exceed max(floor, relative * median |d| of the frame) to decide a bit.
DECISION_FLOOR = 0.10
DECISION_RELATIVE = 0.35
#: kept for callers of the first version: the absolute threshold of an ideal frame
DECISION_THRESHOLD = DECISION_RELATIVE
#: Minimum anchor contrast (ring - core) / (ring + core) and minimum luma difference for "a code
#: is in view": gain independent first, then an absolute floor against noise-only frames.
ANCHOR_MIN_CONTRAST = 0.3
ANCHOR_MIN_DIFFERENCE = 12.0

_EPS = 1.0


_RING = np.array([(u, v) for v in (0.15, 0.5, 0.85) for u in (0.15, 0.5, 0.85) if (u, v) != (0.5, 0.5)])
_CORE = np.array([(u, v) for v in (0.44, 0.5, 0.56) for u in (0.44, 0.5, 0.56)])


#: a frame's means: fine cells, anchor rings, anchor cores (:meth:`CodeSampler.read_means`)
Means = tuple[list[float], list[float], list[float]]


def upright_homography(width: int, height: int) -> np.ndarray:
    """Model (normalized display) -> pixel coordinates (OpenCV: pixel centres at integers) of an
    upright full-frame rendering."""
    return np.array([[width, 0.0, -0.5], [0.0, height, -0.5], [0.0, 0.0, 1.0]])


class CodeSampler:
    """Pixel positions of every sample point for one homography; reads a frame in one gather.

    Each cell is read at a 3x3 grid inside its inner part, each anchor at 8 points on its white
    ring and 9 in its black core. Built once per located homography, used on every frame.
    """

    def __init__(self, homography: np.ndarray, width: int, height: int, layout: CodeLayout = DEFAULT_LAYOUT) -> None:
        self.homography = np.asarray(homography, dtype=np.float64)
        self.layout = layout
        m = layout.sample_margin
        grid = np.array([(u, v) for v in (m, 0.5, 1 - m) for u in (m, 0.5, 1 - m)])
        # two gathers: the fine band and anchors (every frame), the coarse slots (when asked)
        self._slices: dict[str, tuple[int, int, int, int]] = {}
        groups = {
            "core": [
                ("fine", layout.cell_rects("fine"), grid),
                ("ring", layout.anchor_rects(), _RING),
                ("core", layout.anchor_rects(), _CORE),
            ],
            "coarse": [("A", layout.cell_rects("A"), grid), ("B", layout.cell_rects("B"), grid)],
        }
        self._index: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        inside: dict[str, np.ndarray] = {}
        for group, members in groups.items():
            points, start = [], 0
            for name, rects, pattern in members:
                pts = self._in_rects(rects, pattern)
                points.append(pts)
                self._slices[name] = (start, start + len(pts), len(rects), len(pattern))
                start += len(pts)
            model = np.concatenate(points).reshape(-1, 1, 2)
            pix = cv2.perspectiveTransform(model, self.homography).reshape(-1, 2)
            xs, ys = np.rint(pix[:, 0]), np.rint(pix[:, 1])
            inside[group] = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
            self._index[group] = (np.clip(ys, 0, height - 1).astype(np.intp), np.clip(xs, 0, width - 1).astype(np.intp))
        self.fine_inside = bool(inside["core"][slice(*self._slices["fine"][:2])].all())
        self.anchors_inside = bool(inside["core"][self._slices["ring"][0] :].all())
        self.coarse_inside = bool(inside["coarse"].all())
        self.cell_px = self._cell_size()
        # a frame's means in one reduction per group: where each cell's (or anchor's) samples start
        self._cells = {
            group: self._cell_starts(names)
            for group, names in (("core", ("fine", "ring", "core")), ("coarse", ("A", "B")))
        }
        self._ring_at = self._slices["fine"][2]
        self._core_at = self._ring_at + self._slices["ring"][2]
        self._slot_b_at = self._slices["A"][2]

    def _cell_starts(self, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """First sample of each cell of ``names`` (in gather order), and 1 / samples per cell."""
        starts: list[int] = []
        weights: list[float] = []
        for name in names:
            first, _, count, per = self._slices[name]
            starts += range(first, first + count * per, per)
            weights += [1.0 / per] * count
        return np.array(starts, np.intp), np.array(weights, np.float32)

    @staticmethod
    def _in_rects(rects: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        x0, y0 = rects[:, 0:1], rects[:, 1:2]
        w, h = rects[:, 2:3] - x0, rects[:, 3:4] - y0
        return np.stack([x0 + pattern[:, 0] * w, y0 + pattern[:, 1] * h], axis=-1).reshape(-1, 2)

    def _cell_size(self) -> float:
        """Smallest projected fine-cell width in pixels (how hard this view is)."""
        r = self.layout.cell_rects("fine")[[0, -1]]
        pts = np.array([[r[0, 0], r[0, 1]], [r[0, 2], r[0, 1]], [r[1, 0], r[1, 3]], [r[1, 2], r[1, 3]]])
        pix = cv2.perspectiveTransform(pts.reshape(-1, 1, 2), self.homography).reshape(-1, 2)
        return float(min(np.hypot(*(pix[1] - pix[0])), np.hypot(*(pix[3] - pix[2]))))

    def read_means(self, gray: np.ndarray) -> Means:
        """This frame's means of the fine cells, the anchor rings and the anchor cores, from one
        gather and one reduction; plain floats, since the few dozen values that follow are cheaper
        to decide in Python than through numpy calls."""
        means = self._means(gray, "core")
        return means[: self._ring_at], means[self._ring_at : self._core_at], means[self._core_at :]

    def read_coarse_means(self, gray: np.ndarray) -> tuple[list[float], list[float]]:
        """This frame's means of the cells of coarse slots A and B."""
        means = self._means(gray, "coarse")
        return means[: self._slot_b_at], means[self._slot_b_at :]

    def _means(self, gray: np.ndarray, group: str) -> list[float]:
        ys, xs = self._index[group]
        starts, weights = self._cells[group]
        return (np.add.reduceat(gray[ys, xs].astype(np.float32), starts) * weights).tolist()


def bit_decisions(means: list[float]) -> tuple[int, int, float]:
    """Per-bit decisions from bit-cell vs complement-cell means, as two integers MSB first: the
    ambiguous bits and the bits decided 1. The threshold follows the frame's own contrast (the
    median |d|, also returned), so gain and exposure do not move it."""
    d = [(a - b) / (a + b + _EPS) for a, b in zip(means[0::2], means[1::2], strict=True)]
    contrast = sorted(abs(x) for x in d)[len(d) // 2]
    threshold = max(DECISION_FLOOR, DECISION_RELATIVE * contrast)
    amb = ones = 0
    for x in d:
        amb, ones = amb << 1, ones << 1
        if x > threshold:
            ones |= 1
        elif x >= -threshold:
            amb |= 1
    return amb, ones, contrast


def anchor_visible(ring: float, core: float) -> bool:
    """Strong ring-vs-core contrast of one anchor (gain independent, with an absolute floor)."""
    diff = ring - core
    return diff >= ANCHOR_MIN_DIFFERENCE and diff / (ring + core + _EPS) >= ANCHOR_MIN_CONTRAST
