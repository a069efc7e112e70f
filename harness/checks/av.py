"""A/V sync: the audio chirp of each stimulus against the video instant of its flash, corrected
for the speaker distance. Positive offsets mean the audio comes later than the picture.

Windows: the catalogue's figures when it gives them, else the camera profile's ``av_sync`` block.
"""

from __future__ import annotations

import statistics

import numpy as np

from harness.analysis.audio import AudioAnalysis
from harness.analysis.clip import ClipAnalysis
from harness.checks.common import CheckInput
from harness.checks.uncertainty import drift_budget, with_uncertainty
from harness.core.measurement import Declared, Measurement
from harness.scene.stimulus import FLASH_S, acoustic_delay_s

AV_AFTER_PRESS_S = 0.2  # stimuli this soon after the press are not used for A/V (audio may start)
FLASH_MIN_RISE = 1.5  # luma levels a flash must lift the frame mean by, against its neighbours
DRIFT_MIN_SPAN_S = 5.0  # A/V drift is fitted only over stimuli at least this far apart

PAIRED = Declared("av_events_paired", "events", "BWC-AV-02", "catalogue", ("event",))
OFFSET = Declared("av_offset_ms", "ms", "BWC-AV-01", "catalogue, else profile", ("event",))
OFFSET_EXTREME = Declared("av_offset_extreme_ms", "ms", "BWC-AV-02", "catalogue, else profile", ("event",))
DRIFT = Declared("av_drift_ppm", "ppm", "BWC-AV-01", "catalogue, else profile", ("event",))
MEASUREMENTS = (PAIRED, OFFSET, OFFSET_EXTREME, DRIFT)


def clip_audio(clip: ClipAnalysis) -> AudioAnalysis | None:
    """The clip's audio analysis, or None when it has none or it could not be read."""
    return clip.audio if clip.audio is not None and clip.audio.error is None else None


def flash_seen(clip: ClipAnalysis, video_pts: float, period: float) -> bool:
    """Whether the frames showing the stimulus are brighter than the frames just before and after it.

    Compared locally, because auto-exposure and the moving parts of the scene move the frame mean
    by more than a small, off-axis flash does over seconds, but not from one frame to the next.
    """
    pts = np.asarray(clip.pts_s)
    levels = np.asarray(clip.brightness)
    if levels.size != pts.size or levels.size < 8:
        return False
    during = levels[(pts >= video_pts) & (pts <= video_pts + FLASH_S - period / 2)]
    before = levels[(pts < video_pts - period) & (pts >= video_pts - 4 * period)]
    after = levels[(pts > video_pts + FLASH_S + period) & (pts <= video_pts + FLASH_S + 4 * period)]
    if during.size == 0 or before.size == 0 or after.size == 0:
        return False
    rise = float(np.median(during) - (np.median(before) + np.median(after)) / 2)
    steps = np.diff(levels)
    noise = 1.4826 * float(np.median(np.abs(steps - np.median(steps))))
    return rise >= max(FLASH_MIN_RISE, 6 * noise)


def drift_fit(t: np.ndarray, offset_s: np.ndarray) -> tuple[float, float]:
    """Slope of the offsets over scene time and its standard error, both in ppm.

    The error matters because a short recording with few stimuli pins a slope only loosely, and a
    drift must not be judged on a slope its own scatter could make up.
    """
    slope, intercept = np.polyfit(t, offset_s, 1)
    dof = t.size - 2
    sxx = float(((t - t.mean()) ** 2).sum())
    if dof <= 0 or sxx == 0:
        return float(slope) * 1e6, 0.0
    resid = offset_s - (slope * t + intercept)
    return float(slope) * 1e6, float(np.sqrt((resid**2).sum() / dof / sxx)) * 1e6


def _window(inp: CheckInput, requirement: str, profile_ms: tuple[float, float]) -> tuple[float | None, float | None]:
    if inp.limits.limit(requirement, "offset") is not None:
        return inp.limits.bounds(requirement, "offset", "ms")
    return profile_ms


def av_sync(inp: CheckInput) -> list[Measurement]:
    """Paired stimuli, median and extreme offset, and drift, per event."""
    spec = inp.profile.av_sync
    target = _window(inp, "BWC-AV-01", spec.target_ms)
    must = _window(inp, "BWC-AV-02", spec.must_ms)
    drift_limit = (
        inp.limits.figure("BWC-AV-01", "drift", "ppm")
        if inp.limits.limit("BWC-AV-01", "drift") is not None
        else spec.drift_ppm
    )
    min_pairs, _ = inp.limits.bounds("BWC-AV-02", "stimuli", "events")
    delay = acoustic_delay_s(inp.speaker_distance_m)
    out = []
    for ev in inp.events():
        pairs: list[tuple[float, float]] = []  # (scene time, offset ms)
        video_se_ppm = 0.0  # the frame grid's rate error, which every video instant inherits
        seen = 0
        for clip in ev.recording.clips if ev.recording else []:
            audio = clip_audio(clip)
            if audio is None:
                continue
            for c in audio.chirps:
                if c.ref_s < ev.start.t + AV_AFTER_PRESS_S or c.audio_pts_s is None:
                    continue
                seen += 1
                if flash_seen(clip, c.video_pts_s, inp.period):
                    pairs.append((c.ref_s, (c.audio_pts_s - c.video_pts_s - delay) * 1000))
                    video_se_ppm = max(video_se_ppm, clip.drift_ppm_standard_error or 0.0)
        n = ev.index
        out.append(
            PAIRED(
                len(pairs),
                min_pairs,
                None,
                event=n,
                note=f"flash and chirp both found ({seen} chirps found after the press)",
            )
        )
        offsets = [o for _, o in pairs]
        median = statistics.median(offsets) if offsets else None
        extreme = max(offsets, key=abs) if offsets else None
        out.append(
            OFFSET(
                median,
                *target,
                event=n,
                note=f"median over {len(offsets)} stimuli, speaker {inp.speaker_distance_m:g} m "
                f"({delay * 1000:.2f} ms) removed",
            )
        )
        out.append(OFFSET_EXTREME(extreme, *must, event=n, note="the stimulus furthest out of sync"))
        if len(pairs) >= (min_pairs or 0) and pairs and pairs[-1][0] - pairs[0][0] >= DRIFT_MIN_SPAN_S:
            t, o = np.array(pairs).T
            slope, fit_se = drift_fit(t, o / 1000)
            se = float(np.hypot(fit_se, video_se_ppm))
            note = f"slope of the offset over {t[-1] - t[0]:.1f} s, standard error {se:.1f} ppm"
            if se > drift_limit:
                out.append(
                    DRIFT(
                        None,
                        -drift_limit,
                        drift_limit,
                        event=n,
                        note=note,
                        not_measurable=f"the recording is too short to tell: {slope:+.1f} ppm "
                        f"with a standard error of {se:.1f} ppm, more than the {drift_limit:g} ppm limit",
                    )
                )
            else:
                drift = DRIFT(slope, -drift_limit, drift_limit, event=n, note=note)
                out.append(with_uncertainty(drift, drift_budget(fit_se, video_se_ppm)))
    return out
