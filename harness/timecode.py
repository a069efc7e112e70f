"""Machine-readable display time code: render it, film it, decode the display frame counter.

A display in front of the camera shows, on every refresh, the display-frame counter ``n``.
The camera films it and :class:`TimecodeDecoder` reads ``n`` back from each camera frame, which
ties every camera frame to a display refresh (and so to the harness clock).

Why the code looks the way it does:

* **Complementary pairs.** Each bit is a pair of horizontally adjacent cells, the bit cell
  (white = 1) and its complement. The decision compares the two cells with each other,
  ``d = (a - b) / (a + b + eps)``, so it does not depend on exposure, gain, white balance or a
  fixed threshold. The cells sit side by side on the same scan lines, so a rolling shutter
  exposes both at the same moment and cannot tear a pair apart. A cell pair whose two display
  frames disagree comes out as a near-equal mix when the exposure spans both frames: such a
  bit is reported *ambiguous* (``|d| <= 0.25``) instead of being guessed.
* **Gray code.** The 24-bit counter is Gray coded, so ``n`` and ``n + 1`` (including the wrap
  ``2**24 - 1 -> 0``) differ in exactly one counter bit. An exposure that blends two consecutive
  display frames therefore leaves at most one counter bit ambiguous, and both ways of
  resolving it are the two real neighbours. With plain binary a blend of 0x7FFF/0x8000 would
  smear 16 bits and could not be bracketed.
* **CRC-8.** Eight check bits (poly 0x07, init 0, over the binary counter) reject frames whose
  decided bits do not belong together: a torn or mis-read frame, bits of two non-adjacent
  values, or a scene that only looks like a code. The residual risk that an arbitrary wrong
  bit pattern passes is 2**-8 per frame; structural checks (anchors, Gray adjacency,
  blend consistency) catch the common failure modes before the CRC is needed.
* **Blends give a bracket.** When some bits are ambiguous the decoder looks for the one pair
  ``(m, m + 1)`` that explains every bit: each ambiguous bit must be a bit where ``code(m)``
  and ``code(m + 1)`` differ, each decided bit must equal one of them. Exactly one such pair is
  reported as ``Reading("blended", m)`` (the camera saw both refreshes); anything else is
  ``undecodable``. The decoder never reports a single value it did not see.

Layout: two rows of 16 bit pairs (32 cells per row) in one horizontal band across the middle
of the frame, bits 0-15 (counter MSBs) in the top row and bits 16-31 (counter LSBs, then CRC)
in the bottom row. A finder anchor (white square, black core) sits at each end of the band; a
quiet mid-grey zone surrounds it. A rolling-shutter tear between the two rows mixes whole rows
of two neighbouring refreshes, which the CRC rejects (the CRC of ``n`` and ``n + 1`` always
differ). All geometry is normalized (fractions of width/height) in :class:`CodeLayout`, so
one layout renders and decodes at any resolution of the same aspect.

No wall-clock reads here: time in the rendered text is ``n / refresh_hz``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

COUNTER_BITS = 24
CRC_BITS = 8
CODE_BITS = COUNTER_BITS + CRC_BITS
COUNTER_MODULUS = 1 << COUNTER_BITS
CRC_POLY = 0x07
#: |d| above this decides a bit; at or below it the bit is ambiguous (a blend or no contrast).
DECISION_THRESHOLD = 0.25
#: Minimum anchor contrast (white - black) / (white + black) and minimum luma difference for
#: "a code is in view". Gain-independent first, then an absolute floor so a near-black frame
#: full of sensor noise is not taken for a code.
ANCHOR_MIN_CONTRAST = 0.5
ANCHOR_MIN_DIFFERENCE = 16.0
_EPS = 1.0

WHITE = 255
BLACK = 0
GREY = 128

ReadingKind = Literal["clean", "blended", "undecodable"]


# --------------------------------------------------------------------------- code arithmetic


def gray_encode(n: int) -> int:
    """Gray code of ``n``: consecutive values differ in one bit, so a blend smears one bit."""
    if n < 0:
        raise ValueError("n must be non-negative")
    return n ^ (n >> 1)


def gray_decode(g: int) -> int:
    """Inverse of :func:`gray_encode` (prefix XOR from the MSB down)."""
    if g < 0:
        raise ValueError("g must be non-negative")
    n = g
    shift = 1
    while (g >> shift) != 0:
        n ^= g >> shift
        shift += 1
    return n


def _build_crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _build_crc_table()


def crc8(data: bytes) -> int:
    """CRC-8, poly 0x07, init 0x00, no reflection, no final XOR (a.k.a. CRC-8/SMBUS)."""
    crc = 0
    for byte in data:
        crc = _CRC_TABLE[crc ^ byte]
    return crc


def _counter_crc(n: int) -> int:
    """CRC over the 3 big-endian bytes of the *binary* counter (not the Gray form)."""
    return crc8((n % COUNTER_MODULUS).to_bytes(3, "big"))


_BIT_SHIFTS_COUNTER = np.arange(COUNTER_BITS - 1, -1, -1, dtype=np.int64)
_BIT_SHIFTS_CRC = np.arange(CRC_BITS - 1, -1, -1, dtype=np.int64)


def code_bits(n: int) -> np.ndarray:
    """The 32 payload bits for counter ``n`` (mod 2**24): Gray counter MSB first, then CRC MSB first."""
    n %= COUNTER_MODULUS
    g = gray_encode(n)
    counter = (g >> _BIT_SHIFTS_COUNTER) & 1
    crc = (_counter_crc(n) >> _BIT_SHIFTS_CRC) & 1
    return np.concatenate([counter, crc]).astype(bool)


def _bits_to_int(bits: np.ndarray) -> int:
    value = 0
    for b in bits:
        value = (value << 1) | int(b)
    return value


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Reading:
    """What one camera frame says about the display counter.

    ``value`` is the counter for ``clean`` and the LOWER of the two refreshes for ``blended``;
    ``None`` when ``undecodable`` (then ``reason`` says why).
    """

    kind: ReadingKind
    value: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the frame yields a counter or a bracket of two neighbouring counters."""
        return self.kind != "undecodable"

    @property
    def bracket(self) -> tuple[int, int] | None:
        """``(n, n)`` for clean, ``(m, m + 1)`` for blended, else ``None``.

        The upper end of a blend is ``m + 1`` unreduced (``2**24`` at the wrap) so the bracket
        is always an increasing interval; reduce modulo ``2**24`` to get the displayed counter.
        """
        if self.value is None or self.kind == "undecodable":
            return None
        if self.kind == "clean":
            return (self.value, self.value)
        return (self.value, self.value + 1)


def _undecodable(reason: str) -> Reading:
    return Reading("undecodable", None, reason)


# --------------------------------------------------------------------------- layout


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, half-open


@dataclass(frozen=True)
class CodeLayout:
    """Normalized geometry (fractions of frame width / height) of the code and the scene.

    Defaults give 16x25 px cells at 640x360, 32x50 at 1280x720 and 48x76 at 1920x1080.
    """

    #: the bit band: 2 rows x 32 cells, left edge and top edge
    band_x0: float = 0.10
    band_y0: float = 0.43
    cell_w: float = 0.025
    cell_h: float = 0.07
    pairs_per_row: int = 16
    rows: int = 2
    #: finder anchors at both ends of the band (same height as the band)
    anchor_w: float = 0.07
    anchor_gap: float = 0.01
    #: black core as a fraction of the anchor size, centred
    anchor_core_frac: float = 0.4
    #: quiet mid-grey zone (full width) that nothing else may draw into
    quiet_y0: float = 0.36
    quiet_y1: float = 0.64
    #: fraction of a cell (each side) not sampled, so blur / chroma bleed at edges is ignored
    sample_margin: float = 0.22
    #: human-readable text line (baseline) and its maximum height
    text_baseline_y: float = 0.20
    text_max_h: float = 0.10
    text_max_w: float = 0.92
    #: moving block (one step per display frame) and per-second progress bar
    block_y0: float = 0.72
    block_y1: float = 0.78
    block_steps: int = 64
    bar_y0: float = 0.84
    bar_y1: float = 0.90
    bar_x0: float = 0.05
    bar_x1: float = 0.95

    def __post_init__(self) -> None:
        band_y1 = self.band_y0 + self.rows * self.cell_h
        if not (self.quiet_y0 <= self.band_y0 and band_y1 <= self.quiet_y1):
            raise ValueError("code band must lie inside the quiet zone")
        if self.left_anchor_x0 < 0 or self.right_anchor_x1 > 1:
            raise ValueError("anchors must lie inside the frame")
        text_top, text_bottom = self.text_baseline_y - self.text_max_h, self.text_baseline_y + self.text_max_h
        if text_top < 0 or text_bottom > self.quiet_y0 or self.block_y0 < self.quiet_y1 or self.bar_y0 < self.quiet_y1:
            raise ValueError("text and decorations must stay outside the quiet zone")
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

    def cell_boxes(self, width: int, height: int) -> np.ndarray:
        """Pixel boxes (64, 4) as (x0, y0, x1, y1), payload order: bit i is entry 2i, its complement 2i+1.

        Edges are rounded from the normalized grid, so neighbouring cells share edges exactly
        at every resolution. This is the seam for a later perspective-aware locator.
        """
        xs = np.rint((self.band_x0 + np.arange(self.cells_per_row + 1) * self.cell_w) * width).astype(int)
        ys = np.rint((self.band_y0 + np.arange(self.rows + 1) * self.cell_h) * height).astype(int)
        boxes = []
        for bit in range(self.rows * self.pairs_per_row):
            row, pair = divmod(bit, self.pairs_per_row)
            for col in (2 * pair, 2 * pair + 1):
                boxes.append((xs[col], ys[row], xs[col + 1], ys[row + 1]))
        return np.array(boxes, dtype=int)

    def anchor_boxes(self, width: int, height: int) -> np.ndarray:
        """Pixel boxes (2, 4) of the left and right anchors (outer white square)."""
        y0, y1 = round(self.band_y0 * height), round(self.band_y1 * height)
        boxes = []
        for x0f in (self.left_anchor_x0, self.band_x1 + self.anchor_gap):
            boxes.append((round(x0f * width), y0, round((x0f + self.anchor_w) * width), y1))
        return np.array(boxes, dtype=int)

    def anchor_core(self, box: Box) -> Box:
        """The black core of an anchor box."""
        x0, y0, x1, y1 = (int(v) for v in box)
        w, h = x1 - x0, y1 - y0
        mx = round(w * (1 - self.anchor_core_frac) / 2)
        my = round(h * (1 - self.anchor_core_frac) / 2)
        return (x0 + mx, y0 + my, x1 - mx, y1 - my)

    def anchor_samples(self, box: Box) -> tuple[Box, Box]:
        """(white, black) sample boxes of an anchor: middle of the ring's top strip, inner core."""
        y0 = int(box[1])
        cx0, cy0, cx1, cy1 = self.anchor_core(box)
        pad = (cy0 - y0) // 4  # keep off the ring's outer edge and off the core
        white = (cx0, y0 + pad, cx1, max(cy0 - pad, y0 + pad + 1))
        black = self.inner((cx0, cy0, cx1, cy1), 0.2)
        return white, black

    def inner(self, box: Box | np.ndarray, margin: float | None = None) -> Box:
        """Inner part of a box (margin fraction cut on each side), never empty."""
        m = self.sample_margin if margin is None else margin
        x0, y0, x1, y1 = (int(v) for v in box)
        dx = int(np.floor((x1 - x0) * m))
        dy = int(np.floor((y1 - y0) * m))
        ix0, ix1 = x0 + dx, max(x1 - dx, x0 + dx + 1)
        iy0, iy1 = y0 + dy, max(y1 - dy, y0 + dy + 1)
        return (ix0, iy0, ix1, iy1)

    def sample_boxes(self, width: int, height: int) -> np.ndarray:
        """All sample boxes (4 + 64, 4): anchor white/black (left, right), then inner cell boxes."""
        rows = []
        for a in self.anchor_boxes(width, height):
            white, black = self.anchor_samples(tuple(a))
            rows.extend([white, black])
        rows.extend(self.inner(c) for c in self.cell_boxes(width, height))
        return np.array(rows, dtype=int)


DEFAULT_LAYOUT = CodeLayout()


# --------------------------------------------------------------------------- renderer


class SceneRenderer:
    """Draws the scene the display shows for counter ``n`` (uint8 grey, H x W).

    The static part (grey, quiet zone, anchors, bar frame) is drawn once; each render copies
    it and paints only the 64 cells, the moving block, the bar fill and the text line.
    """

    def __init__(self, width: int, height: int, layout: CodeLayout = DEFAULT_LAYOUT) -> None:
        if width <= 0 or height <= 0:
            raise ValueError("width and height must be positive")
        self.width = width
        self.height = height
        self.layout = layout
        cells = layout.cell_boxes(width, height)
        if int((cells[:, 2] - cells[:, 0]).min()) < 4 or int((cells[:, 3] - cells[:, 1]).min()) < 4:
            raise ValueError(f"{width}x{height} is too small for this layout")
        self._band = (int(cells[:, 0].min()), int(cells[:, 1].min()), int(cells[:, 2].max()), int(cells[:, 3].max()))
        bx0, by0, bx1, by1 = self._band
        # band pixel -> cell index map, so painting the band is one fancy-index
        self._cell_index = np.zeros((by1 - by0, bx1 - bx0), dtype=np.intp)
        for i, (x0, y0, x1, y1) in enumerate(cells):
            self._cell_index[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0] = i
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

    def _draw_background(self) -> np.ndarray:
        lay, w, h = self.layout, self.width, self.height
        img = np.full((h, w), GREY, dtype=np.uint8)
        for a in lay.anchor_boxes(w, h):
            x0, y0, x1, y1 = (int(v) for v in a)
            img[y0:y1, x0:x1] = WHITE
            cx0, cy0, cx1, cy1 = lay.anchor_core(tuple(a))
            img[cy0:cy1, cx0:cx1] = BLACK
        bx0, by0, bx1, by1 = self._bar
        img[by0:by1, bx0:bx1] = 64  # empty bar track
        return img

    def _fit_text(self) -> tuple[float, int]:
        """Largest font scale whose worst-case line fits the text slot (never reaches the quiet zone)."""
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

    def render(self, n: int, refresh_hz: float = 60.0) -> np.ndarray:
        """The scene for display frame ``n`` (the code carries ``n mod 2**24``; the text shows ``n``)."""
        if n < 0:
            raise ValueError("n must be non-negative")
        if refresh_hz <= 0:
            raise ValueError("refresh_hz must be positive")
        img = self._background.copy()
        bits = code_bits(n)
        values = np.empty(2 * CODE_BITS, dtype=np.uint8)
        values[0::2] = np.where(bits, WHITE, BLACK)
        values[1::2] = np.where(bits, BLACK, WHITE)
        bx0, by0, bx1, by1 = self._band
        img[by0:by1, bx0:bx1] = values[self._cell_index]
        # moving block: one step per display frame, wraps every block_steps frames
        step = n % self.layout.block_steps
        x = step * self._block_w
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


# --------------------------------------------------------------------------- decoder


def resolve_states(states: np.ndarray) -> Reading:
    """Turn 32 per-bit decisions (1, 0, or -1 = ambiguous) into a :class:`Reading`.

    Kept separate from pixel sampling so the rules can be tested exhaustively and reused by a
    locator that samples differently (e.g. through a homography).
    """
    states = np.asarray(states, dtype=np.int8)
    if states.shape != (CODE_BITS,):
        raise ValueError(f"expected {CODE_BITS} states")
    amb = states < 0
    if not amb.any():
        n = gray_decode(_bits_to_int(states[:COUNTER_BITS]))
        if _bits_to_int(states[COUNTER_BITS:]) != _counter_crc(n):
            return _undecodable("crc mismatch")
        return Reading("clean", n)

    amb_counter = np.flatnonzero(amb[:COUNTER_BITS])
    if amb_counter.size > 1:
        return _undecodable(f"{amb_counter.size} ambiguous counter bits")
    if amb_counter.size == 1:
        i = int(amb_counter[0])
        counter = np.where(amb[:COUNTER_BITS], 0, states[:COUNTER_BITS])
        g0 = _bits_to_int(counter)
        g1 = g0 | (1 << (COUNTER_BITS - 1 - i))
        lo, hi = sorted((gray_decode(g0), gray_decode(g1)))
        if hi - lo == 1:
            candidates = [lo]
        elif lo == 0 and hi == COUNTER_MODULUS - 1:
            candidates = [hi]  # the wrap 2**24-1 -> 0; report the lower (older) value
        else:
            return _undecodable("ambiguous counter bit does not separate neighbouring values")
    else:
        n0 = gray_decode(_bits_to_int(states[:COUNTER_BITS]))
        candidates = [(n0 - 1) % COUNTER_MODULUS, n0]

    decided = ~amb
    ones = states == 1
    consistent = []
    for m in candidates:
        ca = code_bits(m)
        cb = code_bits(m + 1)
        differ = ca != cb
        if np.any(amb & ~differ):
            continue
        if np.any(decided & ~differ & (ones != ca)):
            continue
        consistent.append(m)
    if len(consistent) == 1:
        return Reading("blended", consistent[0])
    if not consistent:
        return _undecodable("ambiguous bits match no neighbouring pair")
    return _undecodable("ambiguous bits match two neighbouring pairs")


class TimecodeDecoder:
    """Reads the counter from camera frames of one size (no perspective in this version).

    Sample boxes are computed once from the layout; a frame costs one integral image of the
    code region plus a vectorised gather of 68 box sums.
    """

    def __init__(self, width: int, height: int, layout: CodeLayout = DEFAULT_LAYOUT) -> None:
        self.width = width
        self.height = height
        self.layout = layout
        boxes = layout.sample_boxes(width, height)
        # crop to the region that holds all sample boxes; the integral is taken over it only
        self._roi = (
            int(boxes[:, 0].min()),
            int(boxes[:, 1].min()),
            int(boxes[:, 2].max()),
            int(boxes[:, 3].max()),
        )
        rx0, ry0 = self._roi[0], self._roi[1]
        self._x0 = boxes[:, 0] - rx0
        self._y0 = boxes[:, 1] - ry0
        self._x1 = boxes[:, 2] - rx0
        self._y1 = boxes[:, 3] - ry0
        self._area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).astype(np.float64)
        self.boxes = boxes

    def cell_boxes(self, width: int | None = None, height: int | None = None) -> np.ndarray:
        """Full cell boxes for this decoder's frame size (or another size)."""
        return self.layout.cell_boxes(width or self.width, height or self.height)

    def box_means(self, gray: np.ndarray) -> np.ndarray:
        """Mean luma of every sample box: 4 anchor samples, then 64 cells."""
        if gray.shape != (self.height, self.width):
            raise ValueError(f"expected a {self.height}x{self.width} frame, got {gray.shape}")
        if gray.dtype != np.uint8:
            raise ValueError("expected uint8 luma")
        rx0, ry0, rx1, ry1 = self._roi
        integral = cv2.integral(gray[ry0:ry1, rx0:rx1])
        sums = (
            integral[self._y1, self._x1]
            - integral[self._y0, self._x1]
            - integral[self._y1, self._x0]
            + integral[self._y0, self._x0]
        )
        return sums / self._area

    def bit_states(self, means: np.ndarray) -> np.ndarray:
        """Per-bit decision 1 / 0 / -1 (ambiguous) from bit-cell vs complement-cell means."""
        a = means[4::2]
        b = means[5::2]
        d = (a - b) / (a + b + _EPS)
        states = np.full(CODE_BITS, -1, dtype=np.int8)
        states[d > DECISION_THRESHOLD] = 1
        states[d < -DECISION_THRESHOLD] = 0
        return states

    def anchors_visible(self, means: np.ndarray) -> bool:
        """Both anchors show strong white-vs-black contrast (gain independent, with a floor)."""
        for white, black in ((means[0], means[1]), (means[2], means[3])):
            diff = white - black
            if diff < ANCHOR_MIN_DIFFERENCE or diff / (white + black + _EPS) < ANCHOR_MIN_CONTRAST:
                return False
        return True

    def decode(self, gray: np.ndarray) -> Reading:
        """Decode one camera frame; never returns a value the frame does not support."""
        means = self.box_means(gray)
        if not self.anchors_visible(means):
            return _undecodable("no code in view (anchors lack contrast)")
        return resolve_states(self.bit_states(means))
