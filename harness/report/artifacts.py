"""Pictures of one scenario's clips, written next to the evidence and listed in the run record.

Made once, while the per-frame timeline is still in memory (it is not serialised), then used
twice: attached to Allure, and embedded in the certification report. A picture that cannot be
made is a note, never a failed test: the measurements are the result, pictures only explain it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.evidence import write_atomic
from harness.report.keyframes import read_frames, select_key_frames
from harness.report.plots import ClipTimeline, audio_envelope_png, timeline_png

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifact:
    kind: str  # "timeline" | "keyframe" | "audio"
    title: str
    path: Path
    clip: str
    sha256: str

    def record(self, base: Path) -> dict[str, str]:
        """The run-record entry: path relative to the record's folder, so an archived run stays whole."""
        try:
            shown = str(self.path.relative_to(base))
        except ValueError:
            shown = str(self.path)
        return {"kind": self.kind, "title": self.title, "path": shown, "clip": self.clip, "sha256": self.sha256}


def _write(path: Path, data: bytes) -> str:
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest()


def gesture_marks(timeline: Any) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(activations, stops) as (label, reference time) from the done-timeline."""
    starts = [(f"press (event {i})", a.t) for i, a in enumerate(timeline.gestures("start"), 1)]
    stops = [(f"stop (event {i})", a.t) for i, a in enumerate(timeline.gestures("stop"), 1)]
    return starts, stops


def blended_flags(analysis: Any, refresh_hz: float | None) -> list[bool]:
    """Which frames blended two display frames: from the analysis if it says, else from the
    reference time, which lands on a display-frame boundary only for blended frames."""
    kinds = getattr(analysis, "kinds", None) or getattr(analysis, "frame_kinds", None)
    if kinds:
        return [k == "blended" for k in kinds]
    if not refresh_hz:
        return []
    from harness.analysis.clip import reference_time

    phase = (reference_time("blended", 0, refresh_hz) * refresh_hz) % 1.0
    out = []
    for r in analysis.ref_s:
        if r is None:
            out.append(False)
        else:
            d = abs((r * refresh_hz - phase) % 1.0)
            out.append(min(d, 1.0 - d) < 0.25)
    return out


def audio_series(analysis: Any) -> Iterator[dict[str, Any]]:
    """The audio envelope of a clip, when its analysis carries one (duck-typed, so reports work
    before and after audio analysis exists): ``analysis.audio`` with ``block_peak`` (or
    ``envelope``), a start time and block length, and ``chirps`` (or ``onsets_s``)."""
    audio = getattr(analysis, "audio", None)
    if audio is None or getattr(audio, "error", None):
        return
    envelope = getattr(audio, "block_peak", None)
    if envelope is None:
        envelope = getattr(audio, "envelope", None)
    if envelope is None or np.asarray(envelope).size == 0:
        return
    env = np.asarray(envelope, dtype=float).reshape(-1)
    times = audio.block_times() if hasattr(audio, "block_times") else None
    t0 = float(times[0]) if times is not None and len(times) else float(getattr(audio, "start_pts_s", 0.0))
    step = (
        float(times[1] - times[0]) if times is not None and len(times) > 1 else float(getattr(audio, "block_s", 0.01))
    )
    chirps = getattr(audio, "chirps", None) or []
    onsets = [c.audio_pts_s for c in chirps if getattr(c, "audio_pts_s", None) is not None]
    marks = [c.video_pts_s for c in chirps if getattr(c, "video_pts_s", None) is not None]
    if not chirps:
        onsets = list(getattr(audio, "onsets_s", None) or [])
    yield {"envelope": env, "t0_s": t0, "step_s": step, "onsets_s": onsets, "video_marks_s": marks}


def _pts_of(analysis: Any, t: float) -> float | None:
    pairs = [(r, p) for p, r in zip(analysis.pts_s, analysis.ref_s) if r is not None]
    if len(pairs) < 2 or not pairs[0][0] - 1 <= t <= pairs[-1][0] + 1:
        return None
    refs, pts = zip(*pairs)
    return float(np.interp(t, refs, pts))


def build_artifacts(result: Any, out_dir: Path, refresh_hz: float | None = None) -> tuple[list[Artifact], list[str]]:
    """Timeline plot, key frames and (if present) audio envelope of every clip of ``result``."""
    artifacts: list[Artifact] = []
    problems: list[str] = []
    starts, stops = gesture_marks(result.timeline)
    for n, analysis in enumerate(result.analyses, 1):
        name = Path(analysis.path).name
        if analysis.error and not analysis.pts_s:
            problems.append(f"{name}: no pictures ({analysis.error})")
            continue
        try:
            artifacts += _clip_artifacts(n, name, analysis, starts, stops, out_dir, refresh_hz)
        except Exception as exc:  # a plot must never cost the measurements
            log.warning("pictures of %s failed: %s", name, exc, exc_info=True)
            problems.append(f"{name}: pictures failed ({type(exc).__name__}: {exc})")
    return artifacts, problems


def _clip_artifacts(
    n: int,
    name: str,
    analysis: Any,
    starts: Sequence[tuple[str, float]],
    stops: Sequence[tuple[str, float]],
    out_dir: Path,
    refresh_hz: float | None,
) -> list[Artifact]:
    out: list[Artifact] = []
    gaps = [(g.after_ref_s, g.missing_frames) for g in analysis.gaps]
    tl = ClipTimeline(
        name=f"clip {n}: {name}",
        pts_s=analysis.pts_s,
        ref_s=analysis.ref_s,
        frame_period_s=analysis.frame_period_s or 0.0,
        blended=blended_flags(analysis, refresh_hz),
        gaps=gaps,
        duplicates=[(d.ref_s, d.count) for d in analysis.duplicates],
        presses=[*starts, *stops],
    )
    path = out_dir / f"clip{n}-timeline.png"
    out.append(
        Artifact(
            "timeline", f"clip {n} timeline: reference time against pts", path, name, _write(path, timeline_png(tl))
        )
    )
    events = [(f"event {i}", t) for i, (_, t) in enumerate(starts, 1)]
    for kf, png in read_frames(analysis.path, select_key_frames(analysis.pts_s, analysis.ref_s, events, gaps)):
        path = out_dir / f"clip{n}-frame{kf.index:06d}.png"
        ref = "" if kf.ref_s is None else f", ref {kf.ref_s:.3f} s"
        out.append(
            Artifact(
                "keyframe",
                f"clip {n} {kf.label} (frame {kf.index}, pts {kf.pts_s:.3f} s{ref})",
                path,
                name,
                _write(path, png),
            )
        )
    for series in audio_series(analysis):
        press = next((p for p in (_pts_of(analysis, t) for _, t in starts) if p is not None), None)
        png = audio_envelope_png(title=f"clip {n} audio: {name}", press_s=press, **series)
        path = out_dir / f"clip{n}-audio.png"
        out.append(Artifact("audio", f"clip {n} audio envelope with beep onsets", path, name, _write(path, png)))
    return out
