"""One streaming pass over a clip: presentation times and the decoded time code of every frame.

The result is the clip timeline (pts against scene reference time) and the analysis record of
docs/architecture.md. Only one decoded frame is alive at a time; per frame the record keeps its pts and the
reading's point estimate of reference time, and the timeline fit (harness/analysis/timeline.py)
three compact numbers. First and last frame times, gaps, repeats and the frame clock's drift come
from that fit; bad input (no code in view, a code of another run, a counter going backwards)
becomes a per-clip finding. A damaged file keeps every frame that could be read, and ``error``
says what was lost and where: frames that did not decode, a file cut short of what its index
and box layout declare, an absurd or changing picture size.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import av
import numpy as np
from pydantic import BaseModel, Field, InstanceOf

from harness.analysis.audio import AudioAnalysis
from harness.analysis.container import declared_picture_sizes, is_iso_media, layout_damage
from harness.analysis.timeline import TimelineBuilder, TimelineFit
from harness.core.evidence import sha256_file
from harness.scene.timecode import TimecodeDecoder
from harness.scene.video import luma

COARSE_FIRST = 90  # frames (3 s at 30 fps): at least two UTC second boundaries
COARSE_EVERY = 15
VFR_OFF_GRID = 0.1  # of the median interval: a pts interval further than this from whole frames is off the grid
VFR_MIN_SHARE = 0.05  # of the intervals off the grid: a variable frame rate, not one odd timestamp
MIN_SIDE, MAX_SIDE = 64, 8192  # pixels: outside this no camera clip, and no readable time code


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
    # standard error of drift_ppm (the bound above is the worst case): what A/V drift inherits
    drift_ppm_standard_error: float | None = None
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
    # presentation-time intervals between consecutive frames (what a variable frame rate shows in)
    pts_interval_min_s: float | None = None
    pts_interval_median_s: float | None = None
    pts_interval_max_s: float | None = None
    variable_frame_rate: bool | None = None
    # the device id the camera burns into its text overlay, read by OCR (None: not read or none printed)
    overlay_serial: str | None = None
    # per-frame timeline, kept in memory for checks and plots, not serialised
    pts_s: list[float] = Field(default_factory=list, exclude=True, repr=False)
    ref_s: list[float | None] = Field(default_factory=list, exclude=True, repr=False)
    # the same on the fitted frame grid (None off it): sub-frame instants are mapped through these
    grid_ref_s: list[float | None] = Field(default_factory=list, exclude=True, repr=False)
    # the readings behind the fit, so reference times can be fitted again in present time
    timeline: InstanceOf[TimelineBuilder] | None = Field(None, exclude=True, repr=False)
    # readings of other analyses of the same file (see harness.analysis.findings), not serialised
    camera_utc: list[tuple[int, float]] = Field(default_factory=list, exclude=True, repr=False)
    brightness: list[float] = Field(default_factory=list, exclude=True, repr=False)
    # the audio track's envelope and chirps (harness.analysis.audio), not serialised
    audio: InstanceOf[AudioAnalysis] | None = Field(None, exclude=True, repr=False)

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
    timeline keeps a few numbers a frame. A damaged clip keeps every frame that could be read:
    ``error`` then says what was lost (frames that did not decode, a file cut short).
    """
    path = Path(path)
    result = ClipAnalysis(path=str(path))
    try:
        result.sha256 = sha256_file(path)
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        result.error = _unopenable(path, exc)
        result.findings.append(result.error)
        return result
    with container:
        try:
            stream = _video_stream(container)
        except ValueError as exc:
            result.error = _describe(exc)
            result.findings.append(result.error)
            return result
        result.tags = _tags(container, result.findings)
        result.creation_time = result.tags.get("creation_time")
        ctx = stream.codec_context
        result.codec, result.width, result.height = ctx.name, ctx.width or None, ctx.height or None
        iso = "mp4" in container.format.name or "mov" in container.format.name
        reading = _Pass(result, stream, probes, refresh_hz)
        reading.run(container, stream)
        announced = stream.frames  # from the container index; 0 when it does not say
        declared_s = stream.duration * reading.time_base if stream.duration else None
    lost = reading.losses()
    truncation = _truncation(path if iso else None, announced, declared_s, reading)
    if truncation:
        lost.append(truncation)
    if iso:
        header = (result.width, result.height) if result.width and result.height else None
        result.findings += _declared_size_findings(path, reading.size or header)
    result.findings += lost
    result.frames = len(result.pts_s)
    result.decoded = reading.counts["clean"] + reading.counts["blended"]
    result.blended = reading.counts["blended"]
    result.undecodable = reading.counts["undecodable"]
    if reading.size is not None:
        result.width, result.height = reading.size
    if result.frames == 0:
        result.error = "; ".join(lost) or "clip holds no video frames"
        if not lost:
            result.findings.append(result.error)
        return result
    result.timeline = reading.builder
    _apply_fit(result, reading.builder.fit(), run_id)
    _frame_rate(result, reading.time_base)
    result.error = "; ".join(lost + ([result.error] if result.error else [])) or None
    if press_at is not None and result.first_ref_s is not None:
        result.preroll_s = press_at - result.first_ref_s
    return result


def _describe(exc: BaseException) -> str:
    """An exception as one line, without the path FFmpeg appends (the verdict names the file)."""
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}"


def _unopenable(path: Path, exc: BaseException) -> str:
    """Why FFmpeg could not open ``path``, with what the MP4 box layout says was lost."""
    if isinstance(exc, OSError) or not is_iso_media(path):
        return _describe(exc)
    damage = layout_damage(path) or "the index (moov box) cannot be parsed"
    return f"{damage}: {_describe(exc)}"


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The first video stream, if FFmpeg can decode it and place its frames in time."""
    if container.format.name == "image2" or container.format.name.endswith("_pipe"):
        raise ValueError(f"not a video file: FFmpeg reads it as a still image ({container.format.name})")
    if not container.streams.video:
        held = ", ".join(s.type for s in container.streams) or "no stream at all"
        raise ValueError(f"no video stream (the file holds: {held})")
    stream = container.streams.video[0]
    if stream.codec_context is None:  # e.g. a damaged sample entry: FFmpeg knows no codec for its tag
        raise ValueError(f"video stream {stream.index} names no codec FFmpeg can decode")
    if not stream.time_base:
        raise ValueError(f"video stream {stream.index} has no time base")
    stream.thread_type = "AUTO"
    return stream


def _tags(container: av.container.InputContainer, findings: list[str]) -> dict[str, str]:
    """Container metadata; tags that are not text are left out and said so, not fatal."""
    try:
        return {str(k): str(v) for k, v in container.metadata.items()}
    except ValueError as exc:  # e.g. a tag that is not UTF-8
        findings.append(f"container metadata not readable ({_describe(exc)}): tags ignored")
        return {}


def absurd_size(width: int, height: int) -> bool:
    """A picture size no camera clip has (and the time code cannot be read from, or not in bounded time)."""
    return not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE)


SIZE_RANGE = f"a camera clip is {MIN_SIDE}x{MIN_SIDE} to {MAX_SIDE}x{MAX_SIDE}"


class _Pass:
    """The one streaming pass: frames read, and what could not be read (kept apart, never raised)."""

    def __init__(
        self, result: ClipAnalysis, stream: av.video.stream.VideoStream, probes: Sequence[FrameProbe], refresh_hz: float
    ) -> None:
        self.result = result
        self.probes = probes
        assert stream.time_base is not None  # _video_stream refuses a stream without one
        self.time_base = float(stream.time_base)
        self.builder = TimelineBuilder(refresh_hz)
        self.counts = {"clean": 0, "blended": 0, "undecodable": 0}
        self.decoder: TimecodeDecoder | None = None
        self.size: tuple[int, int] | None = None
        self.packet_pts = array("q")  # pts of every video packet the file holds (container ticks, compact)
        self.packets = 0
        self.decode_failures = 0
        self.failure: str | None = None  # the first decoder error
        self.no_pts = 0
        self.read_error: str | None = None  # the container could not be read past some point
        self.stopped: str | None = None  # reading ended on purpose (absurd or changing picture size)

    def run(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> None:
        ctx = stream.codec_context
        if ctx.width and ctx.height and absurd_size(ctx.width, ctx.height):  # before decoding a huge picture
            self.stopped = (
                f"absurd resolution: the stream is {ctx.width}x{ctx.height} pixels ({SIZE_RANGE}); no frame was decoded"
            )
            return
        try:
            for packet in container.demux(stream):
                if packet.size:  # the empty packets at the end only flush the decoder
                    self.packets += 1
                    if packet.pts is not None:
                        self.packet_pts.append(packet.pts)
                try:
                    frames = packet.decode()
                except av.FFmpegError as exc:  # one bad packet: the decoder resumes at the next
                    self.decode_failures += 1
                    self.failure = self.failure or _describe(exc)
                    continue
                for frame in frames:
                    if not self.frame(frame):
                        return
        except (av.FFmpegError, OSError) as exc:
            last = f"after pts {self.result.pts_s[-1]:.3f} s" if self.result.pts_s else "before the first frame"
            self.read_error = f"read error {last}: {_describe(exc)}; the rest of the file was not read"
            self._flush(stream)

    def _flush(self, stream: av.video.stream.VideoStream) -> None:
        """Frames still inside the decoder when the container could not be read further."""
        try:
            for frame in stream.codec_context.decode(None):
                if not self.frame(frame):
                    return
        except av.FFmpegError as exc:
            self.decode_failures += 1
            self.failure = self.failure or _describe(exc)

    def frame(self, frame: av.VideoFrame) -> bool:
        """Analyse one decoded frame; False when reading must stop."""
        if frame.pts is None:
            self.no_pts += 1
            return True
        pts_s = frame.pts * self.time_base
        size = (frame.width, frame.height)
        if self.size is None:
            if absurd_size(*size):
                self.stopped = f"absurd resolution: the frames are {size[0]}x{size[1]} pixels ({SIZE_RANGE})"
                return False
            self.size = size
            # coarse slots: every frame for the first seconds (to see a UTC second change), then now and then
            self.decoder = TimecodeDecoder(*size, coarse_every=COARSE_EVERY, coarse_first=COARSE_FIRST)
        elif size != self.size:
            self.stopped = (
                f"the picture size changes from {self.size[0]}x{self.size[1]} to {size[0]}x{size[1]} "
                f"at pts {pts_s:.3f} s; the rest was not analysed"
            )
            return False
        gray = luma(frame)
        reading = self.decoder.decode(gray)  # type: ignore[union-attr]
        result = self.result
        for probe in self.probes:
            probe.observe(len(result.pts_s), pts_s, gray)
        self.counts[reading.kind] += 1
        result.pts_s.append(pts_s)
        result.ref_s.append(self.builder.add(pts_s, reading))
        return True

    def losses(self) -> list[str]:
        """What the pass could not read, each as one clause naming where."""
        out = []
        if self.read_error:
            out.append(self.read_error)
        if self.stopped:
            out.append(self.stopped)
            return out
        if self.packets == len(self.result.pts_s) and not (self.decode_failures or self.no_pts):
            return out  # every frame the file holds was analysed
        # frames the file holds (packets) against frames analysed: exact where, whatever the threading
        read = {round(p / self.time_base) for p in self.result.pts_s}
        missing = sorted(set(self.packet_pts) - read)
        count = max(len(missing), self.packets - len(self.result.pts_s) - self.no_pts)
        if count:
            where = f"at pts {missing[0] * self.time_base:.3f} s" if missing else "(pts unknown)"
            out.append(
                f"decode error {where}: {count} of {self.packets} frames could not be decoded"
                + (f" ({self.failure})" if self.failure else "")
            )
        if self.no_pts:
            out.append(f"{self.no_pts} decoded frame(s) carry no presentation time (not analysed)")
        return out


def _truncation(iso_path: Path | None, announced: int, declared_s: float | None, reading: _Pass) -> str | None:
    """``truncated: ...`` when the file holds less than its index or box layout declares."""
    parts = []
    damage = layout_damage(iso_path) if iso_path is not None else None
    if damage:
        parts.append(damage.removeprefix("truncated: "))
    if reading.read_error is None and reading.stopped is None:
        if announced and reading.packets < announced:
            parts.append(
                f"{announced - reading.packets} of the {announced} frames the index announces are not in the file"
            )
        elif declared_s and len(reading.packet_pts) > 1:
            ticks = sorted(reading.packet_pts)
            step = float(np.median(np.diff(ticks))) * reading.time_base
            held = (ticks[-1] - ticks[0]) * reading.time_base + step
            if declared_s - held > 1.5 * step:
                parts.append(f"the container declares {declared_s:.3f} s of video, the file holds {held:.3f} s")
    return "truncated: " + "; ".join(parts) if parts else None


def _declared_size_findings(path: Path, stream_size: tuple[int, int] | None) -> list[str]:
    """An absurd picture size in the index that the stream does not have (FFmpeg takes the
    stream's own size and ignores the index, so the clip still analyses: a finding, not an error)."""
    places: dict[tuple[int, int], list[str]] = {}
    for size in declared_picture_sizes(path):
        if absurd_size(size.width, size.height) and (size.width, size.height) != stream_size:
            places.setdefault((size.width, size.height), []).append(size.where)
    frames = f"the frames are {stream_size[0]}x{stream_size[1]}" if stream_size else "no frame was decoded"
    return [
        f"absurd resolution: the index declares {w}x{h} ({', '.join(where)}), {frames} ({SIZE_RANGE})"
        for (w, h), where in places.items()
    ]


def _frame_rate(result: ClipAnalysis, tick_s: float) -> None:
    """Measure the pts intervals and name a variable frame rate (not a fault by itself).

    Intervals of whole frame periods are a constant rate with frames missing (the gaps say so);
    a variable rate shows as intervals off that grid, beyond the container's tick rounding.
    """
    steps = np.diff(np.sort(np.asarray(result.pts_s, dtype=float)))
    steps = steps[steps > 0]
    if steps.size < 2:
        return
    median = float(np.median(steps))
    grid = np.round(steps / median) * median
    off = int(np.count_nonzero(np.abs(steps - grid) > max(VFR_OFF_GRID * median, 1.5 * tick_s)))
    low, high = float(steps.min()), float(steps.max())
    result.pts_interval_min_s, result.pts_interval_median_s, result.pts_interval_max_s = low, median, high
    result.variable_frame_rate = off >= 2 and off >= VFR_MIN_SHARE * steps.size
    if result.variable_frame_rate:
        result.findings.append(
            f"variable frame rate: pts intervals {1e3 * low:.1f} to {1e3 * high:.1f} ms "
            f"(spread {1e3 * (high - low):.1f} ms, median {1e3 * median:.1f} ms); "
            f"{off} of {steps.size} intervals off a constant frame grid "
            "(gaps and repeats are judged against one)"
        )


def _off_grid(frames: int) -> str:
    return f"{frames} decoded frame(s) do not fit the camera's frame grid"


def set_reference_times(result: ClipAnalysis, fit: TimelineFit) -> None:
    """The reference times a timeline fit gives (first and last frame, the frame grid, gaps and
    repeats), in place of earlier ones: also after a refit in present time."""
    if fit.first_ref_s is None:
        return
    if result.inconsistent_frames and _off_grid(result.inconsistent_frames) in result.findings:
        result.findings.remove(_off_grid(result.inconsistent_frames))
    result.first_ref_s, result.last_ref_s = fit.first_ref_s, fit.last_ref_s
    result.first_ref_uncertainty_s = fit.first_ref_uncertainty_s
    result.sensor_period_s = fit.sensor_period_s
    result.inconsistent_frames = fit.inconsistent_frames
    if fit.inconsistent_frames:
        result.findings.append(_off_grid(fit.inconsistent_frames))
    result.grid_ref_s = [None if np.isnan(r) else float(r) for r in fit.grid_ref_s.tolist()]
    step = result.frame_period_s or fit.sensor_period_s or 0.0
    result.gaps = [Gap(after_ref_s=ref, missing_frames=n, missing_s=n * step) for ref, n in fit.gaps]
    result.duplicates = [Duplicate(ref_s=ref, count=n) for ref, n in fit.duplicates]


def _apply_fit(result: ClipAnalysis, fit: TimelineFit, run_id: int | None) -> None:
    """Copy the timeline fit into the record and turn bad input into per-clip findings."""
    period = fit.pts_period_s
    pts = result.pts_s
    result.frame_period_s = period
    result.fps = 1.0 / period if period else None
    result.duration_s = pts[-1] - pts[0] + (period or 0.0)
    result.counter_wraps = fit.counter_wraps
    if fit.run_ids:
        result.run_id = max(fit.run_ids, key=fit.run_ids.__getitem__)
    if fit.error:
        result.error = fit.error
        result.findings.append(fit.error)
        return
    set_reference_times(result, fit)
    result.drift_ppm, result.drift_ppm_uncertainty = fit.drift_ppm, fit.drift_ppm_uncertainty
    result.drift_ppm_standard_error = fit.drift_ppm_standard_error
    result.backwards_jumps = len(fit.backwards)
    if fit.utc_origin_s is not None and result.first_ref_s is not None:
        result.first_utc_s = fit.utc_origin_s + result.first_ref_s
        result.first_utc_uncertainty_s = (fit.utc_origin_uncertainty_s or 0.0) + (result.first_ref_uncertainty_s or 0.0)
    findings = result.findings
    if fit.backwards:
        at, frm, to = fit.backwards[0]
        findings.append(
            f"time code jumps backwards {len(fit.backwards)} time(s); first at pts {at:.3f} s, "
            f"from {frm:.3f} s to {to:.3f} s of scene time"
        )
    if fit.counter_wraps:
        findings.append(f"the display counter wrapped {fit.counter_wraps} time(s) in this clip (unwrapped)")
    if len(fit.run_ids) > 1 or fit.run_id_changes:
        seen = ", ".join(str(r) for r in sorted(fit.run_ids))
        result.error = f"the time code's run id changes within the clip ({seen}): footage of several runs"
        findings.append(result.error)
    elif run_id is not None and result.run_id is not None and result.run_id != run_id:
        result.error = f"time code from another run: run id {result.run_id}, expected {run_id}"
        findings.append(result.error)
    if fit.utc_conflict:
        findings.append("the coarse UTC seconds disagree with the counter (display counter reset mid-clip?)")
