"""The decoder of one clip's camera frames: locate the code once, then track it, and read the
counter (and, when asked, the coarse slots) from each frame."""

from __future__ import annotations

import numpy as np

from harness.scene.timecode.codec import UTC_MODULUS, Coarse, Reading, resolve_coarse_word, resolve_word, undecodable
from harness.scene.timecode.layout import DEFAULT_LAYOUT, CodeLayout
from harness.scene.timecode.locate import locate
from harness.scene.timecode.sampler import CodeSampler, Means, anchor_visible, bit_decisions, upright_homography

#: anchors (of six) that must show to take a new placement; undecodable frames in a row before
#: a tracked placement is searched for again
ACQUIRE_ANCHORS = 5
RELOCATE_AFTER = 8


class TimecodeDecoder:
    """Reads the counter from the camera frames of one clip: locate once, then track.

    On the first frame (and whenever the fine-band anchors stop showing contrast where they
    were) the decoder tries the upright full-frame placement, then the anchor locator of
    :mod:`harness.scene.timecode.locate` (which works on a downscaled frame). After eight failed searches
    in a row the next ones are spaced out (1, 2, 4 ... 32 frames), so a clip with no code in view
    stays cheap. A tracked placement whose cells stop reading is searched for again after 8
    unreadable frames (then 16, 32 ... while nothing reads). Every other frame costs one gather
    of about seven hundred pixels (two thousand more when the coarse slots are read).
    """

    MAX_SEARCH_GAP = 32
    FREE_SEARCHES = 8  # searches allowed back to back before they are spaced out

    def __init__(
        self, width: int, height: int, layout: CodeLayout = DEFAULT_LAYOUT, coarse_every: int = 1, coarse_first: int = 0
    ) -> None:
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
    @staticmethod
    def _anchor_ok(means: Means, acquire: bool = False) -> bool:
        """Tracking needs the two anchors that bracket the fine band; acquiring a new placement
        needs five of the six, so a random picture cannot pass for the code."""
        _, ring, core = means
        if not (anchor_visible(ring[2], core[2]) and anchor_visible(ring[3], core[3])):
            return False
        return not acquire or sum(map(anchor_visible, ring, core)) >= ACQUIRE_ANCHORS

    def _search(self, gray: np.ndarray) -> CodeSampler | None:
        """Find the code: upright placement first (cheap, every frame), then the anchor locator
        (spaced out after repeated failures)."""
        if self._anchor_ok(self._upright.read_means(gray), acquire=True):
            return self._upright
        if self._wait > 0:
            self._wait -= 1
            return None
        self.searches += 1
        homography = locate(gray, self.layout)
        sampler = None if homography is None else CodeSampler(homography, self.width, self.height, self.layout)
        if sampler is None or not (sampler.fine_inside and self._anchor_ok(sampler.read_means(gray), acquire=True)):
            self._failures += 1
            if self._failures >= self.FREE_SEARCHES:
                self._wait = min(1 << (self._failures - self.FREE_SEARCHES), self.MAX_SEARCH_GAP)
            return None
        return sampler

    def _track(self, gray: np.ndarray) -> tuple[CodeSampler, Means] | None:
        if self.sampler is not None:
            means = self.sampler.read_means(gray)
            if self._anchor_ok(means):
                return self.sampler, means
            self.sampler = None
        found = self._search(gray)
        if found is None:
            return None
        self.sampler, self._failures, self._wait = found, 0, 0
        return found, found.read_means(gray)

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
            return undecodable("no code in view (anchors not found)")
        sampler, (fine, _, _) = tracked
        amb, ones, contrast = bit_decisions(fine)
        reading = resolve_word(amb, ones)
        if reading.kind == "undecodable":
            self._unread += 1
            if self._unread >= self._relocate_after:  # anchors in place but nothing reads: look again
                self.sampler, self._unread = None, 0
                self._relocate_after = min(2 * self._relocate_after, 1024)
        else:
            self._unread, self._relocate_after = 0, RELOCATE_AFTER
        want = self.frames <= self.coarse_first or (self.coarse_every > 0 and self.frames % self.coarse_every == 0)
        coarse = self._coarse(*sampler.read_coarse_means(gray)) if want and sampler.coarse_inside else None
        return Reading(reading.kind, reading.value, reading.reason, coarse, contrast)

    @staticmethod
    def _coarse(slot_a: list[float], slot_b: list[float]) -> Coarse | None:
        a, b = (resolve_coarse_word(*bit_decisions(slot)[:2]) for slot in (slot_a, slot_b))
        a = a if a is not None and a[1] % 2 == 0 else None  # slot A holds even seconds, B odd ones
        b = b if b is not None and b[1] % 2 == 1 else None
        if a is not None and b is not None:
            if a[0] == b[0] and (a[1] - b[1]) % UTC_MODULUS in (1, UTC_MODULUS - 1):
                newer = a[1] if (a[1] - b[1]) % UTC_MODULUS == 1 else b[1]
                return Coarse(a[0], newer, True)
            return None  # two valid slots that do not belong together: trust neither
        one = a or b
        return None if one is None else Coarse(one[0], one[1], False)
