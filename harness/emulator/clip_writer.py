"""Writes an emulated camera's event as a real H.264 MP4 with explicit presentation times."""

from __future__ import annotations

import os
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import av
import numpy as np

from harness.video import yuv420_frame

TIME_BASE = Fraction(1, 90000)


def write_clip(
    path: Path,
    frames: Iterable[tuple[float, np.ndarray]],
    fps: float,
    bitrate_kbps: int,
    creation_time: datetime,
) -> int:
    """Encode ``(capture time s, gray frame)`` pairs; pts follow capture times, so drops stay gaps.

    The file is written under a temporary name and renamed when finalised, as a camera closes a
    file on its storage: a reader never sees a half-written clip under the final name.
    """
    tmp = path.with_name(path.name + ".partial")
    count = 0
    with av.open(str(tmp), "w", format="mp4") as container:
        container.metadata["creation_time"] = creation_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bitrate_kbps * 1000
        stream.options = {"preset": "ultrafast"}
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        t_first: float | None = None
        for t, gray in frames:
            if t_first is None:
                t_first = t
                stream.height, stream.width = gray.shape
            frame = yuv420_frame(gray)
            frame.pts = round((t - t_first) / TIME_BASE)
            frame.time_base = TIME_BASE
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode(None))
    os.replace(tmp, path)
    return count
