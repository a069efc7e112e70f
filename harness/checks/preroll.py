"""Activation checks: one recording per activation, the pre-roll each holds, and how promptly the
camera marked the event.

The pre-roll is judged against the buffer length the requirement catalogue gives (an agency's
own figure) and, when the catalogue gives none, against the camera profile's configured buffer.
An activation before the buffer has filled is judged from where buffering began, as the runner
measured it from the supply current (the step from the booting to the buffering draw); that
measured boot time is itself judged against the profile's boot range (``boot_s``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.analysis.clip import ClipAnalysis
from harness.analysis.mapping import ClipMapping
from harness.checks.av import clip_audio
from harness.checks.common import CheckInput, Event, metadata
from harness.checks.identity import foreign_serials, serial_match
from harness.core.measurement import Declared, Measurement
from harness.core.timeline import Action, BufferingStarted
from harness.plan.profile import CameraProfile

EVENTS_SAVED = Declared("events_saved", "events", "BWC-EVT-01", "profile")  # the scenario's expected count
FOREIGN_FILES = Declared("foreign_files", "files", "BWC-EVT-01", "catalogue")
PREROLL_FULL = Declared("preroll_s", "s", "BWC-PRE-01", "catalogue, else profile", ("event",))
PREROLL_FILLING = Declared("preroll_s", "s", "BWC-PRE-02", "catalogue, else profile", ("event",))
ACTIVATION_LATENCY = Declared("activation_latency_s", "s", "BWC-ACT-01", "profile", ("event",))
#: why a camera without event marker and with audio in its buffer cannot be timed
NO_JOIN = "the camera marks the start of the live recording nowhere: no event marker and audio in the buffer"
#: power-on to buffering, measured, behind the expected pre-roll of an event (limits: boot range)
BOOT = Declared("boot_s", "s", "BWC-PRE-02", "profile", ("event",))
MEASUREMENTS = (EVENTS_SAVED, FOREIGN_FILES, PREROLL_FULL, PREROLL_FILLING, ACTIVATION_LATENCY, BOOT)


def buffer_s(inp: CheckInput) -> tuple[float, str]:
    """The pre-event buffer length the verdict uses, and where it comes from: the catalogue's
    figure when it gives one, else the camera profile's configured buffer."""
    if inp.limits.limit("BWC-PRE-01", "buffer") is not None:
        return inp.limits.figure("BWC-PRE-01", "buffer", "s"), f"catalogue {inp.limits.path.name}"
    return inp.profile.pre_event_buffer_s, "camera profile"


@dataclass(frozen=True)
class BufferingOrigin:
    """Where buffering began after the power-on before an activation.

    ``t`` is the measured start when the runner measured it, else power-on + the profile's boot
    time; ``uncertainty_s`` is how far ``t`` may be off (half the current-reading interval when
    measured, the profile's boot tolerance otherwise); ``action`` is the recorded buffering start
    (None: the run recorded none) and ``on`` the camera's power-on.
    """

    t: float
    uncertainty_s: float
    on: Action | None
    action: Action | None

    @property
    def detail(self) -> BufferingStarted | None:
        d = self.action.detail if self.action is not None else None
        return d if isinstance(d, BufferingStarted) else None

    @property
    def measured(self) -> bool:
        return self.detail is not None and self.detail.boot_s is not None

    def describe(self, profile: CameraProfile) -> str:
        d = self.detail
        if d is not None and d.boot_s is not None:
            return (
                f"buffering began {d.boot_s:.2f} s after power-on (supply current read every {d.interval_s:g} s; "
                f"+/- {self.uncertainty_s:.3f} s)"
            )
        why = (d.not_measurable or d.note) if d is not None else "the run recorded no buffering start"
        widen = f", tolerance widened by the boot range +/- {self.uncertainty_s:g} s" if self.uncertainty_s else ""
        return f"buffering start not measured ({why}): power-on + {profile.boot_s:g} s boot{widen}"


def buffering_origin(inp: CheckInput, activation: float) -> BufferingOrigin:
    """Where buffering began after the last power-on before ``activation`` (see :class:`BufferingOrigin`)."""
    p = inp.profile
    on = inp.timeline.camera_on(activation)
    action = inp.timeline.buffering_started(activation)
    origin = BufferingOrigin((on.t if on else 0.0) + p.boot_s, p.boot_tolerance_s, on, action)
    if origin.measured:
        assert action is not None and origin.detail is not None
        return BufferingOrigin(action.t, origin.detail.interval_s / 2, on, action)
    return origin


@dataclass(frozen=True)
class PrerollExpectation:
    """The pre-roll expected at an activation: the value, whether the buffer was full, and, when
    it was still filling since a power-on, where buffering began (``boot``; None when it filled
    since a stop or was full)."""

    value: float
    full: bool
    uncertainty_s: float = 0.0
    boot: BufferingOrigin | None = None


def preroll_expectation(inp: CheckInput, activation: float) -> PrerollExpectation:
    """Pre-roll expected at ``activation``.

    A full buffer gives the frame nearest to activation - buffer, so the expectation is the
    buffer length itself. Otherwise the clip starts at the first frame after buffering began
    (the measured buffering start after power-on, or the end of the previous event for a camera
    that refills after a stop): that frame comes up to one frame period after the origin, half a
    period on average.
    """
    p = inp.profile
    buffer, _ = buffer_s(inp)
    start = buffering_origin(inp, activation)
    boot: BufferingOrigin | None = start
    origin = start.t
    if p.buffer_after_stop == "refill":
        for stop in inp.timeline.between(origin, activation, "gesture", "stop"):
            if stop.t + p.post_record_s > origin:
                origin, boot = stop.t + p.post_record_s, None
    available = activation - origin
    if available >= buffer:
        return PrerollExpectation(buffer, True)
    value = max(0.0, available - p.frame_period_s / 2)
    return PrerollExpectation(value, False, boot.uncertainty_s if boot else 0.0, boot)


def expected_preroll(inp: CheckInput, activation: float) -> tuple[float, bool]:
    """Pre-roll expected at ``activation``, and whether the buffer was full then."""
    e = preroll_expectation(inp, activation)
    return e.value, e.full


def boot_measurement(inp: CheckInput, boot: BufferingOrigin, event: int) -> Measurement:
    """The measured boot time behind an event's expected pre-roll, against the profile's boot range
    widened by the reading interval (the step is placed to within half of it; the other half
    allows for when a reading is taken against when the instrument made it)."""
    low, high = inp.profile.boot_range_s
    d = boot.detail
    if d is None:
        return BOOT(None, low, high, event=event, not_measurable="the run recorded no supply current after power-on")
    if d.not_measurable is not None:
        return BOOT(None, low, high, event=event, not_measurable=d.not_measurable)
    step = d.interval_s
    if d.boot_s is None:
        return BOOT(None, low - step, high + step, event=event, note=d.note or "buffering start not seen")
    return BOOT(
        d.boot_s,
        low - step,
        high + step,
        event=event,
        note=f"power-on to the step from the booting to the buffering draw ({d.readings} current readings "
        f"every {step:g} s); profile boot range {low:g}..{high:g} s, +/- the reading interval",
    )


def foreign_reason(inp: CheckInput, clip: ClipAnalysis) -> str | None:
    """Why a clip is not this camera's footage of this run (another serial, another run id), or None."""
    where: dict[str, list[str]] = {}
    for reading in foreign_serials(clip, inp.profile):
        where.setdefault(str(reading.serial), []).append(reading.source)
    reasons = [f"names camera {serial} in its {' and '.join(sources)}" for serial, sources in where.items()]
    if inp.run_id is not None and clip.run_id is not None and clip.run_id != inp.run_id:
        reasons.append(f"shows the time code of run {clip.run_id}")
    return " and ".join(reasons) or None


def clip_count(inp: CheckInput) -> list[Measurement]:
    """One recording per activation, every file the camera's own footage of this run, and each
    recording naming the bench's declared unit."""
    camera = f"camera {inp.profile.serial}" + (f" in {inp.clip_source}" if inp.clip_source else "")
    foreign = [(clip, why) for clip in inp.clips if (why := foreign_reason(inp, clip)) is not None]
    under_test = f"camera under test {inp.profile.serial}" + (f", run {inp.run_id}" if inp.run_id is not None else "")
    return [
        EVENTS_SAVED(
            len(inp.recordings),
            inp.expected_clips,
            inp.expected_clips,
            note=f"one recording per activation ({len(inp.clips)} files from {camera})",
        ),
        FOREIGN_FILES(
            len(foreign),
            *inp.limits.bounds("BWC-EVT-01", "foreign", "files"),
            note="; ".join(f"{Path(c.path).name}: {why} ({under_test})" for c, why in foreign)
            or f"no file names another camera or shows another run's time code ({under_test})",
        ),
        *serial_match(inp),
    ]


def preroll(inp: CheckInput) -> list[Measurement]:
    """Activation minus the first frame of its recording, against the expected pre-roll; where the
    expectation counts from a power-on, the measured boot time behind it as well."""
    out = []
    _, source = buffer_s(inp)
    for ev in inp.events():
        e = preroll_expectation(inp, ev.start.t)
        declared = PREROLL_FULL if e.full else PREROLL_FILLING
        frames = inp.limits.figure(declared.requirement, "tolerance", "frames")
        tol = frames * inp.period + e.uncertainty_s
        value = None if ev.recording is None else ev.start.t - ev.recording.first_ref_s
        if e.full:
            origin = f"full buffer, from the {source}"
        elif e.boot is not None:
            origin = f"buffer still filling; {e.boot.describe(inp.profile)}"
        else:
            origin = "buffer still filling since the previous stop"
        out.append(
            declared(
                value,
                e.value - tol,
                e.value + tol,
                event=ev.index,
                note=f"expected {e.value:.3f} s ({origin}) +/- {frames:g} frame{'' if frames == 1 else 's'}"
                + (f" + {e.uncertainty_s:.3f} s" if e.uncertainty_s else ""),
            )
        )
        if e.boot is not None:
            out.append(boot_measurement(inp, e.boot, ev.index))
    return out


def join_source(profile: CameraProfile) -> str | None:
    """What marks the join of buffer and live recording on this camera model: its event marker,
    else the audio onset (a camera that keeps no audio in its buffer starts its sound at the
    join), else nothing (None)."""
    if profile.event_marker_key:
        return "marker"
    if profile.audio.enabled and not profile.audio.in_buffer:
        return "audio"
    return None


def activation(inp: CheckInput) -> list[Measurement]:
    """Press (controller timestamp) against the start of the live recording, read from the event
    marker the camera writes in its metadata or, without one, from the audio onset of a camera
    that keeps no audio in its buffer. Where neither marks it the latency is not measurable."""
    source = join_source(inp.profile)
    out = []
    for ev in inp.events():
        low, high = -inp.period, inp.profile.activation_latency_s
        if source is None:
            out.append(ACTIVATION_LATENCY(None, low, high, event=ev.index, not_measurable=NO_JOIN))
            continue
        value, note = None, "no recording"
        if ev.recording is not None:
            if source == "marker":
                value, note = _marker_latency(ev, inp.profile.event_marker_key)
            else:
                value, note = _audio_onset_latency(ev)
        out.append(ACTIVATION_LATENCY(value, low, high, event=ev.index, note=note))
    return out


def _audio_onset_latency(ev: Event) -> tuple[float | None, str]:
    """The first non-silent audio after the pre-roll's silence, against the press: the join of a
    camera whose buffer keeps no audio."""
    for clip in ev.recording.clips:  # type: ignore[union-attr]
        audio = clip_audio(clip)
        if audio is None or not clip.pts_s:
            continue
        onset = audio.first_sound_after(clip.pts_s[0])
        if onset is None:
            continue  # a file wholly in the silent pre-roll: the join is in a later one
        try:
            onset_ref = ClipMapping(clip).ref_at(onset)
        except ValueError as exc:
            return None, f"{Path(clip.path).name}: audio onset at pts {onset:.3f} s not on the time code ({exc})"
        return onset_ref - ev.start.t, (
            f"audio onset (no event marker; the buffer keeps no audio) in {Path(clip.path).name} at pts {onset:.3f} s"
        )
    return None, "audio onset: no sound in the recording (the buffer keeps no audio, so its onset marks the join)"


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
        return marker_ref - ev.start.t, f"event marker in {Path(clip.path).name} at pts {marker_pts:.3f} s"
    return None, f"no event marker in metadata tag {key!r}"
