"""Named defects of the emulated camera. Each one must be caught by its own check.

A fault changes the camera's :class:`Behaviour` and nothing else, so faults compose and a
healthy camera is simply ``Behaviour.from_profile(profile)`` with no fault applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from harness.emulator.device_faults import DEVICE_FAULTS
from harness.plan.profile import CameraProfile, DutyProfile, PowerDraw
from harness.scene.busy import BITRATE_FACTOR

#: how much of the busy scene's buffer the shrunk buffer storage holds (fault ``buffer-shrinks``)
SHRUNK_STORAGE = 0.85
#: early shutdown voltage that cuts the emulated camera's shift to about 9 h (its battery, its duty profile)
RUNTIME_9H_CUTOFF_V = 3.713


@dataclass(frozen=True)
class Behaviour:
    """What the emulated camera actually does (the profile says what it should do)."""

    buffer_s: float
    buffer_after_stop: str
    post_record_s: float
    boot_s: float
    clock_offset_s: float = 0.0
    clock_drift_ppm: float = 0.0
    av_offset_ms: float = 0.0
    av_drift_ppm: float = 0.0
    drop_after_activation: int = 0
    drop_mid_frames: int = 0
    hidden_drop_frames: int = 0
    duplicate_frames: int = 0
    segment_gap_frames: int = 0
    segment_overlap_frames: int = 0
    stop_delay_s: float = 0.0
    unfinalised: bool = False
    audio_in_buffer: bool = False
    mute_after_activation: bool = False
    marker_delay_s: float = 0.0
    audio_join_delay_s: float = 0.0  # the live audio starts this long after the activation
    stop_unconfirmed: bool = False  # stops at the first press of a stop that asks for confirmation
    buffer_while_docked: bool = False  # the buffer runs on in the dock (camera_dock.py)
    # power (harness/emulator/camera_power.py); None = as the profile says
    cutoff_v: float | None = None
    warning_lead_s: float | None = None
    graceful_cutoff: bool = True
    power_loss_s: float = 0.0
    buffering_draw_scale: float = 1.0
    # a pre-event buffer in storage of its own (Emulation.buffer_storage_mb, MB = 10**6 bytes) holds
    # at most what fits at the camera's bitrate on the scene it films; None: no such limit
    buffer_storage_mb: float | None = None
    bitrate_kbps: float = 1500.0
    #: the vendor's factory buffer (VendorDefaults), what a camera never configured keeps
    vendor_buffer_s: float | None = None

    @property
    def buffer_limit_s(self) -> float | None:
        """Seconds the buffer storage holds at the standard scene's bitrate (None: unlimited)."""
        if self.buffer_storage_mb is None:
            return None
        return self.buffer_storage_mb * 8e6 / (self.bitrate_kbps * 1000)

    @classmethod
    def from_profile(cls, profile: CameraProfile) -> Behaviour:
        emu = profile.emulation
        return cls(
            buffer_s=profile.pre_event_buffer_s,
            buffer_after_stop=profile.buffer_after_stop,
            post_record_s=profile.post_record_s,
            boot_s=profile.boot_s,
            clock_offset_s=emu.clock_offset_s,
            clock_drift_ppm=emu.clock_drift_ppm,
            av_offset_ms=emu.av_offset_ms,
            av_drift_ppm=emu.av_drift_ppm,
            buffer_storage_mb=emu.buffer_storage_mb,
            bitrate_kbps=profile.video.bitrate_kbps,
            vendor_buffer_s=profile.vendor_default.pre_event_buffer_s,
        )


Figure = float | Callable[[CameraProfile], float]


@dataclass(frozen=True)
class Proof:
    """Where a fault shows: running ``scenario`` with it must fail ``measurement`` at about ``expected``.

    ``expected`` and ``tolerance`` may depend on the camera profile the fault is proven on (its
    buffer, its frame period, its clock), so one fault is proven on every persona it applies to.
    """

    scenario: str
    measurement: str
    expected: Figure
    tolerance: Figure

    def expected_for(self, profile: CameraProfile) -> float:
        return self.expected(profile) if callable(self.expected) else float(self.expected)

    def tolerance_for(self, profile: CameraProfile) -> float:
        return self.tolerance(profile) if callable(self.tolerance) else float(self.tolerance)


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: str
    caught_by: str
    apply: Callable[[Behaviour], Behaviour]
    proof: Proof
    #: whether the fault means anything on a camera with this profile (a stop confirmation fault on
    #: a camera without one does not); the matrix proves a fault only where it applies
    applies: Callable[[CameraProfile], bool] = lambda _profile: True


def frame(profile: CameraProfile) -> float:
    """One frame period of the camera: the accuracy of a pre-roll or a stop."""
    return profile.frame_period_s


def configured_buffer(profile: CameraProfile) -> float:
    return profile.pre_event_buffer_s


def clock_accuracy(profile: CameraProfile) -> float:
    """How closely the clock offset is read: the bit strip to a few ms; a text overlay, which shows
    whole seconds and is read by OCR, to within one second."""
    return 0.01 if profile.clock.burned_in == "bits" else 1.0


def _emulated_battery(profile: CameraProfile) -> bool:
    """Whether the camera has the built-in emulated camera's battery, draws and duty (RUNTIME_9H_CUTOFF_V)."""
    p = profile.power
    return (p.capacity_ah, p.draw_a, p.duty, p.cutoff_v) == (5.0, PowerDraw(), DutyProfile(), 3.30)


def _vendor_buffer(b: Behaviour) -> Behaviour:
    if b.vendor_buffer_s is None:
        raise ValueError("buffer-default needs the profile's vendor_default.pre_event_buffer_s")
    return replace(b, buffer_s=b.vendor_buffer_s)


def _shrunk_storage(b: Behaviour) -> Behaviour:
    """Buffer storage that holds the configured buffer on the standard scene but only
    SHRUNK_STORAGE of it on the busy scene."""
    busy_need_mb = b.buffer_s * b.bitrate_kbps * BITRATE_FACTOR["busy"] / 8000
    return replace(b, buffer_storage_mb=SHRUNK_STORAGE * busy_need_mb)


def _has_stop_confirmation(profile: CameraProfile) -> bool:
    return profile.gestures["stop"].confirm_within_s is not None


def _confirm_gap_s(profile: CameraProfile) -> float:
    """From the first press of the stop gesture to its confirming press (planned)."""
    presses = profile.gestures["stop"].presses_made()
    return presses[-1].at_s - presses[0].at_s


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault(
            "short-buffer",
            "keeps 115 s of pre-event buffer instead of the configured length (vendor-documented "
            "behaviour when the buffer fills early)",
            "preroll",
            lambda b: replace(b, buffer_s=b.buffer_s - 5.0),
            Proof("preroll_full_buffer.yaml", "preroll_s[event 1]", lambda p: p.pre_event_buffer_s - 5.0, frame),
        ),
        Fault(
            "buffer-default",
            "still keeps the vendor's factory pre-event buffer (Axon: 30 s) instead of the agency's "
            "(the setting is applied only when the camera is next docked or synced)",
            "preroll",
            _vendor_buffer,
            Proof(
                "preroll_full_buffer.yaml",
                "preroll_s[event 1]",
                lambda p: p.vendor_default.pre_event_buffer_s or 0.0,
                frame,
            ),
            applies=lambda p: p.vendor_default.pre_event_buffer_s not in (None, p.pre_event_buffer_s),
        ),
        Fault(
            "buffer-shrinks",
            f"its pre-event buffer storage fills on a busy scene: it holds {SHRUNK_STORAGE:.0%} of the "
            "configured buffer there (full on the standard scene)",
            "preroll",
            _shrunk_storage,
            Proof(
                "preroll_busy_scene.yaml", "preroll_s[event 1]", lambda p: SHRUNK_STORAGE * p.pre_event_buffer_s, frame
            ),
            applies=lambda p: p.emulation.buffer_storage_mb is not None,
        ),
        Fault(
            "drop-at-join",
            "loses the 10 frames where the buffer joins the live recording",
            "continuity",
            lambda b: replace(b, drop_after_activation=10),
            Proof("preroll_full_buffer.yaml", "join_missing_frames[event 1]", 10, 0),
        ),
        Fault(
            "no-refill",
            "keeps the old buffer after a stop, so the next clip repeats footage already saved",
            "preroll",
            lambda b: replace(b, buffer_after_stop="continuous" if b.buffer_after_stop == "refill" else "refill"),
            Proof("preroll_two_events.yaml", "preroll_s[event 2]", configured_buffer, frame),
        ),
        Fault(
            "late-stop",
            "ends the recording 2.5 s after the stop gesture",
            "stop",
            lambda b: replace(b, stop_delay_s=2.5),
            # the stop lag is measured to the last frame, so it holds the camera's post-record too
            Proof("stop.yaml", "stop_lag_s[event 1]", lambda p: p.post_record_s + 2.5, frame),
        ),
        Fault(
            "drop-mid",
            # mid-way through the live part: the middle of the whole clip of continuity_join.yaml (as
            # much buffer as live) lies within a second or two of the activation, which the check
            # rightly counts as the join on a camera with a quick stop and no post-record
            "loses 6 frames in the middle of a clip's live recording (the pts keep the hole)",
            "continuity",
            lambda b: replace(b, drop_mid_frames=6),
            Proof("continuity_join.yaml", "missing_frames[event 1]", 6, 0),
        ),
        Fault(
            "hidden-drop",
            "loses 5 sensor frames mid-clip but writes regular pts, hiding the hole from the container",
            "continuity",
            lambda b: replace(b, hidden_drop_frames=5),
            Proof("continuity_join.yaml", "hidden_missing_frames[event 1]", 5, 0),
        ),
        Fault(
            "duplicate-frames",
            "writes one frame 3 extra times in the middle of a clip",
            "continuity",
            lambda b: replace(b, duplicate_frames=3),
            Proof("continuity_join.yaml", "duplicated_frames[event 1]", 3, 0),
        ),
        Fault(
            "segment-gap",
            "loses 4 frames at the start of every file after the first of an event",
            "segments",
            lambda b: replace(b, segment_gap_frames=4),
            Proof("segments.yaml", "segment_join_frames[event 1][file 1->2]", 4, 0),
            applies=lambda p: p.segment_s is not None,
        ),
        Fault(
            "segment-overlap",
            "repeats the last 3 frames of a file at the start of the next",
            "segments",
            lambda b: replace(b, segment_overlap_frames=3),
            Proof("segments.yaml", "segment_join_frames[event 1][file 1->2]", -3, 0),
            applies=lambda p: p.segment_s is not None,
        ),
        Fault(
            "stop-unconfirmed",
            "stops recording at the first press of a stop that asks for confirmation, without waiting "
            "for the confirming press",
            "stop",
            lambda b: replace(b, stop_unconfirmed=True),
            Proof("stop.yaml", "stop_lag_s[event 1]", lambda p: -_confirm_gap_s(p), frame),
            applies=_has_stop_confirmation,
        ),
        Fault(
            "slow-boot",
            "takes 6 s longer than its profile's boot time to start buffering",
            "preroll",
            lambda b: replace(b, boot_s=b.boot_s + 6.0),
            Proof("preroll_early_activation.yaml", "boot_s[event 1]", lambda p: p.boot_s + 6.0, 0.1),
        ),
        Fault(
            "unfinalised",
            "never finalises the last file of an event (its index is missing)",
            "stop",
            lambda b: replace(b, unfinalised=True),
            Proof("stop.yaml", "unplayable_files", 1, 0),
        ),
        Fault(
            "clock-offset",
            "keeps its clock 5 s ahead of UTC",
            "clock",
            lambda b: replace(b, clock_offset_s=b.clock_offset_s + 5.0),
            Proof(
                "clock_shift.yaml",
                "clock_offset_s[event 1][burned-in]",
                lambda p: p.emulation.clock_offset_s + 5.0,
                clock_accuracy,
            ),
            applies=lambda p: p.clock.burned_in is not None,
        ),
        Fault(
            "clock-drift",
            "has a clock running 100 ppm fast (4.3 s over a 12-hour shift)",
            "clock",
            lambda b: replace(b, clock_drift_ppm=100.0),
            Proof("clock_shift.yaml", "clock_drift_ppm", 100.0, 5.0),
        ),
        Fault(
            "av-offset",
            "records audio 150 ms later than the video",
            "av_sync",
            lambda b: replace(b, av_offset_ms=b.av_offset_ms + 150.0),
            Proof("av_sync.yaml", "av_offset_ms[event 1]", lambda p: p.emulation.av_offset_ms + 150.0, 5.0),
            applies=lambda p: p.audio.enabled,
        ),
        Fault(
            "av-drift",
            "runs its audio clock 500 ppm slow against the video (30 ms a minute)",
            "av_sync",
            lambda b: replace(b, av_drift_ppm=b.av_drift_ppm + 500.0),
            Proof("av_sync.yaml", "av_drift_ppm[event 1]", 500.0, 10.0),
            applies=lambda p: p.audio.enabled,
        ),
        Fault(
            "audio-in-buffer",
            "keeps audio in the pre-event buffer although the agency's profile forbids it",
            "audio_policy",
            lambda b: replace(b, audio_in_buffer=True),
            Proof("audio_policy.yaml", "preroll_audio_peak_dbfs[event 1]", -10.5, 1.0),
            applies=lambda p: p.audio.enabled and not p.audio.in_buffer,
        ),
        Fault(
            "no-audio",
            "records no audio after activation",
            "audio_policy",
            lambda b: replace(b, mute_after_activation=True),
            Proof("audio_policy.yaml", "audio_after_press_peak_dbfs[event 1]", -200.0, 0),
            applies=lambda p: p.audio.enabled,
        ),
        Fault(
            "late-marker",
            "writes its event marker 0.5 s after the activating press",
            "activation",
            lambda b: replace(b, marker_delay_s=0.5),
            Proof("audio_policy.yaml", "activation_latency_s[event 1]", 0.5, frame),
            applies=lambda p: p.event_marker_key is not None,  # a marker that comes late needs a marker
        ),
        Fault(
            "late-join-audio",
            "starts its live audio 0.5 s after the activating press, its buffer silent as configured "
            "(a camera without event marker: the audio onset is where the live recording starts)",
            "activation",
            lambda b: replace(b, audio_join_delay_s=0.5),
            Proof(
                "audio_policy.yaml",
                "activation_latency_s[event 1]",
                lambda p: 0.5 + p.emulation.av_offset_ms / 1000,
                0.015,
            ),
            applies=lambda p: p.event_marker_key is None and p.audio.enabled and not p.audio.in_buffer,
        ),
        Fault(
            "short-post-record",
            "records 2 s less post-record after the stop gesture than configured",
            "stop",
            lambda b: replace(b, post_record_s=max(0.0, b.post_record_s - 2.0)),
            Proof(
                "stop.yaml",
                "stop_lag_s[event 1]",
                lambda p: p.post_record_s - 2.0 + p.frame_period_s / 2,
                lambda p: p.frame_period_s,
            ),
            applies=lambda p: p.post_record_s >= 3,
        ),
        Fault(
            "buffer-while-docked",
            "keeps buffering while docked: the first clip after an undock reaches back to footage taken "
            "before and in the dock (the full buffer)",
            "docked_buffer",
            lambda b: replace(b, buffer_while_docked=True),
            Proof("dock_buffer.yaml", "undocked_preroll_s[event 1]", configured_buffer, frame),
        ),
        # -- power (harness/emulator/camera_power.py, harness/power_checks.py)
        Fault(
            "short-runtime",
            "shuts itself down at 3.713 V instead of its 3.30 V cut-off, leaving a third of the charge "
            "unused: about 9 h on the duty profile",
            "shift_runtime",
            lambda b: replace(b, cutoff_v=RUNTIME_9H_CUTOFF_V),
            Proof("power_shift.yaml", "shift_runtime_h", 9.1, 0.05),
            applies=_emulated_battery,  # the 9.1 h follows from the built-in camera's battery and draws
        ),
        Fault(
            "late-warning",
            "gives its low-battery warning only 2 min before it shuts down",
            "warning_lead",
            lambda b: replace(b, warning_lead_s=120.0),
            # from the camera's log where it writes one, else from its first beep: power_cutoff.yaml
            # records from minutes before the warning, so every persona's is heard from its start
            Proof("power_cutoff.yaml", "warning_lead_min", 2.0, 0.02),
        ),
        Fault(
            "no-cutoff-finalise",
            "does not finish its file when the battery runs out: it browns out at the cut-off and "
            "leaves the open file unfinalised",
            "cutoff",
            lambda b: replace(b, graceful_cutoff=False),
            Proof("power_cutoff.yaml", "cutoff_file_finalised", 0, 0),
        ),
        Fault(
            "power-cut-loss",
            "keeps its last 30 s of recording in memory: a power cut loses them",
            "power_cut",
            lambda b: replace(b, power_loss_s=30.0),
            Proof("power_cut.yaml", "cut_recovered_s[event 2]", -30.5, 0.6),
        ),
        Fault(
            "buffering-draw",
            "draws 40 % more current than its profile states while buffering",
            "current_profile",
            lambda b: replace(b, buffering_draw_scale=1.4),
            Proof("power_draw.yaml", "current_a[buffering]", lambda p: 1.4 * p.power.draw_a.buffering, 0.001),
        ),
    )
}


class UnknownFault(KeyError):
    def __str__(self) -> str:
        return f"unknown fault {self.args[0]!r}; known faults: {', '.join(sorted([*FAULTS, *DEVICE_FAULTS]))}"


def apply_faults(behaviour: Behaviour, names: list[str] | tuple[str, ...]) -> Behaviour:
    for name in names:
        if name not in FAULTS:
            raise UnknownFault(name)
        behaviour = FAULTS[name].apply(behaviour)
    return behaviour
