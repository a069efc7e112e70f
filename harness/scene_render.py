"""Render the ideal scene to a file, so a lab can play it full screen from any media player."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import cv2

from harness.scene import Scene
from harness.video import yuv420_frame


def render_scene(out: Path, fps: float, start: float, duration: float, width: int, height: int,
                 refresh_hz: float = 60.0) -> int:
    """Write frames at ``start + k / fps`` to ``out`` (.mp4: lossless H.264; folder: PNG files).

    Each output frame shows the display frame on screen at its instant, with no blending: this is
    what a perfect display would show. Returns the number of frames written.
    """
    if fps <= 0 or duration <= 0:
        raise ValueError("fps and duration must be positive")
    scene = Scene(width, height, refresh_hz)
    count = math.ceil(duration * fps - 1e-9)
    times = [start + k / fps for k in range(count)]
    if out.suffix.lower() in (".mp4", ".mkv", ".mov"):
        out.parent.mkdir(parents=True, exist_ok=True)
        rate = Fraction(fps).limit_denominator(1001)
        with av.open(str(out), "w") as container:
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"preset": "veryfast", "qp": "0"}  # qp 0: lossless luma
            for k, t in enumerate(times):
                frame = yuv420_frame(scene.frame(scene.index_at(t)))
                frame.pts = k
                frame.time_base = 1 / rate
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    else:
        out.mkdir(parents=True, exist_ok=True)
        for k, t in enumerate(times):
            cv2.imwrite(str(out / f"scene_{k:06d}.png"), scene.frame(scene.index_at(t)))
    return count
