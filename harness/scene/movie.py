"""Render the ideal scene to a file, so a lab can play it full screen from any media player.

The file holds, for output frame ``k``, the display frame on screen at ``start + k / fps`` (no
blending: what a perfect display shows). Rendered at the display's refresh rate (``--fps 60`` for
a 60 Hz monitor), each video frame is one refresh, so the counter a camera films is the one the
harness expects. The same :class:`~harness.scene.timecode.TimecodeDecoder` reads the file back frame
for frame, also after it has been re-encoded by another encoder (:func:`transcode`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from harness.plan.scenario import SceneVariant
from harness.scene.compose import Scene
from harness.scene.video import luma, yuv420_frame

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi")
#: encoder settings per codec and quality: (PyAV encoder, pixel format, options)
ENCODERS: dict[tuple[str, str], tuple[str, str, dict[str, str]]] = {
    ("h264", "lossless"): ("libx264", "yuv420p", {"preset": "veryfast", "qp": "0"}),  # lossless luma
    ("h264", "high"): ("libx264", "yuv420p", {"preset": "veryfast", "crf": "12", "profile": "high"}),
    ("hevc", "lossless"): ("libx265", "yuv420p", {"preset": "veryfast", "x265-params": "lossless=1:log-level=error"}),
    ("hevc", "high"): ("libx265", "yuv420p", {"preset": "veryfast", "crf": "14", "x265-params": "log-level=error"}),
    ("mjpeg", "high"): ("mjpeg", "yuvj420p", {"qmin": "1", "qmax": "3"}),
    ("mjpeg", "lossless"): ("mjpeg", "yuvj420p", {"qmin": "1", "qmax": "1"}),  # the best JPEG can do
}


def _write(out: Path, frames: Iterable[np.ndarray], rate: Fraction, codec: str, quality: str) -> int:
    """Encode grey frames at a constant ``rate`` with one of :data:`ENCODERS`."""
    try:
        name, pix_fmt, options = ENCODERS[(codec, quality)]
    except KeyError:
        raise ValueError(f"no encoder for codec {codec!r} at quality {quality!r}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with av.open(str(out), "w") as container:
        stream = container.add_stream(name, rate=rate)
        assert isinstance(stream, av.VideoStream)  # every encoder of ENCODERS is a video codec
        stream.pix_fmt = pix_fmt
        stream.options = dict(options)
        if codec == "mjpeg":
            stream.bit_rate = 50_000_000
        for k, gray in enumerate(frames):
            if k == 0:
                stream.height, stream.width = gray.shape
            frame = yuv420_frame(gray)
            if pix_fmt != "yuv420p":
                frame = frame.reformat(format=pix_fmt)
            frame.pts = k
            frame.time_base = 1 / rate
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode(None))
    return count


def render_scene(
    out: Path,
    fps: float,
    start: float,
    duration: float,
    width: int,
    height: int,
    refresh_hz: float = 60.0,
    run_id: int = 0,
    utc_origin: float = 0.0,
    codec: str = "h264",
    quality: str = "lossless",
    variant: SceneVariant = "standard",
) -> int:
    """Write frames at ``start + k / fps`` to ``out`` (a video file by suffix, else a PNG folder).

    ``run_id`` and ``utc_origin`` (UTC seconds at scene time 0) fill the code's coarse slots;
    ``variant``: the standard scene or the busy one. Returns the number of frames written.
    """
    if fps <= 0 or duration <= 0:
        raise ValueError("fps and duration must be positive")
    if start < 0:
        raise ValueError("start must not be negative (the display counter starts at 0)")
    scene = Scene(width, height, refresh_hz, run_id=run_id, utc_origin=utc_origin, variant=variant)
    count = math.ceil(duration * fps - 1e-9)
    frames = (scene.frame(scene.index_at(start + k / fps)) for k in range(count))
    if out.suffix.lower() in VIDEO_SUFFIXES:
        return _write(out, frames, Fraction(fps).limit_denominator(1001), codec, quality)
    out.mkdir(parents=True, exist_ok=True)
    for k, image in enumerate(frames):
        cv2.imwrite(str(out / f"scene_{k:06d}.png"), image)
    return count


def transcode(src: Path, dst: Path, codec: str, quality: str = "high") -> int:
    """Re-encode a rendered scene with another encoder (what a lab's playout chain may do)."""
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or Fraction(30)
        frames = (np.ascontiguousarray(luma(f)) for f in container.decode(stream))
        return _write(dst, frames, Fraction(rate), codec, quality)
