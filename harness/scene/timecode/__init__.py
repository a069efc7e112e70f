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
  end of the fine band and of each slot, let :mod:`.locate` find the code under
  perspective on a downscaled frame when tracking is lost; on every other frame the cells are
  read at fixed positions through the homography found once (a few thousand pixel reads).

All geometry is normalized (fractions of display width / height) in :class:`CodeLayout`, so
one layout renders and decodes at any resolution and under any perspective.

No wall-clock reads here: time in the rendered text is ``n / refresh_hz``.

Modules, bottom to top: :mod:`.codec` (the code's arithmetic and the resolution of a reading),
:mod:`.layout` (geometry), :mod:`.render` (the display side), :mod:`.sampler` (pixel reads and bit
decisions), :mod:`.locate` (finding the code under perspective) and :mod:`.decoder`. This package
exports the names callers use.
"""

from harness.scene.timecode.codec import (
    COARSE_BITS,
    COARSE_CRC_BITS,
    CODE_BITS,
    COUNTER_BITS,
    COUNTER_MODULUS,
    CRC_BITS,
    CRC_POLY,
    RUN_ID_BITS,
    RUN_ID_MODULUS,
    THREE_REFRESHES,
    UTC_BITS,
    UTC_MODULUS,
    Coarse,
    Reading,
    ReadingKind,
    coarse_bits,
    coarse_word,
    code_bits,
    code_word,
    crc8,
    crc16,
    gray_decode,
    gray_encode,
    resolve_coarse,
    resolve_coarse_word,
    resolve_states,
    resolve_word,
    slot_seconds,
)
from harness.scene.timecode.decoder import ACQUIRE_ANCHORS, RELOCATE_AFTER, TimecodeDecoder
from harness.scene.timecode.layout import DEFAULT_LAYOUT, Box, CodeLayout
from harness.scene.timecode.locate import locate
from harness.scene.timecode.render import BLACK, GREY, WHITE, SceneRenderer
from harness.scene.timecode.sampler import (
    ANCHOR_MIN_CONTRAST,
    ANCHOR_MIN_DIFFERENCE,
    DECISION_FLOOR,
    DECISION_RELATIVE,
    DECISION_THRESHOLD,
    CodeSampler,
    anchor_visible,
    bit_decisions,
    upright_homography,
)

__all__ = [
    "ACQUIRE_ANCHORS",
    "ANCHOR_MIN_CONTRAST",
    "ANCHOR_MIN_DIFFERENCE",
    "BLACK",
    "COARSE_BITS",
    "COARSE_CRC_BITS",
    "CODE_BITS",
    "COUNTER_BITS",
    "COUNTER_MODULUS",
    "CRC_BITS",
    "CRC_POLY",
    "DECISION_FLOOR",
    "DECISION_RELATIVE",
    "DECISION_THRESHOLD",
    "DEFAULT_LAYOUT",
    "GREY",
    "RELOCATE_AFTER",
    "RUN_ID_BITS",
    "RUN_ID_MODULUS",
    "THREE_REFRESHES",
    "UTC_BITS",
    "UTC_MODULUS",
    "WHITE",
    "Box",
    "Coarse",
    "CodeLayout",
    "CodeSampler",
    "Reading",
    "ReadingKind",
    "SceneRenderer",
    "TimecodeDecoder",
    "anchor_visible",
    "bit_decisions",
    "coarse_bits",
    "coarse_word",
    "code_bits",
    "code_word",
    "crc8",
    "crc16",
    "gray_decode",
    "gray_encode",
    "locate",
    "resolve_coarse",
    "resolve_coarse_word",
    "resolve_states",
    "resolve_word",
    "slot_seconds",
    "upright_homography",
]
