"""Tests for `bwc scene render`: the file a lab plays reads back frame for frame, also re-encoded."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from harness.analysis.clip import analyze_clip
from harness.scene.movie import render_scene, transcode
from harness.scene.timecode import Coarse, Reading, TimecodeDecoder
from harness.scene.video import luma

W, H, R, FPS, START = 640, 360, 60.0, 30.0, 12.0
RUN, ORIGIN = 321, 1_767_225_600.0


def expected(k: int) -> int:
    """Display frame on screen at output frame k."""
    return int(np.floor((START + k / FPS) * R + 1e-9))


def readings(path: Path) -> list[Reading]:
    decoder = TimecodeDecoder(W, H)
    with av.open(str(path)) as container:
        return [decoder.decode(np.ascontiguousarray(luma(f))) for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("render") / "scene.mp4"
    assert render_scene(out, FPS, START, 1.0, W, H, R, run_id=RUN, utc_origin=ORIGIN) == 30
    return out


def test_lossless_render_reads_back_exactly(rendered):
    got = readings(rendered)
    assert got == [Reading("clean", expected(k)) for k in range(30)]
    assert all(r.coarse == Coarse(RUN, int(ORIGIN + expected(k) / R), True) for k, r in enumerate(got))
    a = analyze_clip(rendered, R, run_id=RUN)
    assert (a.frames, a.decoded, a.gaps, a.duplicates, a.error) == (30, 30, [], [], None)
    assert a.first_ref_s == pytest.approx(START + 0.5 / R)


@pytest.mark.parametrize("codec", ["mjpeg", "hevc"])
def test_re_encoded_by_another_encoder_reads_back_with_no_wrong_value(rendered, tmp_path, codec):
    """A lab's playout chain may re-encode the file: MJPEG or HEVC through PyAV changes no reading."""
    out = tmp_path / f"scene_{codec}.mkv"
    assert transcode(rendered, out, codec) == 30
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == codec
    assert readings(out) == [Reading("clean", expected(k)) for k in range(30)]


def test_png_frames_read_back_exactly(tmp_path):
    out = tmp_path / "frames"
    assert render_scene(out, FPS, START, 0.5, W, H, R) == 15
    files = sorted(out.glob("scene_*.png"))
    assert len(files) == 15
    decoder = TimecodeDecoder(W, H)
    for k, f in enumerate(files):
        assert decoder.decode(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)) == Reading("clean", expected(k))


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        render_scene(tmp_path / "x.mp4", 0, 0, 1, W, H)
    with pytest.raises(ValueError):
        render_scene(tmp_path / "x.mp4", 30, -1, 1, W, H)
    with pytest.raises(ValueError):
        render_scene(tmp_path / "x.mp4", 30, 0, 1, W, H, codec="vp9")
