"""Machine-readable display time code: render it, film it, decode the display frame counter.

A display in front of the camera shows, on every refresh, the display-frame counter ``n``.
The camera films it and :class:`TimecodeDecoder` reads ``n`` back from each camera frame, which
ties every camera frame to a display refresh (and so to the harness clock).

Why the code looks the way it does:

* **Complementary pairs.** Each bit is a pair of horizontally adjacent cells, the bit cell
  (white = 1) and its complement. The decision compares the two cells with each other,
  ``d = (a - b) / (a + b + eps)``, so it does not depend on exposure, gain, gamma or white
  balance. The cells sit side by side on the same scan lines, so a rolling shutter exposes both
  at the same moment and cannot tear a pair apart. A pair whose two display frames disagree comes
  out as a near-equal mix when the exposure spans both frames: such a bit is reported
  *ambiguous* instead of being guessed. The threshold is relative to the frame's own contrast
  (median ``|d|``), so blur or compression that flattens every cell does not turn clean bits
  into ambiguous ones.
* **Gray code.** The 24-bit counter is Gray coded, so ``n`` and ``n + 1`` (including the wrap
  ``2**24 - 1 -> 0``) differ in exactly one counter bit. An exposure that blends two consecutive
  display frames therefore leaves at most one counter bit ambiguous, and both ways of resolving
  it are the two real neighbours.
* **CRC-8 over the bits as drawn.** Eight check bits (poly 0x07, init 0) are computed over the
  *Gray* counter, i.e. over exactly the bits the camera sees. This code has Hamming distance 4
  at this length and detects every odd number of bit errors, so any 1, 2 or 3 misread cells are
  rejected; a CRC over the binary counter would turn one misread Gray bit into a burst.
* **Blends give a bracket.** When some bits are ambiguous the decoder looks for the one pair
  ``(m, m + 1)`` that explains every bit. Exactly one such pair is reported as
  ``Reading("blended", m)``; anything else is ``undecodable``. The decoder never reports a
  single value it did not see.
* **Coarse absolute data in two alternating slots.** Above and below the fine band, slot A
  shows (run id, UTC second) for the latest *even* UTC second and slot B for the latest *odd*
  one, each guarded by a CRC-16. The slots change one second apart, so an exposure that catches
  one slot changing still sees the other intact (the CTA WAVE idea of alternating positions).
  This ties the fine counter to one run (a clip from another run is recognised) and to UTC.
* **Anchors for locate-then-track.** Six finder squares (white ring, black core), one at each
  end of the fine band and of each slot, let :mod:`harness.scene.code_locator` find the code under
  perspective on a downscaled frame when tracking is lost; on every other frame the cells are
  read at fixed positions through the homography found once (a few thousand pixel reads).

All geometry is normalized (fractions of display width / height) in :class:`CodeLayout`, so
one layout renders and decodes at any resolution and under any perspective.

No wall-clock reads here: time in the rendered text is ``n / refresh_hz``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import cv2
import numpy as np

COUNTER_BITS = 24
CRC_BITS = 8
CODE_BITS = COUNTER_BITS + CRC_BITS
COUNTER_MODULUS = 1 << COUNTER_BITS
CRC_POLY = 0x07
RUN_ID_BITS = 16
UTC_BITS = 32
COARSE_CRC_BITS = 16
COARSE_BITS = RUN_ID_BITS + UTC_BITS + COARSE_CRC_BITS
RUN_ID_MODULUS = 1 << RUN_ID_BITS
UTC_MODULUS = 1 << UTC_BITS
#: |d| must exceed max(floor, relative * median |d| of the frame) to decide a bit.
DECISION_FLOOR = 0.10
DECISION_RELATIVE = 0.35
#: kept for callers of the first version: the absolute threshold of an ideal frame
DECISION_THRESHOLD = DECISION_RELATIVE
#: Minimum anchor contrast (ring - core) / (ring + core) and minimum luma difference for "a code
#: is in view": gain independent first, then an absolute floor against noise-only frames.
ANCHOR_MIN_CONTRAST = 0.3
ANCHOR_MIN_DIFFERENCE = 12.0
#: anchors (of six) that must show to take a new placement; undecodable frames in a row before
#: a tracked placement is searched for again
ACQUIRE_ANCHORS = 5
RELOCATE_AFTER = 8
_EPS = 1.0

WHITE = 255
BLACK = 0
GREY = 128

ReadingKind = Literal["clean", "blended", "undecodable"]
#: reason of a clean reading taken from an exposure over three refreshes (n - 1, n, n + 1)
THREE_REFRESHES = "dominant of a three-refresh exposure"


# --------------------------------------------------------------------------- code arithmetic


def gray_encode(n: int) -> int:
    """Gray code of ``n``: consecutive values differ in one bit, so a blend smears one bit."""
    if n < 0:
        raise ValueError("n must be non-negative")
    return n ^ (n >> 1)


def gray_decode(g: int) -> int:
    """Inverse of :func:`gray_encode` (prefix XOR from the MSB down, for up to 64 bits)."""
    if g < 0:
        raise ValueError("g must be non-negative")
    n = g
    for shift in (1, 2, 4, 8, 16, 32):
        n ^= n >> shift
    return n


def _crc_table(poly: int, width: int) -> tuple[int, ...]:
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
        table.append(crc)
    return tuple(table)


_CRC8_TABLE = _crc_table(CRC_POLY, 8)
_CRC16_TABLE = _crc_table(0x1021, 16)


def crc8(data: bytes) -> int:
    """CRC-8, poly 0x07, init 0x00, no reflection, no final XOR (a.k.a. CRC-8/SMBUS)."""
    crc = 0
    for byte in data:
        crc = _CRC8_TABLE[crc ^ byte]
    return crc


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): guards the coarse word."""
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16_TABLE[(crc >> 8) ^ byte]
    return crc


def _gray_crc(g: int) -> int:
    """CRC over the 3 big-endian bytes of the *Gray* counter, i.e. over the bits as drawn."""
    return crc8(g.to_bytes(3, "big"))


_SHIFTS_64 = np.arange(63, -1, -1, dtype=np.uint64)


def code_bits(n: int) -> np.ndarray:
    """The 32 payload bits for counter ``n`` (mod 2**24): Gray counter MSB first, then its CRC."""
    g = gray_encode(n % COUNTER_MODULUS)
    word = (g << CRC_BITS) | _gray_crc(g)
    return np.unpackbits(np.frombuffer(word.to_bytes(4, "big"), np.uint8)).astype(bool)


def coarse_word(run_id: int, utc_s: int) -> int:
    """The 64-bit coarse word: run id (16), UTC seconds mod 2**32 (32), CRC-16 of both (16)."""
    payload = ((run_id % RUN_ID_MODULUS) << UTC_BITS) | (utc_s % UTC_MODULUS)
    return (payload << COARSE_CRC_BITS) | crc16(payload.to_bytes(6, "big"))


def coarse_bits(run_id: int, utc_s: int) -> np.ndarray:
    """The 64 bits of :func:`coarse_word`, MSB first."""
    return ((np.uint64(coarse_word(run_id, utc_s)) >> _SHIFTS_64) & np.uint64(1)).astype(bool)


def slot_seconds(utc_s: float) -> tuple[int, int]:
    """(slot A, slot B) seconds shown at UTC ``utc_s``: the latest even and the latest odd second."""
    whole = int(np.floor(utc_s))
    even = whole - (whole % 2)
    odd = whole - 1 + (whole % 2)
    return even, odd


def _pack(states: np.ndarray) -> int:
    return int.from_bytes(np.packbits(states.astype(bool)).tobytes(), "big")


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Coarse:
    """The absolute data of one frame: run id and the current UTC second (mod 2**32).

    ``exact`` is True when both slots were read (then ``utc_s`` is the current second); with
    one slot only, the current second is ``utc_s`` or ``utc_s + 1``.
    """

    run_id: int
    utc_s: int
    exact: bool


@dataclass(frozen=True)
class Reading:
    """What one camera frame says about the display counter.

    ``value`` is the counter for ``clean`` and the LOWER of the two refreshes for ``blended``;
    ``None`` when ``undecodable`` (then ``reason`` says why). ``coarse`` (run id, UTC second) and
    ``contrast`` (median |d| of the fine bits) ride along and take no part in equality.
    """

    kind: ReadingKind
    value: int | None = None
    reason: str | None = None
    coarse: Coarse | None = field(default=None, compare=False)
    contrast: float | None = field(default=None, compare=False)

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


def code_word(n: int) -> int:
    """The 32 payload bits of :func:`code_bits` as one integer (Gray counter << 8 | CRC)."""
    g = gray_encode(n % COUNTER_MODULUS)
    return (g << CRC_BITS) | _gray_crc(g)


_WORD_MASK = (1 << CODE_BITS) - 1


def resolve_states(states: np.ndarray) -> Reading:
    """Turn 32 per-bit decisions (1, 0, or -1 = ambiguous) into a :class:`Reading`.

    Kept separate from pixel sampling so the rules can be tested exhaustively. Works on 32-bit
    integers: ``amb`` marks ambiguous bits, ``ones`` the bits decided 1 (MSB = bit 0).
    """
    states = np.asarray(states, dtype=np.int8)
    if states.shape != (CODE_BITS,):
        raise ValueError(f"expected {CODE_BITS} states")
    amb, ones = _pack(states < 0), _pack(states == 1)
    if not amb:
        g = ones >> CRC_BITS
        if ones & 0xFF != _gray_crc(g):
            return _undecodable("crc mismatch")
        return Reading("clean", gray_decode(g))
    amb_counter = amb >> CRC_BITS
    count = amb_counter.bit_count()
    if count == 2:
        return _three_refreshes(amb, ones)
    if count > 1:
        return _undecodable(f"{count} ambiguous counter bits")
    if count == 1:
        g0 = (ones >> CRC_BITS) & ~amb_counter
        lo, hi = sorted((gray_decode(g0), gray_decode(g0 | amb_counter)))
        if hi - lo == 1:
            candidates = [lo]
        elif lo == 0 and hi == COUNTER_MODULUS - 1:
            candidates = [hi]  # the wrap 2**24-1 -> 0; report the lower (older) value
        else:
            return _undecodable("ambiguous counter bit does not separate neighbouring values")
    else:
        n0 = gray_decode(ones >> CRC_BITS)
        candidates = [(n0 - 1) % COUNTER_MODULUS, n0]
    decided = ~amb & _WORD_MASK
    consistent = []
    for m in candidates:
        wa = code_word(m)
        differ = wa ^ code_word(m + 1)
        if amb & ~differ:
            continue  # an ambiguous bit where the two neighbours agree
        if decided & ~differ & (ones ^ wa):
            continue  # a decided bit that neither neighbour has
        consistent.append(m)
    if len(consistent) == 1:
        return Reading("blended", consistent[0])
    if not consistent:
        return _undecodable("ambiguous bits match no neighbouring pair")
    # Both (n-1, n) and (n, n+1) explain the frame: an exposure over three refreshes. When every
    # decided bit (both counter steps included) is that of n, n held most of the exposure on both
    # sides of its midpoint: report n clean, as the frame saw it, with the reason saying why.
    n0 = consistent[1]
    if not decided & (ones ^ code_word(n0)):
        return Reading("clean", n0, THREE_REFRESHES)
    return _undecodable("ambiguous bits match two neighbouring pairs")


def _three_refreshes(amb: int, ones: int) -> Reading:
    """Two ambiguous counter bits: clean ``n`` only if they are exactly the steps n-1 -> n and
    n -> n+1 and every decided bit is that of ``n`` (an exposure over three refreshes, n between)."""
    counter_amb = amb >> CRC_BITS
    bit_i = counter_amb & -counter_amb
    bit_j = counter_amb ^ bit_i
    g0 = (ones >> CRC_BITS) & ~counter_amb
    decided = ~amb & _WORD_MASK
    for g in (g0, g0 | bit_i, g0 | bit_j, g0 | bit_i | bit_j):
        n = gray_decode(g)
        if {gray_decode(g ^ bit_i), gray_decode(g ^ bit_j)} != {(n - 1) % COUNTER_MODULUS, (n + 1) % COUNTER_MODULUS}:
            continue
        wn = code_word(n)
        spread = (wn ^ code_word((n - 1) % COUNTER_MODULUS)) | (wn ^ code_word(n + 1))
        if not decided & (ones ^ wn) and not amb & ~spread:
            return Reading("clean", n, THREE_REFRESHES)
    return _undecodable("2 ambiguous counter bits")


def resolve_coarse(states: np.ndarray) -> tuple[int, int] | None:
    """(run id, UTC second) from one slot's 64 decisions, or None unless every bit is decided and the CRC holds."""
    if states.shape != (COARSE_BITS,) or np.any(states < 0):
        return None
    word = _pack(states)
    payload, crc = word >> COARSE_CRC_BITS, word & 0xFFFF
    if crc16(payload.to_bytes(6, "big")) != crc:
        return None
    return payload >> UTC_BITS, payload & (UTC_MODULUS - 1)


# --------------------------------------------------------------------------- layout


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
        if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
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
        ys = [self.slot_y0[0] + 0.5 * self.coarse_rows * self.coarse_cell_h,
              self.band_y0 + 0.5 * self.rows * self.cell_h,
              self.slot_y0[1] + 0.5 * self.coarse_rows * self.coarse_cell_h]
        xl = self.left_anchor_x0 + 0.5 * self.anchor_w
        xr = self.band_x1 + self.anchor_gap + 0.5 * self.anchor_w
        return [(x, y) for y in ys for x in (xl, xr)]

    def anchor_rects(self) -> np.ndarray:
        """(6, 4) outer rectangles of the anchors, in :meth:`anchor_centres` order."""
        return np.array([(x - self.anchor_w / 2, y - self.anchor_h / 2, x + self.anchor_w / 2, y + self.anchor_h / 2)
                         for x, y in self.anchor_centres()])

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


# --------------------------------------------------------------------------- renderer


class SceneRenderer:
    """Draws the scene the display shows for counter ``n`` (uint8 grey, H x W).

    The static part (grey, anchors, bar track) is drawn once; each render copies it and paints
    the fine cells, the two coarse slots (cached per value: they change once per two seconds),
    the moving block, the bar fill and the text line. ``run_id`` and ``utc_origin`` (UTC seconds
    at scene time 0) feed the coarse slots.
    """

    def __init__(self, width: int, height: int, layout: CodeLayout = DEFAULT_LAYOUT, run_id: int = 0,
                 utc_origin: float = 0.0) -> None:
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
        self._bar = (round(layout.bar_x0 * width), round(layout.bar_y0 * height),
                     round(layout.bar_x1 * width), round(layout.bar_y1 * height))
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


# --------------------------------------------------------------------------- sampling


_RING = np.array([(u, v) for v in (0.15, 0.5, 0.85) for u in (0.15, 0.5, 0.85) if (u, v) != (0.5, 0.5)])
_CORE = np.array([(u, v) for v in (0.44, 0.5, 0.56) for u in (0.44, 0.5, 0.56)])


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
        groups = {"core": [("fine", layout.cell_rects("fine"), grid), ("ring", layout.anchor_rects(), _RING),
                           ("core", layout.anchor_rects(), _CORE)],
                  "coarse": [("A", layout.cell_rects("A"), grid), ("B", layout.cell_rects("B"), grid)]}
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

    def read(self, gray: np.ndarray) -> np.ndarray:
        """Samples of the fine band and the anchors (float32)."""
        ys, xs = self._index["core"]
        return gray[ys, xs].astype(np.float32)

    def read_coarse(self, gray: np.ndarray) -> np.ndarray:
        """Samples of the two coarse slots (float32)."""
        ys, xs = self._index["coarse"]
        return gray[ys, xs].astype(np.float32)

    def means(self, samples: np.ndarray, name: str) -> np.ndarray:
        """Per-cell (or per-anchor) mean of the samples of ``name``."""
        a, b, count, per = self._slices[name]
        return samples[a:b].reshape(count, per).sum(axis=1) * (1.0 / per)


def _decide(d: np.ndarray) -> tuple[np.ndarray, float]:
    contrast = float(np.partition(np.abs(d), d.size // 2)[d.size // 2])
    threshold = max(DECISION_FLOOR, DECISION_RELATIVE * contrast)
    states = np.full(d.shape, -1, dtype=np.int8)
    states[d > threshold] = 1
    states[d < -threshold] = 0
    return states, contrast


def bit_decisions(means: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-bit decision 1 / 0 / -1 (ambiguous) from bit-cell vs complement-cell means, and the
    frame's contrast (median |d|) that sets the threshold."""
    a, b = means[0::2], means[1::2]
    return _decide((a - b) / (a + b + _EPS))


def anchors_visible(ring: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Per anchor: strong ring-vs-core contrast (gain independent, with an absolute floor)."""
    diff = ring - core
    return (diff >= ANCHOR_MIN_DIFFERENCE) & (diff / (ring + core + _EPS) >= ANCHOR_MIN_CONTRAST)


# --------------------------------------------------------------------------- decoder


class TimecodeDecoder:
    """Reads the counter from the camera frames of one clip: locate once, then track.

    On the first frame (and whenever the fine-band anchors stop showing contrast where they
    were) the decoder tries the upright full-frame placement, then the anchor locator of
    :mod:`harness.scene.code_locator` (which works on a downscaled frame). After eight failed searches
    in a row the next ones are spaced out (1, 2, 4 ... 32 frames), so a clip with no code in view
    stays cheap. A tracked placement whose cells stop reading is searched for again after 8
    unreadable frames (then 16, 32 ... while nothing reads). Every other frame costs one gather
    of about seven hundred pixels (two thousand more when the coarse slots are read).
    """

    MAX_SEARCH_GAP = 32
    FREE_SEARCHES = 8  # searches allowed back to back before they are spaced out

    def __init__(self, width: int, height: int, layout: CodeLayout = DEFAULT_LAYOUT, coarse_every: int = 1,
                 coarse_first: int = 0) -> None:
        """``coarse_every``: read the coarse slots on every n-th frame (0: never), and on each of
        the first ``coarse_first`` frames (where a clip's first UTC second boundary is seen)."""
        self.width = width
        self.height = height
        self.layout = layout
        self.coarse_every = coarse_every
        self.coarse_first = coarse_first
        self.frames = 0
        self.sampler: CodeSampler | None = None
        self.searches = 0
        self._upright = CodeSampler(upright_homography(width, height), width, height, layout)
        self._wait = 0
        self._failures = 0
        self._unread = 0
        self._relocate_after = RELOCATE_AFTER

    # -- tracking ---------------------------------------------------------------------------
    def _anchor_ok(self, sampler: CodeSampler, samples: np.ndarray, acquire: bool = False) -> bool:
        """Tracking needs the two anchors that bracket the fine band; acquiring a new placement
        needs five of the six, so a random picture cannot pass for the code."""
        visible = anchors_visible(sampler.means(samples, "ring"), sampler.means(samples, "core"))
        return bool(visible[2] and visible[3]) and (not acquire or int(visible.sum()) >= ACQUIRE_ANCHORS)

    def _search(self, gray: np.ndarray) -> CodeSampler | None:
        """Find the code: upright placement first (cheap, every frame), then the anchor locator
        (spaced out after repeated failures)."""
        from harness.scene.code_locator import locate  # the locator needs the layout defined here

        if self._anchor_ok(self._upright, self._upright.read(gray), acquire=True):
            return self._upright
        if self._wait > 0:
            self._wait -= 1
            return None
        self.searches += 1
        homography = locate(gray, self.layout)
        sampler = None if homography is None else CodeSampler(homography, self.width, self.height, self.layout)
        if sampler is None or not (sampler.fine_inside and self._anchor_ok(sampler, sampler.read(gray), acquire=True)):
            self._failures += 1
            if self._failures >= self.FREE_SEARCHES:
                self._wait = min(1 << (self._failures - self.FREE_SEARCHES), self.MAX_SEARCH_GAP)
            return None
        return sampler

    def _track(self, gray: np.ndarray) -> tuple[CodeSampler, np.ndarray] | None:
        if self.sampler is not None:
            samples = self.sampler.read(gray)
            if self._anchor_ok(self.sampler, samples):
                return self.sampler, samples
            self.sampler = None
        found = self._search(gray)
        if found is None:
            return None
        self.sampler, self._failures, self._wait = found, 0, 0
        return found, found.read(gray)

    def reset(self) -> None:
        """Forget the located code (e.g. before frames of another clip)."""
        self.sampler = None
        self._wait, self._failures = 0, 0

    # -- decoding ---------------------------------------------------------------------------
    def decode(self, gray: np.ndarray) -> Reading:
        """Decode one camera frame; never returns a value the frame does not support."""
        if gray.shape != (self.height, self.width):
            raise ValueError(f"expected a {self.height}x{self.width} frame, got {gray.shape}")
        if gray.dtype != np.uint8:
            raise ValueError("expected uint8 luma")
        self.frames += 1
        tracked = self._track(gray)
        if tracked is None:
            return _undecodable("no code in view (anchors not found)")
        sampler, samples = tracked
        states, contrast = bit_decisions(sampler.means(samples, "fine"))
        reading = resolve_states(states)
        if reading.kind == "undecodable":
            self._unread += 1
            if self._unread >= self._relocate_after:  # anchors in place but nothing reads: look again
                self.sampler, self._unread = None, 0
                self._relocate_after = min(2 * self._relocate_after, 1024)
        else:
            self._unread, self._relocate_after = 0, RELOCATE_AFTER
        want = self.frames <= self.coarse_first or (self.coarse_every > 0 and self.frames % self.coarse_every == 0)
        coarse = self._coarse(sampler, sampler.read_coarse(gray)) if want and sampler.coarse_inside else None
        return Reading(reading.kind, reading.value, reading.reason, coarse, contrast)

    @staticmethod
    def _coarse(sampler: CodeSampler, samples: np.ndarray) -> Coarse | None:
        slots = [resolve_coarse(bit_decisions(sampler.means(samples, name))[0]) for name in ("A", "B")]
        a, b = slots
        a = a if a is not None and a[1] % 2 == 0 else None  # slot A holds even seconds, B odd ones
        b = b if b is not None and b[1] % 2 == 1 else None
        if a is not None and b is not None:
            if a[0] == b[0] and (a[1] - b[1]) % UTC_MODULUS in (1, UTC_MODULUS - 1):
                newer = a[1] if (a[1] - b[1]) % UTC_MODULUS == 1 else b[1]
                return Coarse(a[0], newer, True)
            return None  # two valid slots that do not belong together: trust neither
        one = a or b
        return None if one is None else Coarse(one[0], one[1], False)
