"""Checks: turn clip timelines, the done-timeline and the camera profile into measurements.

Each check is a function ``(CheckInput) -> list[Measurement]`` registered under the name that
scenario files use. Limits come from the camera profile, so one check serves every vendor.
The files of one event (a camera splits long events into segments) are stitched into a
:class:`Recording` first; every check speaks of events, not of files.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np

from harness.analysis.audio import FLOOR_DBFS, AudioAnalysis
from harness.analysis.clip import ClipAnalysis
from harness.analysis.mapping import ClipMapping
from harness.core.measurement import Measurement
from harness.plan.profile import CameraProfile
from harness.scene.stimulus import FLASH_S, acoustic_delay_s
from harness.core.timeline import Action, Timeline

JOIN_WINDOW_S = 1.0  # gaps this close to the activation count as the buffer/record join
STOP_SLACK_S = 1.0  # a clip may run this long past stop gesture + post-record
SAME_EVENT_GAP_S = 2.0  # without metadata, files closer than this belong to one event
AV_AFTER_PRESS_S = 0.2  # stimuli this soon after the press are not used for A/V (audio may start)
FLASH_MIN_RISE = 1.5  # luma levels a flash must lift the frame mean by, against its neighbours
MIN_AV_EVENTS = 3
SILENCE_DBFS = -90.0
AUDIO_PRESENT_DBFS = -70.0


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

    @property
    def tag(self) -> str:
        return f"[event {self.index}]"


def metadata(clip: ClipAnalysis, key: str | None) -> dict | None:
    """The camera's JSON metadata in container tag ``key``, or None when absent or not JSON."""
    if not key or key not in clip.tags:
        return None
    try:
        data = json.loads(clip.tags[key])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def stitch(clips: list[ClipAnalysis], marker_key: str | None) -> list[Recording]:
    """Group readable files into events: a new event where the camera's metadata starts one, or
    (without metadata) where the time code jumps by more than ``SAME_EVENT_GAP_S``."""
    readable = sorted((c for c in clips if c.first_ref_s is not None and c.last_ref_s is not None),
                      key=lambda c: c.first_ref_s)
    recordings: list[Recording] = []
    for clip in readable:
        meta = metadata(clip, marker_key)
        if recordings:
            prev = recordings[-1].last
            if meta is not None and "segment" in meta:
                new = meta["segment"] == 1
            else:
                new = abs(clip.first_ref_s - prev.last_ref_s) > SAME_EVENT_GAP_S
            if not new:
                recordings[-1].clips.append(clip)
                continue
        recordings.append(Recording([clip]))
    return recordings


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

    @property
    def period(self) -> float:
        return self.profile.frame_period_s

    @cached_property
    def recordings(self) -> list[Recording]:
        return stitch(self.clips, self.profile.event_marker_key)

    def events(self) -> list[Event]:
        """Pair the n-th start gesture with the n-th recording (by first frame time) and its stop."""
        starts, stops = self.timeline.gestures("start"), self.timeline.gestures("stop")
        events = []
        for i, start in enumerate(starts):
            stop = next((s for s in stops if s.t > start.t), None)
            rec = self.recordings[i] if i < len(self.recordings) else None
            events.append(Event(i + 1, start, stop, rec))
        return events


Check = Callable[[CheckInput], list[Measurement]]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn

    return register


# -- activation and pre-roll ---------------------------------------------------------------
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


def clip_serial(clip: ClipAnalysis, profile: CameraProfile) -> str | None:
    """The camera serial number a clip states in the camera's JSON metadata, or None."""
    for key in (profile.event_marker_key, profile.clock.metadata_key):
        meta = metadata(clip, key)
        if meta is not None and meta.get("serial") is not None:
            return str(meta["serial"])
    return None


def foreign_reason(inp: CheckInput, clip: ClipAnalysis) -> str | None:
    """Why a clip is not this camera's footage of this run (another serial, another run id), or None."""
    reasons = []
    serial = clip_serial(clip, inp.profile)
    if serial is not None and serial != inp.profile.serial:
        reasons.append(f"names camera {serial}")
    if inp.run_id is not None and clip.run_id is not None and clip.run_id != inp.run_id:
        reasons.append(f"shows the time code of run {clip.run_id}")
    return " and ".join(reasons) or None


@check("clip_count")
def clip_count(inp: CheckInput) -> list[Measurement]:
    """One recording per activation, and every file the camera's own footage of this run."""
    camera = f"camera {inp.profile.serial}" + (f" in {inp.clip_source}" if inp.clip_source else "")
    foreign = [(clip, why) for clip in inp.clips if (why := foreign_reason(inp, clip)) is not None]
    under_test = f"camera under test {inp.profile.serial}" + (f", run {inp.run_id}" if inp.run_id is not None else "")
    return [
        Measurement("events_saved", len(inp.recordings), "events", inp.expected_clips, inp.expected_clips,
                    "BWC-EVT-01", note=f"one recording per activation ({len(inp.clips)} files from {camera})"),
        Measurement("foreign_files", len(foreign), "files", 0, 0, "BWC-EVT-01",
                    note="; ".join(f"{Path(c.path).name}: {why} ({under_test})" for c, why in foreign)
                    or f"no file names another camera or shows another run's time code ({under_test})"),
    ]


@check("preroll")
def preroll(inp: CheckInput) -> list[Measurement]:
    out = []
    for ev in inp.events():
        expected, full = expected_preroll(inp, ev.start.t)
        tol = inp.period + (0.0 if full else inp.profile.boot_tolerance_s)
        value = None if ev.recording is None else ev.start.t - ev.recording.first_ref_s
        out.append(
            Measurement(
                f"preroll_s{ev.tag}", value, "s", expected - tol, expected + tol,
                "BWC-PRE-01" if full else "BWC-PRE-02",
                note=f"expected {expected:.3f} s ({'full buffer' if full else 'buffer still filling'}) "
                f"+/- 1 frame",
            )
        )
    return out


@check("activation")
def activation(inp: CheckInput) -> list[Measurement]:
    """Press (controller timestamp) against the event marker the camera writes in its metadata."""
    key = inp.profile.event_marker_key
    out = []
    for ev in inp.events():
        value, note = None, "no recording"
        if ev.recording is not None:
            value, note = _marker_latency(ev, key)
        out.append(Measurement(f"activation_latency_s{ev.tag}", value, "s", -inp.period,
                               inp.profile.activation_latency_s, "BWC-ACT-01", note=note))
    return out


def _marker_latency(ev: Event, key: str | None) -> tuple[float | None, str]:
    for clip in ev.recording.clips:  # type: ignore[union-attr]
        meta = metadata(clip, key)
        if meta is None or meta.get("event_pts_s") is None:
            continue
        try:
            marker_pts = clip.pts_s[0] + float(meta["event_pts_s"])
            marker_ref = ClipMapping(clip).ref_at(marker_pts)
        except (TypeError, ValueError) as exc:
            return None, f"{Path(clip.path).name}: unusable event marker ({exc})"
        return marker_ref - ev.start.t, f"marker in {Path(clip.path).name} at pts {marker_pts:.3f} s"
    return None, f"no event marker in metadata tag {key!r}"


# -- continuity and segments ---------------------------------------------------------------
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


@check("continuity")
def continuity(inp: CheckInput) -> list[Measurement]:
    out = []
    for ev in inp.events():
        tag = ev.tag
        if ev.recording is None:
            out.append(Measurement(f"join_missing_frames{tag}", None, "frames", 0, 0, "BWC-CONT-01", "no recording"))
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
        out += [
            Measurement(f"join_missing_frames{tag}", join_missing, "frames", 0, 0, "BWC-CONT-01",
                        note="frames lost where the buffer joins the live recording"),
            Measurement(f"missing_frames{tag}", missing, "frames", 0, 0, "BWC-CONT-02",
                        note="frames lost away from the join"),
            Measurement(f"duplicated_frames{tag}", sum(c.duplicated_frames for c in clips), "frames", 0, 0,
                        "BWC-CONT-02"),
            Measurement(f"hidden_missing_frames{tag}", sum(hidden_missing_frames(c, inp.period) for c in clips),
                        "frames", 0, 0, "BWC-CONT-02",
                        note="lost frames the pts do not show (regular pts over a hole in the time code)"),
            Measurement(f"mean_frame_rate_fps{tag}", fps, "fps", nominal * 0.99, nominal * 1.01, "BWC-CONT-02",
                        note=f"frames over time-code span, nominal {nominal:g} fps +/- 1 %"),
            Measurement(f"undecodable_frames{tag}", sum(c.undecodable or 0 for c in clips), "frames", 0, None,
                        "BWC-CONT-02", note="informative: frames whose time code could not be read"),
        ]
    return out


@check("segments")
def segments(inp: CheckInput) -> list[Measurement]:
    """Gap (+) or overlap (-) in frames where one file of an event hands over to the next."""
    out = []
    length = inp.profile.segment_s
    for ev in inp.events():
        if ev.recording is None:
            continue
        clips = ev.recording.clips
        for j, (a, b) in enumerate(zip(clips, clips[1:]), start=1):
            frames = round((b.first_ref_s - a.last_ref_s) / inp.period) - 1
            out.append(Measurement(f"segment_join_frames{ev.tag}[file {j}->{j + 1}]", frames, "frames", -1, 0,
                                   "BWC-SEG-01", note=f"{Path(a.path).name} -> {Path(b.path).name}; "
                                   "+ = frames missing, - = frames repeated"))
        span = ev.recording.last_ref_s - ev.recording.first_ref_s
        should_split = bool(length) and span > length + 1.0
        out.append(Measurement(f"files_in_event{ev.tag}", len(clips), "files",
                               2 if should_split else 1, None, "BWC-SEG-01",
                               note=f"event of {span:.1f} s, segment length {length or 'none'} s"))
    return out


# -- stop ------------------------------------------------------------------------------------
@check("stop")
def stop(inp: CheckInput) -> list[Measurement]:
    out = []
    post = inp.profile.post_record_s
    for ev in inp.events():
        if ev.stop is None:
            continue
        value = None
        if ev.recording is not None:
            value = ev.recording.last_ref_s + inp.period - ev.stop.t
        out.append(Measurement(f"stop_lag_s{ev.tag}", value, "s", -inp.period, post + STOP_SLACK_S, "BWC-STOP-01",
                               note=f"clip end after the stop gesture (post-record {post:g} s)"))
    broken = [c for c in inp.clips if c.error]
    out.append(Measurement("unplayable_files", len(broken), "files", 0, 0, "BWC-STOP-02",
                           note="; ".join(f"{Path(c.path).name}: {c.error}" for c in broken)
                           or "every file finalised and readable to its last frame"))
    return out


# -- clock -------------------------------------------------------------------------------------
def _ref_utc(inp: CheckInput, t: float) -> float:
    if inp.reference_utc is None:
        raise ValueError("the clock check needs the rig's reference UTC")
    return inp.reference_utc(t).timestamp()


def clock_offsets(inp: CheckInput, clip: ClipAnalysis) -> dict[str, float]:
    """Camera clock minus reference UTC at the clip's first frame, from each source the camera has."""
    spec = inp.profile.clock
    out: dict[str, float] = {}
    if clip.camera_utc:
        diffs = [cam - _ref_utc(inp, clip.ref_s[i]) for i, cam in clip.camera_utc if clip.ref_s[i] is not None]
        if diffs:
            out["burned-in"] = statistics.median(diffs)
    meta = metadata(clip, spec.metadata_key)
    if meta and meta.get("camera_start_utc"):
        start = _utc_seconds(str(meta["camera_start_utc"]))
        if start is not None:
            out["metadata"] = start - _ref_utc(inp, clip.first_ref_s)
    if spec.container_time and clip.creation_time:
        created = _utc_seconds(clip.creation_time)
        if created is not None:
            out["container"] = created - _ref_utc(inp, clip.first_ref_s)
    return out


def _utc_seconds(text: str) -> float | None:
    """An ISO 8601 time as written by cameras ('Z' or an offset), or None if it is not one."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@check("clock")
def clock(inp: CheckInput) -> list[Measurement]:
    spec = inp.profile.clock
    out = []
    best: list[tuple[float, float, str]] = []  # (reference time, offset, source) per event
    for ev in inp.events():
        if ev.recording is None:
            out.append(Measurement(f"clock_offset_s{ev.tag}", None, "s", -spec.max_offset_s, spec.max_offset_s,
                                   "BWC-CLK-01", note="no recording"))
            continue
        offsets = clock_offsets(inp, ev.recording.first)
        if not offsets:
            out.append(Measurement(f"clock_offset_s{ev.tag}", None, "s", -spec.max_offset_s, spec.max_offset_s,
                                   "BWC-CLK-01", note="the camera states its time nowhere the harness can read"))
        for source, value in offsets.items():
            low = -spec.max_offset_s - (1.0 if source == "container" else 0.0)  # whole seconds, truncated
            out.append(Measurement(f"clock_offset_s{ev.tag}[{source}]", value, "s", low, spec.max_offset_s,
                                   "BWC-CLK-01", note="camera clock minus reference UTC at the first frame"))
        for source in ("burned-in", "metadata", "container"):
            if source in offsets:
                best.append((ev.recording.first_ref_s, offsets[source], source))
                break
    if len(best) >= 2 and best[-1][0] - best[0][0] >= 600:
        (t0, o0, s0), (t1, o1, s1) = best[0], best[-1]
        drift = (o1 - o0) / (t1 - t0) * 1e6
        out.append(Measurement("clock_drift_ppm", drift, "ppm", -spec.max_drift_ppm, spec.max_drift_ppm, "BWC-CLK-02",
                               note=f"offset {o0:+.3f} s -> {o1:+.3f} s over {(t1 - t0) / 3600:.2f} h ({s0}/{s1}); "
                               f"{drift * 43200e-6:+.2f} s per 12 h"))
    return out


# -- audio ---------------------------------------------------------------------------------------
def _audio(clip: ClipAnalysis) -> AudioAnalysis | None:
    audio = clip.audio
    return audio if isinstance(audio, AudioAnalysis) and audio.error is None else None


def _flash_seen(clip: ClipAnalysis, video_pts: float, period: float) -> bool:
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


@check("av_sync")
def av_sync(inp: CheckInput) -> list[Measurement]:
    """Audio chirp against the video instant of the same stimulus, corrected for the speaker distance.

    Positive offsets mean the audio comes later than the picture.
    """
    spec = inp.profile.av_sync
    delay = acoustic_delay_s(inp.speaker_distance_m)
    out = []
    for ev in inp.events():
        pairs: list[tuple[float, float]] = []  # (scene time, offset ms)
        seen = 0
        for clip in ev.recording.clips if ev.recording else []:
            audio = _audio(clip)
            if audio is None:
                continue
            for c in audio.chirps:
                if c.ref_s < ev.start.t + AV_AFTER_PRESS_S or c.audio_pts_s is None:
                    continue
                seen += 1
                if _flash_seen(clip, c.video_pts_s, inp.period):
                    pairs.append((c.ref_s, (c.audio_pts_s - c.video_pts_s - delay) * 1000))
        tag = ev.tag
        out.append(Measurement(f"av_events_paired{tag}", len(pairs), "events", MIN_AV_EVENTS, None, "BWC-AV-02",
                               note=f"flash and chirp both found ({seen} chirps found after the press)"))
        offsets = [o for _, o in pairs]
        median = statistics.median(offsets) if offsets else None
        extreme = max(offsets, key=abs) if offsets else None
        out.append(Measurement(f"av_offset_ms{tag}", median, "ms", *spec.target_ms, "BWC-AV-01",
                               note=f"median over {len(offsets)} stimuli, speaker {inp.speaker_distance_m:g} m "
                               f"({delay * 1000:.2f} ms) removed"))
        out.append(Measurement(f"av_offset_extreme_ms{tag}", extreme, "ms", *spec.must_ms, "BWC-AV-02",
                               note="the stimulus furthest out of sync"))
        if len(pairs) >= MIN_AV_EVENTS and pairs[-1][0] - pairs[0][0] >= 5.0:
            t, o = np.array(pairs).T
            slope = float(np.polyfit(t, o / 1000, 1)[0]) * 1e6
            out.append(Measurement(f"av_drift_ppm{tag}", slope, "ppm", -spec.drift_ppm, spec.drift_ppm, "BWC-AV-01",
                                   note=f"slope of the offset over {t[-1] - t[0]:.1f} s"))
    return out


@check("audio_policy")
def audio_policy(inp: CheckInput) -> list[Measurement]:
    """Audio in the pre-roll as the profile says (absent or silent, or present), and audio after the press."""
    spec = inp.profile.audio
    out = []
    for ev in inp.events():
        tag = ev.tag
        clip = ev.recording.first if ev.recording else None
        audio = _audio(clip) if clip else None
        if clip is None or audio is None:
            out.append(Measurement(f"audio_after_press_peak_dbfs{tag}", None, "dBFS", AUDIO_PRESENT_DBFS, None,
                                   "BWC-AUD-01", note="no recording with a readable audio track"))
            continue
        press_pts = ClipMapping(clip).pts_at(ev.start.t)
        end = clip.pts_s[-1]
        after = audio.peak_dbfs(press_pts + 0.05, end)
        out.append(Measurement(f"audio_after_press_peak_dbfs{tag}", after, "dBFS", AUDIO_PRESENT_DBFS, None,
                               "BWC-AUD-01", note="audio is recorded once the camera is activated"))
        if spec.in_buffer:
            before = [c for c in audio.chirps if c.ref_s < ev.start.t - 0.1]
            found = sum(c.audio_pts_s is not None for c in before)
            out.append(Measurement(f"preroll_chirps_found{tag}", found / len(before) if before else None, "fraction",
                                   1.0, None, "BWC-AUD-01", note=f"{found} of {len(before)} pre-roll stimuli heard"))
        else:
            level = audio.peak_dbfs(clip.pts_s[0], press_pts - 0.1)
            out.append(Measurement(f"preroll_audio_peak_dbfs{tag}", FLOOR_DBFS if level is None else level,
                                   "dBFS", None, SILENCE_DBFS, "BWC-AUD-01",
                                   note="the profile keeps no audio in the buffer: absent or digital silence"
                                   + (" (absent)" if level is None else "")))
            start = audio.first_sound_after(press_pts)
            out.append(Measurement(f"audio_start_s{tag}", None if start is None else start - press_pts, "s",
                                   -spec.start_tolerance_s, spec.start_tolerance_s, "BWC-AUD-01",
                                   note="first non-silent audio relative to the press"))
    return out


def run_checks(names: list[str], inp: CheckInput) -> list[Measurement]:
    measurements: list[Measurement] = []
    for name in names:
        measurements += CHECKS[name](inp)
    return measurements


# power checks register themselves into CHECKS (shift runtime, warning, cut-off, power cut, draw)
import harness.checks.power  # noqa: E402,F401  (after CHECKS and @check exist)
from harness.checks.evidence import evidence as _evidence  # noqa: E402

CHECKS["evidence"] = lambda inp: _evidence(inp.clips)  # BWC-EVD-01 in every scenario that takes clips
