"""Frames between numpy and PyAV without colour conversion: the time code lives in luma only."""

from __future__ import annotations

import av
import numpy as np

LUMA_FORMATS = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "gray", "nv12"}


def luma(frame: av.VideoFrame) -> np.ndarray:
    """The Y plane as an HxW uint8 view (no copy) for planar YUV; converted otherwise."""
    if frame.format.name in LUMA_FORMATS:
        plane = frame.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        return rows[: frame.height, : frame.width]
    return frame.to_ndarray(format="gray")


def yuv420_frame(gray: np.ndarray) -> av.VideoFrame:
    """A yuv420p frame whose luma is ``gray`` and whose chroma is neutral (a grey-scale picture)."""
    h, w = gray.shape
    if h % 2 or w % 2:
        raise ValueError(f"yuv420p needs even dimensions, got {w}x{h}")
    planar = np.empty((h * 3 // 2, w), np.uint8)
    planar[:h] = gray
    planar[h:] = 128
    return av.VideoFrame.from_ndarray(planar, format="yuv420p")
