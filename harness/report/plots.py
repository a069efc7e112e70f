"""Plots for Allure and the certification report, drawn with matplotlib's Agg canvas.

The object-oriented API (``Figure`` + ``FigureCanvasAgg``) is used instead of pyplot: no global
figure state, no GUI backend to pick, so plotting is safe inside a pytest run and in threads.
Every function returns PNG bytes, ready to attach to Allure or to embed in a report.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100
PRESS_COLOUR = "#1f77b4"
GAP_COLOUR = "#d62728"
DUP_COLOUR = "#ff7f0e"
BLEND_COLOUR = "#9467bd"
UNDECODED_COLOUR = "#7f7f7f"


@dataclass
class ClipTimeline:
    """What a timeline plot needs from one clip: per-frame pts and reference time, and what to mark.

    ``ref_s`` holds None for frames whose time code could not be read; ``blended`` flags frames
    whose exposure straddled two display frames.
    """

    name: str
    pts_s: Sequence[float]
    ref_s: Sequence[float | None]
    frame_period_s: float
    blended: Sequence[bool] = ()
    gaps: list[tuple[float, int]] = field(default_factory=list)  # (after_ref_s, missing frames)
    duplicates: list[tuple[float, int]] = field(default_factory=list)  # (ref_s, count)
    presses: list[tuple[str, float]] = field(default_factory=list)  # (label, reference time s)


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _pts_at_ref(pts: np.ndarray, ref: np.ndarray, t: float) -> float | None:
    """Clip time at which reference time ``t`` was filmed (linear between decoded frames)."""
    ok = ~np.isnan(ref)
    if ok.sum() < 2 or not ref[ok][0] - 1.0 <= t <= ref[ok][-1] + 1.0:
        return None
    return float(np.interp(t, ref[ok], pts[ok]))


def timeline_png(tl: ClipTimeline) -> bytes:
    """Reference time against pts (top) and its departure from a steady clock in frames (bottom).

    A straight line on top says the clip is a continuous piece of the scene; the bottom panel
    magnifies what the top hides: a gap steps the residual up by the frames lost, a repeat steps
    it down, blended exposures sit half a display frame off. Presses, gaps and repeats are marked.
    """
    pts = np.asarray(tl.pts_s, dtype=float)
    ref = np.array([math.nan if r is None else r for r in tl.ref_s], dtype=float)
    ok = ~np.isnan(ref)
    fig = Figure(figsize=(9, 5.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    fig.suptitle(tl.name, fontsize=10)
    top.plot(pts[ok], ref[ok], lw=1.0, color="#333333", label="decoded frames")
    period = tl.frame_period_s or 1.0
    # reference time counted in frame periods minus frames written: a lost frame steps it up by
    # one, a repeated frame down by one, whatever the pts say (a camera may keep pts gaps or not)
    residual = ref / period - np.arange(len(pts))
    residual -= float(np.median(residual[ok][: max(1, min(30, int(ok.sum())))])) if ok.any() else 0.0
    bottom.plot(pts[ok], residual[ok], ".", ms=2, color="#333333", label="frame")
    blended = np.asarray(tl.blended, dtype=bool) if len(tl.blended) == len(pts) else np.zeros(len(pts), bool)
    if (blended & ok).any():
        bottom.plot(
            pts[blended & ok],
            residual[blended & ok],
            ".",
            ms=3,
            color=BLEND_COLOUR,
            label=f"blended ({int((blended & ok).sum())})",
        )
    if (~ok).any():
        bottom.plot(
            pts[~ok],
            np.zeros((~ok).sum()),
            "x",
            ms=4,
            color=UNDECODED_COLOUR,
            label=f"time code unreadable ({int((~ok).sum())})",
        )
    for i, (after, missing) in enumerate(tl.gaps):
        at = _pts_at_ref(pts, ref, after)
        if at is not None:
            for ax in (top, bottom):
                ax.axvline(at, color=GAP_COLOUR, lw=1.2, ls="-", label=None if ax is top or i else "gap")
            bottom.annotate(
                f"{missing} lost", (at, 0), color=GAP_COLOUR, fontsize=8, xytext=(3, 6), textcoords="offset points"
            )
    for i, (at_ref, _count) in enumerate(tl.duplicates):
        at = _pts_at_ref(pts, ref, at_ref)
        if at is not None:
            bottom.axvline(at, color=DUP_COLOUR, lw=1.0, ls="--", label=None if i else "repeat")
    for label, t in tl.presses:
        at = _pts_at_ref(pts, ref, t)
        if at is None:
            continue
        top.axhline(t, color=PRESS_COLOUR, lw=0.8, ls=":")
        for ax in (top, bottom):
            ax.axvline(at, color=PRESS_COLOUR, lw=1.0, ls=":")
        right = at > pts[0] + 0.8 * (pts[-1] - pts[0])  # keep labels near the right edge inside the axes
        top.annotate(
            label,
            (at, t),
            color=PRESS_COLOUR,
            fontsize=8,
            xytext=(-4 if right else 4, -12),
            textcoords="offset points",
            ha="right" if right else "left",
        )
    if ok.any():
        low, high = float(np.min(residual[ok])), float(np.max(residual[ok]))
        bottom.set_ylim(min(-1.5, low - 0.5), max(1.5, high + 0.5))
    top.set_ylabel("reference time (s)")
    bottom.set_ylabel("frames lost (+) / repeated (-)")
    bottom.set_xlabel("clip time, pts (s)")
    top.grid(alpha=0.3)
    bottom.grid(alpha=0.3)
    bottom.legend(loc="best", fontsize=7, markerscale=2)
    return _png(fig)


def audio_envelope_png(
    envelope: np.ndarray,
    t0_s: float,
    step_s: float,
    onsets_s: Sequence[float],
    video_marks_s: Sequence[float] = (),
    press_s: float | None = None,
    title: str = "audio envelope",
) -> bytes:
    """Peak level per block in dBFS, with the detected beep onsets (and where the video shows them)."""
    env = np.asarray(envelope, dtype=float).reshape(-1)
    t = t0_s + np.arange(env.size) * step_s
    with np.errstate(divide="ignore"):
        db = np.where(env > 0, 20 * np.log10(np.maximum(env, 1e-12)), -120.0)
    fig = Figure(figsize=(9, 3), layout="constrained")
    ax = fig.subplots()
    ax.plot(t, np.clip(db, -120, 0), lw=0.6, color="#333333")
    for i, x in enumerate(onsets_s):
        ax.axvline(x, color=GAP_COLOUR, lw=0.8, label=None if i else f"audio onsets ({len(onsets_s)})")
    for i, x in enumerate(video_marks_s):
        ax.axvline(x, color=BLEND_COLOUR, lw=0.8, ls="--", label=None if i else "where the video shows them")
    if press_s is not None:
        ax.axvline(press_s, color=PRESS_COLOUR, lw=1.2, ls=":", label="activation")
    ax.set_ylim(-125, 5)
    ax.set_xlabel("clip time, pts (s)")
    ax.set_ylabel("peak level (dBFS)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if onsets_s or video_marks_s or press_s is not None:
        ax.legend(loc="lower right", fontsize=7)
    return _png(fig)
