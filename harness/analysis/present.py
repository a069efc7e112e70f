"""Reference time = present time: a clip's analysis moved from nominal scene time onto the bench.

The analysis reads display frame numbers from the pixels and states every instant in *nominal*
scene time (frame ``n`` at ``n / refresh``). On an emulated rig that is also when the frame was
on screen. On a bench the display pipeline is a little late, now and then very late, and skips
frames when the PC falls behind; its driver logs when each frame was really presented, on the
harness clock (:class:`harness.devices.display.RecordedPresentLog`). The checks compare clip
instants with press times from the same clock, so after a bench scenario every reference time of
the analysis is passed through that log here: first and last frame, every frame's point
estimate, gaps, repeats, and the stimuli. When the log is measured at the panel (a photodiode),
the clip's time code is fitted again through it instead (harness/analysis/timeline.py): a late,
held or dropped refresh then neither misplaces the frames that saw it nor widens the fit.

The A/V stimulus gets one more correction. The display's flash strip is on screen at the present
time of its frame, the speaker sounds when the rig controller fired it (its own timestamp). The
A/V check measures audio against where the video shows the stimulus, so each stimulus' video
instant is moved to the pts at which the clip shows the instant the speaker actually fired:
whatever the controller and the display disagreed by is the bench's, not the camera's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Protocol

import numpy as np

from harness.analysis.audio import AudioAnalysis
from harness.analysis.clip import ClipAnalysis, set_reference_times
from harness.analysis.mapping import ClipMapping

log = logging.getLogger(__name__)


class PresentTimes(Protocol):
    """What the conversion needs from a display's present log (see harness.devices.display)."""

    refresh_hz: float
    latency_s: float
    ideal: bool
    measured: bool

    def to_present_many(self, ref_s: np.ndarray) -> np.ndarray: ...

    def dropped(self, t0: float = -math.inf, t1: float = math.inf) -> list[int]: ...


def fired_by_frame(fired: Iterable[tuple[float, float]], refresh_hz: float) -> dict[int, float]:
    """(nominal stimulus time, harness time the controller fired it) -> {display frame: fire time}."""
    return {round(event_s * refresh_hz): on_t for event_s, on_t in fired}


def to_present_times(clip: ClipAnalysis, present: PresentTimes, fired: Mapping[int, float] | None = None) -> None:
    """Move every reference time of ``clip`` (nominal scene time) onto the display's present times.

    ``fired`` maps the display frame of each stimulus the rig controller fired to the harness
    time it fired it (``None``: the camera's stimuli come from elsewhere, as in emulation). The
    ideal display without latency and without fired stimuli changes nothing. Display frames the
    pipeline dropped while the clip was filmed become a finding on the clip.
    """
    if present.ideal and present.latency_s == 0.0 and fired is None:
        return
    if clip.first_ref_s is None or clip.last_ref_s is None:
        return
    first_nominal, last_nominal = clip.first_ref_s, clip.last_ref_s
    known = [i for i, r in enumerate(clip.ref_s) if r is not None]
    refs = present.to_present_many(np.array([clip.ref_s[i] for i in known], dtype=np.float64))
    for i, r in zip(known, refs.tolist()):
        clip.ref_s[i] = r
    # measured present times are exact enough to be the fit's intervals; a software log's per-frame
    # errors (up to a refresh) would narrow the fit onto noise: its times are mapped instead
    refit = clip.timeline.fit(present.to_present_many) if clip.timeline is not None and present.measured else None
    if refit is not None and refit.first_ref_s is not None:
        set_reference_times(clip, refit)  # the fit again, each frame's interval where the panel held it
    else:
        _map_fit(clip, present, first_nominal, last_nominal)
    if clip.preroll_s is not None and clip.first_ref_s is not None:
        clip.preroll_s -= clip.first_ref_s - first_nominal
    if not present.ideal:
        dropped = present.dropped(first_nominal, last_nominal + 1.0 / present.refresh_hz)
        if dropped:
            shown = ", ".join(str(n) for n in dropped[:5]) + (", ..." if len(dropped) > 5 else "")
            clip.findings.append(
                f"the display pipeline dropped {len(dropped)} display frame(s) while this clip was filmed "
                f"({shown}): the frame before each stayed on screen longer; not a fault of the camera"
            )
        anomalies = getattr(present, "anomalies", None)  # a measured log also names late and repeated frames
        found = anomalies(first_nominal, last_nominal + 1.0 / present.refresh_hz) if callable(anomalies) else []
        clip.findings.extend(found)
        if (dropped or found) and refit is None and clip.first_ref_uncertainty_s is not None:
            # mapped, not refitted: the time-code fit took every display frame to be up for one
            # refresh, on time; a frame held longer puts its camera frames a refresh off, so the
            # fit's bracket is not narrower than a refresh
            clip.first_ref_uncertainty_s = max(clip.first_ref_uncertainty_s, 1.0 / present.refresh_hz)
    _stimuli(clip, present, fired)


def _map_fit(clip: ClipAnalysis, present: PresentTimes, first_nominal: float, last_nominal: float) -> None:
    """Without the readings (an analysis read back from its record) or without measured present
    times: the nominal fit's times mapped one by one onto present time."""
    on_grid = [i for i, r in enumerate(clip.grid_ref_s) if r is not None]
    grid = present.to_present_many(np.array([clip.grid_ref_s[i] for i in on_grid], dtype=np.float64))
    for i, r in zip(on_grid, grid.tolist()):
        clip.grid_ref_s[i] = r
    scalars = present.to_present_many(
        np.array(
            [first_nominal, last_nominal] + [g.after_ref_s for g in clip.gaps] + [d.ref_s for d in clip.duplicates]
        )
    )
    clip.first_ref_s, clip.last_ref_s = float(scalars[0]), float(scalars[1])
    for g, r in zip(clip.gaps, scalars[2 : 2 + len(clip.gaps)]):
        g.after_ref_s = float(r)
    for d, r in zip(clip.duplicates, scalars[2 + len(clip.gaps) :]):
        d.ref_s = float(r)


def _stimuli(clip: ClipAnalysis, present: PresentTimes, fired: Mapping[int, float] | None) -> None:
    """Stimulus instants onto present time; with fired stimuli, video instants onto the fire times."""
    audio = clip.audio
    if not isinstance(audio, AudioAnalysis) or not audio.chirps:
        return
    frames = [round(c.ref_s * present.refresh_hz) for c in audio.chirps]
    if fired is None and getattr(present, "stimuli_at_nominal", False):
        # no controller fired them: the bench sounded each at its nominal scene time (the emulated
        # bench's speaker), while its display showed the flash when it really presented the frame
        fired = {f: c.ref_s for f, c in zip(frames, audio.chirps)}
    shown = present.to_present_many(np.array([c.ref_s for c in audio.chirps], dtype=np.float64))
    for c, t in zip(audio.chirps, shown.tolist()):
        c.ref_s = t
    if fired is None:
        return
    try:
        mapping = ClipMapping(clip, grid=True)  # built from the present times set above
    except ValueError:
        return
    kept = []
    for c, frame in zip(audio.chirps, frames):
        on_t = fired.get(frame)
        if on_t is None:
            continue  # the controller never fired this one: there was nothing to hear
        c.video_pts_s = mapping.pts_at(on_t)
        kept.append(c)
    missed = len(audio.chirps) - len(kept)
    if missed:
        clip.findings.append(
            f"{missed} stimulus instant(s) in this clip were not fired by the rig controller; "
            "they are left out of the A/V measurement"
        )
    audio.chirps = kept
    if clip.chirps_expected is not None:
        clip.chirps_expected = len(kept)
        clip.chirps_found = sum(c.audio_pts_s is not None for c in kept)


def at_present_times(
    analyses: list[ClipAnalysis],
    present: PresentTimes | None,
    fired: Iterable[tuple[float, float]] | None,
    refresh_hz: float,
) -> None:
    """After a scenario (or offline): every clip onto a display's present times and the fired stimuli.

    ``present`` is the rig display's present log (``None``: a player shows the scene, reference
    time stays nominal); ``fired`` the stimuli the rig controller fired as (nominal time, fire
    time), or ``None`` when it fired none.
    """
    from harness.devices.display import PresentLog

    present = present if present is not None else PresentLog(refresh_hz)
    by_frame = fired_by_frame(fired, present.refresh_hz) if fired is not None else None
    for clip in analyses:
        try:
            to_present_times(clip, present, by_frame)
        except Exception as exc:
            log.exception("present-time mapping failed for %s", clip.path)
            clip.findings.append(f"reference times left nominal: present-time mapping failed ({exc})")
