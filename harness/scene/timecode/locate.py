"""Finds the time code in a camera frame: its six finder anchors, then the display homography.

Runs only when the decoder has no lock (first frame, or the anchors left their tracked place),
on a downscaled frame first. Finders are white squares with a black core: after a local
threshold they are the only contours that are convex quadrilaterals holding one centred
quadrilateral hole of about the core's area. Which finder is which is settled by hypothesis: every
ordered pair of candidates is tried as the left/right anchors of each block, the homography from
their eight corners predicts where the other anchors must be, and the hypothesis that explains
most candidates wins. The final homography is a least-squares fit to all matched corners,
refined to sub-pixel corners on the full-resolution frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import cv2
import numpy as np

from harness.scene.timecode.layout import CodeLayout

#: frames wider than this are searched at half resolution first
DOWNSCALE_ABOVE_PX = 800
MIN_ANCHOR_AREA_PX = 30.0
MAX_CANDIDATES = 24
#: a predicted anchor centre must lie within this fraction of the anchor's size of a candidate
MATCH_TOLERANCE = 0.35


@dataclass(frozen=True)
class Finder:
    """One finder candidate: outer corners (TL, TR, BR, BL) and centre, in pixel coordinates."""

    corners: np.ndarray
    centre: np.ndarray
    size: float


def _order_corners(quad: np.ndarray) -> np.ndarray:
    """Order four points TL, TR, BR, BL by angle around their centre (y points down)."""
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    ordered = quad[np.argsort(angles)]  # from -pi: TL, TR, BR, BL for a roughly upright square
    start = int(np.argmin(ordered.sum(axis=1)))
    return np.roll(ordered, -start, axis=0)


def binarize(gray: np.ndarray, block: int) -> np.ndarray:
    """Bright-against-surroundings mask: a pixel is set when it is well above its local mean.

    The threshold sits a third of the way from the local mean to the local maximum, so the white
    ring of a finder stays apart from the mid-grey display around it even where the local mean is
    pulled down by a dark room next to the display's edge.
    """
    kernel = np.ones((block, block), np.uint8)
    mean = cv2.blur(gray, (block, block)).astype(np.int16)
    top = cv2.dilate(gray, kernel).astype(np.int16)
    threshold = mean + np.maximum(8, (top - mean) // 3)
    return np.where(gray.astype(np.int16) > threshold, 255, 0).astype(np.uint8)


def find_finders(gray: np.ndarray) -> list[Finder]:
    """Finder candidates in ``gray`` at a few threshold scales (merged, largest first)."""
    h, w = gray.shape
    found: list[Finder] = []
    for block_frac in (1 / 12, 1 / 24, 1 / 6):
        block = max(9, int(min(w, h) * block_frac) | 1)
        for f in _finders_in(binarize(gray, block)):
            if all(np.hypot(*(f.centre - g.centre)) > 0.3 * g.size for g in found):
                found.append(f)
        if len(found) >= 6:
            break
    found.sort(key=lambda f: -f.size)
    return found[:MAX_CANDIDATES]


def _finders_in(binary: np.ndarray) -> list[Finder]:
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hierarchy = hierarchy[0]
    out = []
    for i, contour in enumerate(contours):
        if hierarchy[i][3] != -1 or hierarchy[i][2] == -1:
            continue  # not an outer contour, or no hole
        area = cv2.contourArea(contour)
        if area < MIN_ANCHOR_AREA_PX:
            continue
        quad = cv2.approxPolyDP(contour, 0.06 * cv2.arcLength(contour, True), True)
        if len(quad) != 4 or not cv2.isContourConvex(quad):
            continue
        # the largest hole must be a centred quadrilateral of about the core's area
        child, hole, hole_area = hierarchy[i][2], None, 0.0
        while child != -1:
            a = cv2.contourArea(contours[child])
            if a > hole_area:
                hole, hole_area = contours[child], a
            child = hierarchy[child][0]
        if hole is None or not 0.04 <= hole_area / area <= 0.4:
            continue
        m_out, m_hole = cv2.moments(contour), cv2.moments(hole)
        if m_out["m00"] <= 0 or m_hole["m00"] <= 0:
            continue
        c_out = np.array([m_out["m10"] / m_out["m00"], m_out["m01"] / m_out["m00"]])
        c_hole = np.array([m_hole["m10"] / m_hole["m00"], m_hole["m01"] / m_hole["m00"]])
        size = float(np.sqrt(area))
        if np.hypot(*(c_out - c_hole)) > 0.2 * size:
            continue
        rect = cv2.minAreaRect(quad)
        sides = sorted(rect[1])
        if sides[0] <= 0 or sides[1] / sides[0] > 2.5:
            continue
        corners = _order_corners(quad.reshape(4, 2).astype(np.float64))
        out.append(Finder(corners, c_out, size))
    return out


def _project(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2)


def match_finders(finders: list[Finder], layout: CodeLayout) -> tuple[np.ndarray, np.ndarray] | None:
    """Assign candidates to the six anchors; returns (model corners, image corners) of the matches.

    Every ordered candidate pair is tried as the left/right anchors of each of the three blocks.
    """
    if len(finders) < 2:
        return None
    model = layout.anchor_corners()  # (6, 4, 2)
    centres = np.array([f.centre for f in finders])
    best: tuple[int, float, list[int | None]] | None = None
    for a, b in permutations(range(len(finders)), 2):
        if finders[a].centre[0] >= finders[b].centre[0]:
            continue  # the left anchor is left of the right one (|roll| < 90 degrees)
        ratio = finders[a].size / finders[b].size
        if not 0.4 < ratio < 2.5:
            continue
        for row in range(3):
            left, right = 2 * row, 2 * row + 1
            src = np.concatenate([model[left], model[right]])
            dst = np.concatenate([finders[a].corners, finders[b].corners])
            h, _ = cv2.findHomography(src, dst, 0)
            if h is None or not np.isfinite(h).all():
                continue
            predicted = _project(h, model.mean(axis=1))
            sizes = np.sqrt(np.abs([cv2.contourArea(_project(h, q).astype(np.float32)) for q in model]))
            assigned: list[int | None] = []
            count, error = 0, 0.0
            for j in range(6):
                dist = np.hypot(*(centres - predicted[j]).T)
                k = int(np.argmin(dist))
                if dist[k] <= MATCH_TOLERANCE * max(sizes[j], 1.0):
                    assigned.append(k)
                    count += 1
                    error += dist[k] / max(sizes[j], 1.0)
                else:
                    assigned.append(None)
            if len(set(k for k in assigned if k is not None)) < count:
                continue  # one candidate claimed by two anchors
            if best is None or (count, -error) > (best[0], -best[1]):
                best = (count, error, assigned)
    if best is None or best[0] < 3:
        return None
    matched_model: list[np.ndarray] = []
    matched_image: list[np.ndarray] = []
    for j, found in enumerate(best[2]):
        if found is not None:
            matched_model.append(model[j])
            matched_image.append(finders[found].corners)
    return np.concatenate(matched_model), np.concatenate(matched_image)


def _refine(gray: np.ndarray, corners: np.ndarray, size: float) -> np.ndarray:
    """Sub-pixel corners on the full-resolution frame (window a sixth of an anchor)."""
    win = int(max(2, min(8, size / 6)))
    pts = corners.astype(np.float32).reshape(-1, 1, 2).copy()
    h, w = gray.shape
    if (
        (pts[..., 0] < win + 1).any()
        or (pts[..., 0] > w - win - 2).any()
        or (pts[..., 1] < win + 1).any()
        or (pts[..., 1] > h - win - 2).any()
    ):
        return corners
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 20, 0.05)
    refined = cv2.cornerSubPix(gray, pts, (win, win), (-1, -1), criteria).reshape(-1, 2).astype(np.float64)
    moved = np.hypot(*(refined - corners).T)
    return np.where((moved < 0.5 * win)[:, None], refined, corners)


def locate(gray: np.ndarray, layout: CodeLayout) -> np.ndarray | None:
    """Homography from the layout's normalized display coordinates to ``gray``'s pixels, or None."""
    w = gray.shape[1]
    scales = (0.5, 1.0) if w > DOWNSCALE_ABOVE_PX else (1.0,)
    for scale in scales:
        image = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        finders = find_finders(image)
        matched = match_finders(finders, layout)
        if matched is None:
            continue
        src, dst = matched
        dst = (dst + 0.5) / scale - 0.5  # pixel-centre convention at full resolution
        size = float(np.median([f.size for f in finders])) / scale
        dst = _refine(gray, dst, size)
        homography, _ = cv2.findHomography(src, dst, 0)
        if homography is not None and np.isfinite(homography).all():
            return homography
    return None
