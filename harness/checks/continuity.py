"""Continuity and segment checks: every frame there once, at the buffer join, over the clip, and
where a camera hands one file of an event over to the next."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from harness.analysis.clip import ClipAnalysis
from harness.checks.common import CheckInput
from harness.core.measurement import Declared, Measurement

JOIN_WINDOW_S = 1.0  # gaps this close to the activation count as the buffer/record join

JOIN_MISSING = Declared("join_missing_frames", "frames", "BWC-CONT-01", "catalogue", ("event",))
MISSING = Declared("missing_frames", "frames", "BWC-CONT-02", "catalogue", ("event",))
DUPLICATED = Declared("duplicated_frames", "frames", "BWC-CONT-02", "catalogue", ("event",))
HIDDEN_MISSING = Declared("hidden_missing_frames", "frames", "BWC-CONT-02", "catalogue", ("event",))
FRAME_RATE = Declared("mean_frame_rate_fps", "fps", "BWC-CONT-02", "catalogue", ("event",))
UNDECODABLE = Declared("undecodable_frames", "frames", "BWC-CONT-02", "none", ("event",), informative=True)
SEGMENT_JOIN = Declared("segment_join_frames", "frames", "BWC-SEG-01", "catalogue", ("event", "file"))
FILES_IN_EVENT = Declared("files_in_event", "files", "BWC-SEG-01", "profile", ("event",))
MEASUREMENTS = (
    JOIN_MISSING,
    MISSING,
    DUPLICATED,
    HIDDEN_MISSING,
    FRAME_RATE,
    UNDECODABLE,
    SEGMENT_JOIN,
    FILES_IN_EVENT,
)


def hidden_missing_frames(clip: ClipAnalysis, period: float) -> int:
    """Frames the time code says are missing where the pts step regularly (hidden drops)."""
    hidden = 0
    prev: tuple[float, float] | None = None
    for pts, ref in zip(clip.pts_s, clip.ref_s):
        if ref is None:
            continue
        if prev is not None:
            excess = round(((ref - prev[1]) - (pts - prev[0])) / period)
            hidden += max(0, excess)
        prev = (pts, ref)
    return hidden


def continuity(inp: CheckInput) -> list[Measurement]:
    out = []
    cat = inp.limits
    join_lo, join_hi = cat.bounds("BWC-CONT-01", "missing", "frames")
    miss_lo, miss_hi = cat.bounds("BWC-CONT-02", "missing", "frames")
    dup_lo, dup_hi = cat.bounds("BWC-CONT-02", "duplicated", "frames")
    rate_lo, rate_hi = cat.bounds("BWC-CONT-02", "frame_rate", "%")
    for ev in inp.events():
        n = ev.index
        if ev.recording is None:
            out.append(JOIN_MISSING(None, join_lo or 0, join_hi, event=n, note="no recording"))
            continue
        clips = ev.recording.clips
        gaps = [g for c in clips for g in c.gaps]
        at_join = [g for g in gaps if abs(g.after_ref_s - ev.start.t) <= JOIN_WINDOW_S]
        join_missing = sum(g.missing_frames for g in at_join)
        missing = sum(g.missing_frames for g in gaps) - join_missing
        frames = sum(c.frames or 0 for c in clips)
        span = ev.recording.last_ref_s - ev.recording.first_ref_s
        fps = (frames - 1) / span if span > 0 and frames > 1 else None
        nominal = inp.profile.video.fps
        low = None if rate_lo is None else nominal * (1 + rate_lo / 100)
        high = None if rate_hi is None else nominal * (1 + rate_hi / 100)
        out += [
            JOIN_MISSING(
                join_missing,
                join_lo or 0,
                join_hi,
                event=n,
                note="frames lost where the buffer joins the live recording",
            ),
            MISSING(missing, miss_lo or 0, miss_hi, event=n, note="frames lost away from the join"),
            DUPLICATED(sum(c.duplicated_frames for c in clips), dup_lo or 0, dup_hi, event=n),
            HIDDEN_MISSING(
                sum(hidden_missing_frames(c, inp.period) for c in clips),
                miss_lo or 0,
                miss_hi,
                event=n,
                note="lost frames the pts do not show (regular pts over a hole in the time code)",
            ),
            FRAME_RATE(
                fps,
                low,
                high,
                event=n,
                note=f"frames over time-code span, nominal {nominal:g} fps {rate_lo:+g}/{rate_hi:+g} %",
            ),
            UNDECODABLE(
                sum(c.undecodable or 0 for c in clips),
                event=n,
                note="informative: frames whose time code could not be read",
            ),
        ]
    return out


def segments(inp: CheckInput) -> list[Measurement]:
    """Gap (+) or overlap (-) in frames where one file of an event hands over to the next."""
    out = []
    length = inp.profile.segment_s
    low, high = inp.limits.bounds("BWC-SEG-01", "join", "frames")
    for ev in inp.events():
        if ev.recording is None:
            continue
        clips = ev.recording.clips
        for j, (a, b) in enumerate(pairwise(clips), start=1):
            frames = round((b.first_ref_s - a.last_ref_s) / inp.period) - 1  # type: ignore[operator]
            out.append(
                SEGMENT_JOIN(
                    frames,
                    low,
                    high,
                    event=ev.index,
                    file=f"{j}->{j + 1}",
                    note=f"{Path(a.path).name} -> {Path(b.path).name}; + = frames missing, - = frames repeated",
                )
            )
        span = ev.recording.last_ref_s - ev.recording.first_ref_s
        should_split = length is not None and length > 0 and span > length + 1.0
        out.append(
            FILES_IN_EVENT(
                len(clips),
                2 if should_split else 1,
                None,
                event=ev.index,
                note=f"event of {span:.1f} s, segment length {length or 'none'} s",
            )
        )
    return out
