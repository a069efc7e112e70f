"""Tests for the pts <-> scene-time mapping of a clip: interpolation, extrapolation, unreadable frames."""

from __future__ import annotations

import pytest

from harness.analysis.clip import ClipAnalysis
from harness.analysis.mapping import ClipMapping

# pts 0 .. 0.4 s; the scene runs at a different rate between frames (10.0 -> 10.4 over 0.2 s of pts),
# so interpolation is distinguishable from an offset, and frame 1's time code is unreadable.
PTS = [0.0, 0.1, 0.2, 0.3, 0.4]
REF = [10.0, None, 10.4, 10.5, 10.6]


@pytest.fixture
def mapping():
    return ClipMapping(ClipAnalysis(path="x", pts_s=PTS, ref_s=REF))


@pytest.mark.parametrize("pts, ref", [(0.0, 10.0), (0.2, 10.4), (0.25, 10.45), (0.4, 10.6)])
def test_ref_at_interpolates(mapping, pts, ref):
    """Inside the clip, ref_at interpolates linearly between decoded frames."""
    assert mapping.ref_at(pts) == pytest.approx(ref, abs=1e-12)


def test_none_refs_are_skipped(mapping):
    """Frame 1 (no time code) does not pin the mapping: pts 0.1 lies halfway between 10.0 and 10.4."""
    assert mapping.ref_at(0.1) == pytest.approx(10.2, abs=1e-12)
    assert mapping.pts_at(10.2) == pytest.approx(0.1, abs=1e-12)
    assert mapping.ref_at(0.05) == pytest.approx(10.1, abs=1e-12)


@pytest.mark.parametrize("ref, pts", [(10.0, 0.0), (10.1, 0.05), (10.45, 0.25), (10.6, 0.4)])
def test_pts_at_interpolates(mapping, ref, pts):
    """Inside the clip, pts_at is the inverse interpolation."""
    assert mapping.pts_at(ref) == pytest.approx(pts, abs=1e-12)


def test_extrapolation_at_slope_one(mapping):
    """Outside the decoded frames both directions extrapolate at slope 1 from the nearest end."""
    assert mapping.ref_at(-1.0) == pytest.approx(9.0, abs=1e-12)
    assert mapping.ref_at(1.4) == pytest.approx(11.6, abs=1e-12)
    assert mapping.pts_at(8.0) == pytest.approx(-2.0, abs=1e-12)
    assert mapping.pts_at(12.0) == pytest.approx(1.8, abs=1e-12)


def test_round_trip(mapping):
    """pts_at(ref_at(p)) == p over and beyond the clip."""
    for p in [-0.5, 0.0, 0.07, 0.13, 0.2, 0.33, 0.4, 0.9]:
        assert mapping.pts_at(mapping.ref_at(p)) == pytest.approx(p, abs=1e-12)


def test_repeated_time_code_keeps_first_frame():
    """A frame repeating the previous time code does not break interpolation: the first occurrence counts."""
    m = ClipMapping(ClipAnalysis(path="x", pts_s=[0.0, 0.1, 0.2, 0.3], ref_s=[5.0, 5.1, 5.1, 5.3]))
    assert m.pts_at(5.1) == pytest.approx(0.1, abs=1e-12)
    assert m.pts_at(5.2) == pytest.approx(0.2, abs=1e-12)  # halfway 5.1@0.1 -> 5.3@0.3


@pytest.mark.parametrize(
    "pts, ref",
    [([], []), ([0.0], [3.0]), ([0.0, 0.1, 0.2], [None, 3.0, None])],
    ids=["empty", "one-frame", "one-decoded"],
)
def test_fewer_than_two_decoded_frames_raise(pts, ref):
    """Fewer than two frames with a time code: ValueError naming the clip."""
    with pytest.raises(ValueError, match="^x: fewer than two"):
        ClipMapping(ClipAnalysis(path="x", pts_s=pts, ref_s=ref))
