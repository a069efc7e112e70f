"""Tests for the burned-in timestamp strip: exact round trip, rejection of damaged strips, H.264 survival."""

from __future__ import annotations

from datetime import UTC, datetime

import av
import numpy as np
import pytest

from harness.emulator.clip_writer import VideoFrame, write_clip
from harness.scene.compose import Scene
from harness.scene.video import luma
from harness.scene.watermark import BITS, EPOCH, BitsWatermark

STAMP_S = datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def scenes():
    return {(w, h): Scene(w, h, 60.0) for w, h in [(640, 360), (1280, 720)]}


@pytest.mark.parametrize("size", [(640, 360), (1280, 720)])
@pytest.mark.parametrize("utc", [STAMP_S, STAMP_S + 0.001, STAMP_S + 3600 * 24 * 365.25 + 0.999, EPOCH + 0.001])
def test_round_trip_to_the_millisecond(scenes, size, utc):
    """A drawn timestamp reads back within half a millisecond, and the input frame is left untouched."""
    w, h = size
    wm = BitsWatermark(w, h)
    gray = scenes[size].frame(600)
    before = gray.copy()
    marked = wm.draw(gray, utc)
    assert np.array_equal(gray, before)
    assert marked.shape == gray.shape and not np.array_equal(marked, gray)
    value = wm.read(marked)
    assert value is not None
    assert value == pytest.approx(utc, abs=5e-4)


def test_successive_milliseconds_are_distinguished(scenes):
    """Timestamps one millisecond apart read back one millisecond apart."""
    wm = BitsWatermark(640, 360)
    gray = scenes[(640, 360)].frame(600)
    values = [wm.read(wm.draw(gray, STAMP_S + k / 1000)) for k in range(5)]
    assert np.diff(values) == pytest.approx([0.001] * 4, abs=1e-6)


@pytest.mark.parametrize("kind", ["scene", "grey", "black", "noise"])
def test_frame_without_strip_reads_none(scenes, kind):
    """A frame carrying no strip (scene, flat grey, black, random noise) gives None, never a time."""
    w, h = 640, 360
    gray = {
        "scene": scenes[(w, h)].frame(600),
        "grey": np.full((h, w), 128, np.uint8),
        "black": np.zeros((h, w), np.uint8),
        "noise": np.random.default_rng(1).integers(0, 256, (h, w), dtype=np.uint8),
    }[kind]
    assert BitsWatermark(w, h).read(gray) is None


def _fill(img, box, value):
    x0, y0, x1, y1 = box
    img[y0:y1, x0:x1] = value


@pytest.mark.parametrize("bit", [0, 7, 23, 24, 39, 40, 47])
def test_one_swapped_cell_pair_is_rejected_by_crc(scenes, bit):
    """Swapping bit i's two complementary cells (a clean-looking single bit error) fails the CRC: None."""
    wm = BitsWatermark(640, 360)
    marked = wm.draw(scenes[(640, 360)].frame(600), STAMP_S)
    a, b = wm.boxes[2 * bit], wm.boxes[2 * bit + 1]
    va = int(marked[(a[1] + a[3]) // 2, (a[0] + a[2]) // 2])
    vb = int(marked[(b[1] + b[3]) // 2, (b[0] + b[2]) // 2])
    assert {va, vb} == {0, 255}
    _fill(marked, a, vb)
    _fill(marked, b, va)
    assert wm.read(marked) is None


@pytest.mark.parametrize("bit", [0, 30, 47])
def test_ambiguous_cell_pair_is_rejected(scenes, bit):
    """A pair whose cells no longer differ (both mid-grey) is ambiguous: None rather than a guess."""
    wm = BitsWatermark(640, 360)
    marked = wm.draw(scenes[(640, 360)].frame(600), STAMP_S)
    _fill(marked, wm.boxes[2 * bit], 128)
    _fill(marked, wm.boxes[2 * bit + 1], 128)
    assert wm.read(marked) is None
    assert len(wm.boxes) == 2 * BITS


def test_survives_h264(tmp_path, scenes):
    """Ten stamped frames written with write_clip and decoded with PyAV read back to the millisecond."""
    w, h = 640, 360
    wm = BitsWatermark(w, h)
    scene = scenes[(w, h)]
    stamps = [STAMP_S + k * 0.033 + (k % 3) * 0.001 for k in range(10)]
    frames = [VideoFrame(k / 30, wm.draw(scene.frame(600 + 2 * k), stamps[k])) for k in range(10)]
    path = tmp_path / "wm.mp4"
    assert write_clip(path, frames, 30.0, 1500, datetime(2026, 1, 1, tzinfo=UTC)) == 10
    read = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            read.append(wm.read(luma(frame)))
    assert len(read) == 10
    assert None not in read
    assert read == pytest.approx(stamps, abs=5e-4)
