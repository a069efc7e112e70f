"""What every check family shares: the check input, events and their recordings, the camera's
metadata, ISO 8601 camera times, and the catalogue the limits come from.

The files of one event (a camera splits long events into segments) are stitched into a
:class:`Recording` first; every check speaks of events, not of files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property

from harness.analysis.clip import ClipAnalysis
from harness.core.measurement import Measurement
from harness.core.paths import CATALOGUE
from harness.core.timeline import Action, Timeline
from harness.devices.display import PresentUncertainty
from harness.plan.profile import CameraProfile
from harness.plan.requirements import Catalogue
from harness.rig.calibration import Calibration

SAME_EVENT_GAP_S = 2.0  # without metadata, files closer than this belong to one event


@dataclass
class Recording:
    """The files of one event, in order (one file unless the camera split the event)."""

    clips: list[ClipAnalysis]

    @property
    def first(self) -> ClipAnalysis:
        return self.clips[0]

    @property
    def last(self) -> ClipAnalysis:
        return self.clips[-1]

    @property
    def first_ref_s(self) -> float:
        return self.first.first_ref_s  # type: ignore[return-value]

    @property
    def last_ref_s(self) -> float:
        return self.last.last_ref_s  # type: ignore[return-value]


@dataclass(frozen=True)
class Event:
    """One activation paired with the recording that should hold it."""

    index: int
    start: Action
    stop: Action | None
    recording: Recording | None


def metadata(clip: ClipAnalysis, key: str | None) -> dict | None:
    """The camera's JSON metadata in container tag ``key``, or None when absent or not JSON."""
    if not key or key not in clip.tags:
        return None
    try:
        data = json.loads(clip.tags[key])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def utc_seconds(text: str) -> float | None:
    """An ISO 8601 time as written by cameras ('Z' or an offset), or None if it is not one."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def stitch(clips: list[ClipAnalysis], marker_key: str | None, starts: list[float] | None = None) -> list[Recording]:
    """Group readable files into events: a new event where the camera's metadata starts one, or
    (without metadata) where the time code jumps by more than ``SAME_EVENT_GAP_S``, or where a
    file holds a start gesture (``starts``, reference times): a camera that refills its buffer at a
    stop and is started again within its buffer length writes a clip that joins the previous one
    without a gap, yet holds its own activation, which a file continuing an event never does."""
    readable = sorted(
        (c for c in clips if c.first_ref_s is not None and c.last_ref_s is not None),
        key=lambda c: c.first_ref_s or 0.0,  # never None here: filtered above
    )
    recordings: list[Recording] = []
    for clip in readable:
        meta = metadata(clip, marker_key)
        if recordings:
            prev = recordings[-1].last
            if meta is not None and "segment" in meta:
                new = meta["segment"] == 1
            else:
                new = abs(clip.first_ref_s - prev.last_ref_s) > SAME_EVENT_GAP_S  # type: ignore[operator]
                new = new or any(clip.first_ref_s <= s <= clip.last_ref_s for s in starts or ())  # type: ignore[operator]
            if not new:
                recordings[-1].clips.append(clip)
                continue
        recordings.append(Recording([clip]))
    return recordings


@cache
def builtin_catalogue() -> Catalogue:
    """The suite's own catalogue, used when a run names no other."""
    return Catalogue.load(CATALOGUE)


@dataclass(frozen=True)
class CheckInput:
    profile: CameraProfile
    timeline: Timeline
    clips: list[ClipAnalysis]
    expected_clips: int
    reference_utc: Callable[[float], datetime] | None = None
    speaker_distance_m: float = 0.0
    run_id: int | None = None  # run id the rig's display shows (None: unknown, not checked)
    clip_source: str = ""  # where the clips were taken from (the camera's storage), for the notes
    catalogue: Catalogue | None = field(default=None, compare=False)  # None: the built-in catalogue
    calibration: Calibration | None = field(default=None, compare=False)  # the bench's, for the budgets
    refresh_hz: float = 60.0  # the display's refresh rate (the software present log's granularity)
    #: the presenter's own present-time uncertainty (None: an ideal, emulated display)
    present: PresentUncertainty | None = field(default=None, compare=False)

    @property
    def period(self) -> float:
        return self.profile.frame_period_s

    @property
    def limits(self) -> Catalogue:
        """The catalogue whose figures the checks judge against."""
        return self.catalogue if self.catalogue is not None else builtin_catalogue()

    @cached_property
    def recordings(self) -> list[Recording]:
        return stitch(self.clips, self.profile.event_marker_key, [a.t for a in self.timeline.gestures("start")])

    def events(self) -> list[Event]:
        """Pair the n-th start gesture with the n-th recording (by first frame time) and its stop."""
        starts, stops = self.timeline.gestures("start"), self.timeline.gestures("stop")
        events = []
        for i, start in enumerate(starts):
            stop = next((s for s in stops if s.t > start.t), None)
            rec = self.recordings[i] if i < len(self.recordings) else None
            events.append(Event(i + 1, start, stop, rec))
        return events

    def ref_utc(self, t: float) -> float:
        """Reference UTC (Unix seconds) at harness time ``t``."""
        if self.reference_utc is None:
            raise ValueError("the clock check needs the rig's reference UTC")
        return self.reference_utc(t).timestamp()


Check = Callable[[CheckInput], list[Measurement]]
