"""One streaming pass over a clip: presentation times and the decoded time code of every frame.

The result is the clip timeline (pts against scene reference time) and the analysis record of
DESIGN.md. Only one decoded frame is alive at a time; the timeline keeps two floats a frame.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import av
import numpy as np
from pydantic import BaseModel, Field

from harness.evidence import sha256_file
from harness.timecode import TimecodeDecoder
from harness.video import luma


class Gap(BaseModel):
    after_ref_s: float
    missing_frames: int
    missing_s: float


class Duplicate(BaseModel):
    ref_s: float
    count: int


class ClipAnalysis(BaseModel):
    """The analysis record of one clip (field names are a public contract: extend, never rename)."""

    path: str
    sha256: str | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frames: int | None = None
    decoded: int | None = None
    blended: int | None = None
    undecodable: int | None = None
    first_ref_s: float | None = None
    last_ref_s: float | None = None
    gaps: list[Gap] = Field(default_factory=list)
    duplicates: list[Duplicate] = Field(default_factory=list)
    preroll_s: float | None = None
    error: str | None = None
    # additions
    frame_period_s: float | None = None
    duration_s: float | None = None
    backwards_jumps: int = 0
    # per-frame timeline, kept in memory for checks and plots, not serialised
    pts_s: list[float] = Field(default_factory=list, exclude=True, repr=False)
    ref_s: list[float | None] = Field(default_factory=list, exclude=True, repr=False)

    @property
    def missing_frames(self) -> int:
        return sum(g.missing_frames for g in self.gaps)

    @property
    def duplicated_frames(self) -> int:
        return sum(d.count for d in self.duplicates)


def reference_time(kind: str, value: int, refresh_hz: float) -> float:
    """Scene time of a decoded frame's exposure midpoint, from the display frames it saw.

    A clean frame saw display frame n, shown from n/refresh to (n+1)/refresh: the middle of that
    interval is the unbiased estimate. A blended frame saw the switch from n to n+1 inside its
    exposure with both weights near one half, so the switch instant (n+1)/refresh is within an
    eighth of an exposure of its midpoint.
    """
    return (value + 1) / refresh_hz if kind == "blended" else (value + 0.5) / refresh_hz


def analyze_clip(path: Path | str, refresh_hz: float = 60.0, press_at: float | None = None) -> ClipAnalysis:
    """Decode every frame of ``path``; never raises for a bad clip (the reason goes to ``error``)."""
    path = Path(path)
    result = ClipAnalysis(path=str(path))
    try:
        result.sha256 = sha256_file(path)
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            ctx = stream.codec_context
            result.codec, result.width, result.height = ctx.name, ctx.width, ctx.height
            decoder = TimecodeDecoder(ctx.width, ctx.height)
            time_base = float(stream.time_base)
            announced = stream.frames  # from the container index; 0 when it does not say
            counts = {"clean": 0, "blended": 0, "undecodable": 0}
            for frame in container.decode(stream):
                if frame.pts is None:
                    raise ValueError(f"frame {len(result.pts_s)} has no presentation time")
                gray = luma(frame)
                reading = decoder.decode(gray)
                counts[reading.kind] += 1
                result.pts_s.append(frame.pts * time_base)
                result.ref_s.append(
                    None if reading.value is None else reference_time(reading.kind, reading.value, refresh_hz)
                )
    except (av.FFmpegError, OSError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    result.frames = len(result.pts_s)
    result.decoded = counts["clean"] + counts["blended"]
    result.blended = counts["blended"]
    result.undecodable = counts["undecodable"]
    if result.frames == 0:
        result.error = "clip holds no video frames"
        return result
    _timeline(result)
    if announced and result.frames < announced:  # keep what was read, but say what was lost
        result.error = f"truncated: the container announces {announced} frames, {result.frames} could be decoded"
    if press_at is not None and result.first_ref_s is not None:
        result.preroll_s = press_at - result.first_ref_s
    return result


def _timeline(result: ClipAnalysis) -> None:
    pts = result.pts_s
    steps = [b - a for a, b in zip(pts, pts[1:]) if b > a]
    period = statistics.median(steps) if steps else None
    result.frame_period_s = period
    result.fps = 1.0 / period if period else None
    result.duration_s = pts[-1] - pts[0] + (period or 0.0)
    decoded = [(i, r) for i, r in enumerate(result.ref_s) if r is not None]
    if not decoded:
        result.error = "no frame carries a readable time code (is the display in view?)"
        return
    i0, r0 = decoded[0]
    i1, r1 = decoded[-1]
    result.first_ref_s = r0 - (pts[i0] - pts[0])
    result.last_ref_s = r1 + (pts[-1] - pts[i1])
    if period is None:
        return
    for (ia, ra), (ib, rb) in zip(decoded, decoded[1:]):
        step = (rb - ra) / period
        if step < -0.5:
            result.backwards_jumps += 1
            continue
        expected = int(np.rint(step))
        if expected == 0:
            if result.duplicates and abs(result.duplicates[-1].ref_s - ra) < 1e-9:
                result.duplicates[-1].count += 1
            else:
                result.duplicates.append(Duplicate(ref_s=ra, count=1))
            continue
        missing = expected - (ib - ia)
        if missing > 0:
            result.gaps.append(Gap(after_ref_s=ra, missing_frames=missing, missing_s=missing * period))
