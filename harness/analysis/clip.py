"""One streaming pass over a clip: presentation times and the decoded time code of every frame.

The result is the clip timeline (pts against scene reference time) and the analysis record of
DESIGN.md. Only one decoded frame is alive at a time; per frame the record keeps its pts and the
reading's point estimate of reference time, and the timeline fit (harness/analysis/timeline.py)
three compact numbers. First and last frame times, gaps, repeats and the frame clock's drift come
from that fit; bad input (no code in view, a code of another run, a counter going backwards)
becomes a per-clip finding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import av
import numpy as np
from pydantic import BaseModel, Field

from harness.analysis.timeline import TimelineBuilder, TimelineFit
from harness.evidence import sha256_file
from harness.timecode import TimecodeDecoder
from harness.video import luma

COARSE_FIRST = 90  # frames (3 s at 30 fps): at least two UTC second boundaries
COARSE_EVERY = 15


class Gap(BaseModel):
    after_ref_s: float
    missing_frames: int
    missing_s: float


class Duplicate(BaseModel):
    ref_s: float
    count: int


class FrameProbe(Protocol):
    """Something else to read from each decoded frame in the same pass (watermark, flash, ...)."""

    def observe(self, index: int, pts_s: float, gray: np.ndarray) -> None: ...


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
    # timeline fit (harness/analysis/timeline.py)
    first_ref_uncertainty_s: float | None = None
    sensor_period_s: float | None = None
    drift_ppm: float | None = None
    drift_ppm_uncertainty: float | None = None
    inconsistent_frames: int | None = None
    counter_wraps: int | None = None
    run_id: int | None = None
    first_utc_s: float | None = None
    first_utc_uncertainty_s: float | None = None
    findings: list[str] = Field(default_factory=list)
    creation_time: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    audio_stream: bool | None = None
    chirps_expected: int | None = None
    chirps_found: int | None = None
    # per-frame timeline, kept in memory for checks and plots, not serialised
    pts_s: list[float] = Field(default_factory=list, exclude=True, repr=False)
    ref_s: list[float | None] = Field(default_factory=list, exclude=True, repr=False)
    # readings of other analyses of the same file (see harness.analysis.findings), not serialised
    camera_utc: list[tuple[int, float]] = Field(default_factory=list, exclude=True, repr=False)
    brightness: list[float] = Field(default_factory=list, exclude=True, repr=False)
    audio: object | None = Field(None, exclude=True, repr=False)

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


def analyze_clip(
    path: Path | str,
    refresh_hz: float = 60.0,
    press_at: float | None = None,
    probes: Sequence[FrameProbe] = (),
    run_id: int | None = None,
) -> ClipAnalysis:
    """Decode every frame of ``path``; never raises for a bad clip (the reason goes to ``error``).

    ``probes`` see every decoded frame in the same pass, so nothing is decoded twice. With
    ``run_id``, a time code from another run is an error. One frame is alive at a time; the
    timeline keeps a few numbers a frame.
    """
    path = Path(path)
    result = ClipAnalysis(path=str(path))
    try:
        result.sha256 = sha256_file(path)
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            result.tags = {str(k): str(v) for k, v in container.metadata.items()}
            result.creation_time = result.tags.get("creation_time")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            ctx = stream.codec_context
            result.codec, result.width, result.height = ctx.name, ctx.width, ctx.height
            # coarse slots: every frame for the first seconds (to see a UTC second change), then now and then
            decoder = TimecodeDecoder(ctx.width, ctx.height, coarse_every=COARSE_EVERY, coarse_first=COARSE_FIRST)
            time_base = float(stream.time_base)
            announced = stream.frames  # from the container index; 0 when it does not say
            counts = {"clean": 0, "blended": 0, "undecodable": 0}
            builder = TimelineBuilder(refresh_hz)
            for frame in container.decode(stream):
                if frame.pts is None:
                    raise ValueError(f"frame {len(result.pts_s)} has no presentation time")
                gray = luma(frame)
                reading = decoder.decode(gray)
                pts_s = frame.pts * time_base
                for probe in probes:
                    probe.observe(len(result.pts_s), pts_s, gray)
                counts[reading.kind] += 1
                result.pts_s.append(pts_s)
                result.ref_s.append(builder.add(pts_s, reading))
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
    _apply_fit(result, builder.fit(), run_id)
    if announced and result.frames < announced:  # keep what was read, but say what was lost
        result.error = f"truncated: the container announces {announced} frames, {result.frames} could be decoded"
    if press_at is not None and result.first_ref_s is not None:
        result.preroll_s = press_at - result.first_ref_s
    return result


def _apply_fit(result: ClipAnalysis, fit: TimelineFit, run_id: int | None) -> None:
    """Copy the timeline fit into the record and turn bad input into per-clip findings."""
    period = fit.pts_period_s
    pts = result.pts_s
    result.frame_period_s = period
    result.fps = 1.0 / period if period else None
    result.duration_s = pts[-1] - pts[0] + (period or 0.0)
    result.counter_wraps = fit.counter_wraps
    if fit.run_ids:
        result.run_id = max(fit.run_ids, key=fit.run_ids.get)
    if fit.error:
        result.error = fit.error
        result.findings.append(fit.error)
        return
    result.first_ref_s, result.last_ref_s = fit.first_ref_s, fit.last_ref_s
    result.first_ref_uncertainty_s = fit.first_ref_uncertainty_s
    result.sensor_period_s = fit.sensor_period_s
    result.drift_ppm, result.drift_ppm_uncertainty = fit.drift_ppm, fit.drift_ppm_uncertainty
    result.inconsistent_frames = fit.inconsistent_frames
    step = period or fit.sensor_period_s or 0.0
    result.gaps = [Gap(after_ref_s=ref, missing_frames=n, missing_s=n * step) for ref, n in fit.gaps]
    result.duplicates = [Duplicate(ref_s=ref, count=n) for ref, n in fit.duplicates]
    result.backwards_jumps = len(fit.backwards)
    if fit.utc_origin_s is not None and result.first_ref_s is not None:
        result.first_utc_s = fit.utc_origin_s + result.first_ref_s
        result.first_utc_uncertainty_s = (fit.utc_origin_uncertainty_s or 0.0) + (result.first_ref_uncertainty_s or 0.0)
    findings = result.findings
    if fit.backwards:
        at, frm, to = fit.backwards[0]
        findings.append(f"time code jumps backwards {len(fit.backwards)} time(s); first at pts {at:.3f} s, "
                        f"from {frm:.3f} s to {to:.3f} s of scene time")
    if fit.counter_wraps:
        findings.append(f"the display counter wrapped {fit.counter_wraps} time(s) in this clip (unwrapped)")
    if fit.inconsistent_frames:
        findings.append(f"{fit.inconsistent_frames} decoded frame(s) do not fit the camera's frame grid")
    if len(fit.run_ids) > 1 or fit.run_id_changes:
        seen = ", ".join(str(r) for r in sorted(fit.run_ids))
        result.error = f"the time code's run id changes within the clip ({seen}): footage of several runs"
        findings.append(result.error)
    elif run_id is not None and result.run_id is not None and result.run_id != run_id:
        result.error = f"time code from another run: run id {result.run_id}, expected {run_id}"
        findings.append(result.error)
    if fit.utc_conflict:
        findings.append("the coarse UTC seconds disagree with the counter (display counter reset mid-clip?)")
