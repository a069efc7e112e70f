"""Checks: turn clip timelines, the done-timeline and the camera profile into measurements.

Each check is a function ``(CheckInput) -> list[Measurement]`` registered under the name that
scenario files use. Limits come from the camera profile, so one check serves every vendor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from harness.analysis.clip import ClipAnalysis
from harness.measurement import Measurement
from harness.profile import CameraProfile
from harness.timeline import Action, Timeline

JOIN_WINDOW_S = 1.0  # gaps this close to the activation count as the buffer/record join
STOP_SLACK_S = 1.0  # a clip may run this long past stop gesture + post-record


@dataclass(frozen=True)
class Event:
    """One activation paired with the clip that should hold it."""

    index: int
    start: Action
    stop: Action | None
    clip: ClipAnalysis | None


@dataclass(frozen=True)
class CheckInput:
    profile: CameraProfile
    timeline: Timeline
    clips: list[ClipAnalysis]
    expected_clips: int

    @property
    def period(self) -> float:
        return self.profile.frame_period_s

    def events(self) -> list[Event]:
        """Pair the n-th start gesture with the n-th clip (by first frame time) and its stop."""
        readable = sorted((c for c in self.clips if c.first_ref_s is not None), key=lambda c: c.first_ref_s)
        starts, stops = self.timeline.gestures("start"), self.timeline.gestures("stop")
        events = []
        for i, start in enumerate(starts):
            stop = next((s for s in stops if s.t > start.t), None)
            events.append(Event(i + 1, start, stop, readable[i] if i < len(readable) else None))
        return events


Check = Callable[[CheckInput], list[Measurement]]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn

    return register


def expected_preroll(inp: CheckInput, activation: float) -> tuple[float, bool]:
    """Pre-roll the profile promises at ``activation``, and whether the buffer was full then.

    A full buffer gives the frame nearest to activation - buffer, so the expectation is the
    buffer length itself. Otherwise the clip starts at the first frame after buffering began
    (power-on + boot time, or the end of the previous event for a camera that refills after a
    stop): that frame comes up to one frame period after the origin, half a period on average.
    """
    p = inp.profile
    power_on = inp.timeline.last_before(activation, "power", "on")
    origin = (power_on.t if power_on else 0.0) + p.boot_s
    if p.buffer_after_stop == "refill":
        for stop in inp.timeline.between(origin, activation, "gesture", "stop"):
            origin = max(origin, stop.t + p.post_record_s)
    available = activation - origin
    if available >= p.pre_event_buffer_s:
        return p.pre_event_buffer_s, True
    return max(0.0, available - p.frame_period_s / 2), False


@check("clip_count")
def clip_count(inp: CheckInput) -> list[Measurement]:
    return [
        Measurement(
            "clips_saved", len(inp.clips), "clips", inp.expected_clips, inp.expected_clips, "BWC-EVT-01",
            note="one clip per activation",
        )
    ]


@check("preroll")
def preroll(inp: CheckInput) -> list[Measurement]:
    out = []
    for ev in inp.events():
        expected, full = expected_preroll(inp, ev.start.t)
        tol = inp.period + (0.0 if full else inp.profile.boot_tolerance_s)
        value = None if ev.clip is None else ev.start.t - ev.clip.first_ref_s
        out.append(
            Measurement(
                f"preroll_s[event {ev.index}]", value, "s", expected - tol, expected + tol,
                "BWC-PRE-01" if full else "BWC-PRE-02",
                note=f"expected {expected:.3f} s ({'full buffer' if full else 'buffer still filling'}) "
                f"+/- 1 frame",
            )
        )
    return out


@check("continuity")
def continuity(inp: CheckInput) -> list[Measurement]:
    out = []
    for ev in inp.events():
        tag = f"[event {ev.index}]"
        if ev.clip is None:
            out.append(Measurement(f"join_missing_frames{tag}", None, "frames", 0, 0, "BWC-CONT-01", "no clip"))
            continue
        at_join = [g for g in ev.clip.gaps if abs(g.after_ref_s - ev.start.t) <= JOIN_WINDOW_S]
        join_missing = sum(g.missing_frames for g in at_join)
        elsewhere = ev.clip.missing_frames - join_missing
        out += [
            Measurement(f"join_missing_frames{tag}", join_missing, "frames", 0, 0, "BWC-CONT-01",
                        note="frames lost where the buffer joins the live recording"),
            Measurement(f"missing_frames{tag}", elsewhere, "frames", 0, 0, "BWC-CONT-02",
                        note="frames lost away from the join"),
            Measurement(f"duplicated_frames{tag}", ev.clip.duplicated_frames, "frames", 0, 0, "BWC-CONT-02"),
            Measurement(f"undecodable_frames{tag}", ev.clip.undecodable, "frames", 0, None, "BWC-CONT-02",
                        note="informative: frames whose time code could not be read"),
        ]
    return out


@check("stop")
def stop(inp: CheckInput) -> list[Measurement]:
    out = []
    post = inp.profile.post_record_s
    for ev in inp.events():
        if ev.stop is None:
            continue
        value = None
        if ev.clip is not None and ev.clip.last_ref_s is not None:
            value = ev.clip.last_ref_s + inp.period - ev.stop.t
        out.append(
            Measurement(f"stop_lag_s[event {ev.index}]", value, "s", -inp.period, post + STOP_SLACK_S, "BWC-STOP-01",
                        note=f"clip end after the stop gesture (post-record {post:g} s)")
        )
    return out


def run_checks(names: list[str], inp: CheckInput) -> list[Measurement]:
    measurements: list[Measurement] = []
    for name in names:
        measurements += CHECKS[name](inp)
    return measurements
