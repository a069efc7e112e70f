"""What the emulated camera's parts share without importing the camera itself.

The camera (camera.py) builds its recorder and its power circuit and hands itself to them; they
see it only through the small protocols of their own modules. The camera's state and the
ground-truth records they exchange live here, below all three, so no part imports another in a
circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Literal

#: What the camera does wrong with its next saved event (device fault of the emulated bench).
NextEvent = Literal["no-clip", "two-clips", "foreign-serial"]


class CameraState(Enum):
    OFF = "off"
    BOOTING = "booting"
    BUFFERING = "buffering"
    RECORDING = "recording"


@dataclass
class SegmentTruth:
    path: Path
    first_frame_t: float
    last_frame_t: float
    frames: int


@dataclass
class EventTruth:
    """Ground truth of one saved event (for tests and benchmarks; never used by the checks)."""

    activation_t: float
    clip_start_t: float
    stop_t: float | None = None
    segments: list[SegmentTruth] = field(default_factory=list)
    dropped: list[float] = field(default_factory=list)
    duplicated: list[float] = field(default_factory=list)
    #: set when power was lost during the event: the last file keeps only its durable fragments
    cut_t: float | None = None

    @property
    def path(self) -> Path | None:
        return self.segments[0].path if self.segments else None

    @property
    def first_frame_t(self) -> float | None:
        return self.segments[0].first_frame_t if self.segments else None

    @property
    def last_frame_t(self) -> float | None:
        return self.segments[-1].last_frame_t if self.segments else None

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.segments)


@dataclass(frozen=True)
class Shot:
    """One frame the camera writes: the scene instant it shows and its pts within the event."""

    t: float
    pts_s: float
