"""Between a clip's presentation times and scene reference time, from its decoded frames.

The time code says which scene instant each frame shows; interpolating between decoded frames
turns any scene instant (a press, a stimulus) into the pts where the clip shows it, and back.
"""

from __future__ import annotations

import numpy as np

from harness.analysis.clip import ClipAnalysis


class ClipMapping:
    def __init__(self, clip: ClipAnalysis, *, grid: bool = False) -> None:
        """``grid``: map through the frames' times on the fitted frame grid (when the fit gave them)
        rather than each frame's own reading, which is quantised to the display refresh: for
        sub-frame instants such as a flash's, whose error must not wander with the beat of the
        frame rate against the refresh."""
        refs = clip.ref_s
        if grid and sum(r is not None for r in clip.grid_ref_s) >= 2:
            refs = clip.grid_ref_s
        pairs = [(p, r) for p, r in zip(clip.pts_s, refs) if r is not None]
        if len(pairs) < 2:
            raise ValueError(f"{clip.path}: fewer than two frames with a readable time code")
        pts, ref = np.array(pairs).T
        # Keep a strictly rising reference for interpolation: a frame whose time code does not
        # exceed every earlier one (a repeat, or a jump backwards) says nothing new about the mapping.
        keep = ref > np.concatenate([[-np.inf], np.maximum.accumulate(ref)[:-1]])
        self.pts, self.ref = pts[keep], ref[keep]

    def pts_at(self, ref_s: float) -> float:
        """The pts at which the clip shows scene time ``ref_s`` (extrapolated at slope 1 outside)."""
        if ref_s <= self.ref[0]:
            return float(self.pts[0] - (self.ref[0] - ref_s))
        if ref_s >= self.ref[-1]:
            return float(self.pts[-1] + (ref_s - self.ref[-1]))
        return float(np.interp(ref_s, self.ref, self.pts))

    def ref_at(self, pts_s: float) -> float:
        """The scene time shown at ``pts_s``."""
        if pts_s <= self.pts[0]:
            return float(self.ref[0] - (self.pts[0] - pts_s))
        if pts_s >= self.pts[-1]:
            return float(self.ref[-1] + (pts_s - self.pts[-1]))
        return float(np.interp(pts_s, self.pts, self.ref))
