"""Camera profile: what a camera model claims and how its buttons are worked.

A profile is data (scenarios/cameras/*.yaml). The checks take their limits from it and the
emulated camera takes its behaviour from it, so a real camera and its emulation are judged by
the same numbers.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from datetime import tzinfo
from fractions import Fraction
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.core.config import load_model
from harness.plan.naming import FileNaming, NamingError


class ButtonEdge(Protocol):
    """A solenoid edge as a gesture reads it (the rig controller's ``Edge``): down or up, at ``t``."""

    @property
    def down(self) -> bool: ...
    @property
    def t(self) -> float: ...


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Press(Strict):
    """One press of a gesture sequence: ``button`` goes down ``at_s`` after the gesture begins and
    is held ``hold_s``."""

    button: str
    at_s: float = Field(0.0, ge=0, le=30)
    hold_s: float = Field(0.15, gt=0, le=30)


class Gesture(Strict):
    """A button gesture, in one of three forms:

    * ``presses`` short presses of ``button`` (1 = press, 2 = double press);
    * one press of ``button`` held for ``hold_s`` (the camera acts when the hold reaches it);
    * a ``sequence`` of presses across buttons with their timing (the camera acts on the last
      press going down, or, with ``acts_on: held``, when the last press has been held).

    ``confirm_within_s``: the camera acts only if the last press follows the first within this
    time (a stop confirmation: press, then press again within 5 s, or it keeps recording).
    """

    button: str = "event"
    presses: int = Field(1, ge=1, le=5)
    press_s: float = Field(0.15, gt=0, le=2)
    gap_s: float = Field(0.25, gt=0, le=2)
    hold_s: float | None = Field(None, gt=0, le=30)
    release_margin_s: float = Field(0.5, ge=0, le=5, description="how long the rig holds past hold_s")
    sequence: tuple[Press, ...] | None = Field(None, min_length=1, max_length=8)
    acts_on: Literal["down", "held"] = Field("down", description="the last press acts going down or once held")
    confirm_within_s: float | None = Field(None, gt=0, le=60)

    @model_validator(mode="after")
    def _one_kind(self) -> Gesture:
        if self.hold_s is not None and self.presses != 1:
            raise ValueError("a gesture is either several presses or one hold, not both")
        if self.sequence is not None:
            if self.hold_s is not None or self.presses != 1:
                raise ValueError("a gesture is a sequence, or presses/hold of one button, not both")
            starts = [p.at_s for p in self.sequence]
            if starts != sorted(starts):
                raise ValueError("sequence: presses must be in the order they happen (at_s rising)")
        if self.confirm_within_s is not None:
            if len(self.sequence or ()) < 2:
                raise ValueError("confirm_within_s needs a sequence of at least two presses")
            assert self.sequence is not None
            if self.sequence[-1].at_s - self.sequence[0].at_s >= self.confirm_within_s:
                raise ValueError("the confirming press comes later than confirm_within_s allows")
        return self

    @property
    def buttons(self) -> tuple[str, ...]:
        """The buttons this gesture presses, each once, in order."""
        return tuple(dict.fromkeys(p.button for p in self.presses_made()))

    def presses_made(self) -> tuple[Press, ...]:
        """The presses the rig makes, whatever form the gesture is written in."""
        if self.sequence is not None:
            return self.sequence
        if self.hold_s is not None:
            return (Press(button=self.button, at_s=0.0, hold_s=self.hold_s + self.release_margin_s),)
        step = self.press_s + self.gap_s
        return tuple(Press(button=self.button, at_s=i * step, hold_s=self.press_s) for i in range(self.presses))

    def schedule(self) -> list[tuple[float, float]]:
        """(start offset, duration) of each press the rig makes, in seconds."""
        return [(p.at_s, p.hold_s) for p in self.presses_made()]

    @property
    def held_s(self) -> float | None:
        """How long the acting press must be held before the camera acts (None: it acts going down)."""
        if self.hold_s is not None:
            return self.hold_s
        if self.sequence is not None and self.acts_on == "held":
            return self.sequence[-1].hold_s
        return None

    @property
    def duration_s(self) -> float:
        """From the first press going down to the last coming up."""
        return max(p.at_s + p.hold_s for p in self.presses_made())

    def effective_time(self, edges: Sequence[ButtonEdge]) -> float:
        """The instant the camera acts: the last press going down, or the hold reaching its length."""
        downs = [e.t for e in edges if e.down]
        if not downs:
            raise ValueError("gesture produced no press")
        held = self.held_s
        if self.hold_s is not None:
            return downs[0] + self.hold_s
        return downs[-1] + (held or 0.0)


class VideoSpec(Strict):
    """What the camera records: size, frame rate (25, 29.97, 30 ...), codec and bitrate."""

    width: int = Field(640, ge=64, le=7680)
    height: int = Field(360, ge=64, le=4320)
    fps: float = Field(30.0, gt=0, le=240)
    codec: Literal["h264", "hevc"] = "h264"
    bitrate_kbps: int = Field(1500, ge=100, le=100000)

    @property
    def frame_rate(self) -> Fraction:
        """The exact frame rate: 29.97 is NTSC's 30000/1001 (likewise 23.976, 59.94), not 2997/100."""
        for ntsc in (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001)):
            if abs(self.fps - float(ntsc)) < 0.006:
                return ntsc
        return Fraction(self.fps).limit_denominator(1000)


class ReminderTone(Strict):
    """A reminder the camera sounds (and records) while recording: ``tones`` beeps every ``every_s``."""

    every_s: float = Field(gt=0, le=3600)
    tones: int = Field(2, ge=1, le=5)
    tone_hz: float = Field(2500.0, ge=200, le=16000)
    tone_s: float = Field(0.12, gt=0, le=2)
    gap_s: float = Field(0.12, gt=0, le=2)


class AudioSpec(Strict):
    """The camera's audio track and the agency's rule for audio in the pre-event buffer."""

    enabled: bool = True
    sample_rate: int = Field(48000, ge=8000, le=96000)
    in_buffer: bool = Field(
        False, description="whether the pre-event buffer carries audio (off by default on many cameras)"
    )
    start_tolerance_s: float = Field(0.1, ge=0, le=5, description="audio must start this close to the activation")
    reminder: ReminderTone | None = Field(None, description="tones the camera sounds while it records")


class AvSync(Strict):
    """A/V offset limits, ms, positive = audio later than video (EBU R37 target, BT.1359 must)."""

    target_ms: tuple[float, float] = (-40.0, 60.0)
    must_ms: tuple[float, float] = (-45.0, 125.0)
    drift_ppm: float = Field(50.0, gt=0, description="largest A/V drift over a recording")


class TextOverlay(Strict):
    """The date and time the camera burns into its picture, as text.

    ``format`` is the camera's own layout (strftime); ``corner`` and ``height_frac`` say where it is
    and how tall its text is (a fraction of the frame height); ``device_id`` whether it also prints
    the camera's serial after the time; ``time_zone`` the zone whose local time it prints.
    """

    format: str = "%Y-%m-%d %H:%M:%S"
    corner: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = "top-left"
    height_frac: float = Field(0.045, gt=0.01, le=0.2)
    device_id: bool = False
    # Cameras print the local time of the agency's zone (set in the docking or configuration
    # software), not UTC; the reader turns what it reads back into UTC with this zone's rules,
    # summer time included. An hour of the autumn change read twice counts as the first one.
    time_zone: str = Field(
        "UTC", description="IANA time zone the camera prints its time in (e.g. 'America/Chicago'); 'UTC' if none"
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as 'Europe/Berlin', or 'UTC')") from None
        return value

    @property
    def zone(self) -> tzinfo:
        """The zone of the printed time."""
        return zoneinfo.ZoneInfo(self.time_zone)


class ClockSpec(Strict):
    """Where the camera states its time, and how well it must keep it."""

    max_offset_s: float = Field(1.0, gt=0)
    max_drift_ppm: float = Field(2.0 / 43200 * 1e6, gt=0, description="2 s over a 12-hour shift")
    container_time: bool = Field(True, description="the MP4 creation time carries the camera clock (whole seconds)")
    metadata_key: str | None = Field(None, description="container metadata tag holding a JSON object with start_utc")
    burned_in: Literal["bits", "text"] | None = Field(
        None,
        description="burned-in time: 'bits' = the emulator's machine-readable strip, 'text' = a text overlay (OCR)",
    )
    overlay: TextOverlay | None = Field(None, description="the text overlay, when burned_in is 'text'")

    @model_validator(mode="after")
    def _overlay(self) -> ClockSpec:
        if self.burned_in == "text" and self.overlay is None:
            raise ValueError("burned_in 'text' needs an overlay block (format, corner, height_frac)")
        return self


class Capture(Strict):
    """Capture realism of the emulated camera: how it films the display (harness/emulator/capture.py).

    ``off`` gives the display image itself; ``moderate`` (CI's default) and ``severe`` draw
    perspective, blur, noise, gain, gamma, exposure and rolling shutter from preset ranges.
    """

    level: Literal["off", "moderate", "severe"] = "off"
    seed: int = 0

    @model_validator(mode="before")
    @classmethod
    def _yaml_off(cls, data: object) -> object:
        """YAML reads an unquoted ``off`` as false: take it as the level it means."""
        if isinstance(data, dict) and data.get("level") is False:
            return {**data, "level": "off"}
        return data


class Emulation(Strict):
    """How the emulated camera behaves where a real camera has no setting."""

    exposure_s: float = Field(1 / 60, gt=0, le=0.1, description="exposure per frame; blends display frames")
    frame_phase_seed: int = 0
    clock_offset_s: float = Field(0.15, description="camera clock minus true UTC at power-on")
    clock_drift_ppm: float = Field(3.0, description="camera clock rate error")
    av_offset_ms: float = Field(8.0, description="audio later than video by this much")
    av_drift_ppm: float = Field(0.0, description="audio clock slower than the video clock by this much")
    speaker_distance_m: float = Field(0.5, ge=0, le=20, description="emulated speaker-to-microphone distance")
    capture: Capture = Capture()
    # Economy of power tests (harness/emulator/camera_power.py): on the battery simulator an event
    # is written with at most this many of its sensor frames (all of its first and last two seconds,
    # every k-th between), and with audio only if it is no longer than battery_audio_max_s. Power
    # checks judge ends, files and beeps, which stay exact; a frame-counting check would see the
    # thinned frames as gaps. None: all frames.
    battery_footage_frames: int | None = Field(120, ge=10, description="frames per event on the battery simulator")
    battery_audio_max_s: float = Field(
        1500.0,  # power_cutoff.yaml's event, recorded from before the warning to the shutdown: about 20 min
        ge=0,
        description="longest event written with audio on the battery simulator",
    )
    # Economy of CI: a persona of a 1080p camera may be emulated at a smaller size (the analysis
    # is resolution-independent); the report states the size the clips were written at.
    resolution: tuple[int, int] | None = Field(None, description="(width, height) written instead of video's")
    # Pre-event buffer with its own storage (Axis W100 family): it holds at most this many bytes, so
    # a complex scene (a higher bitrate) holds less than the configured length. None: unlimited.
    buffer_storage_mb: float | None = Field(None, gt=0, le=100000)
    # Events longer than this are written thinned in the middle of each file (every frame of the
    # first and last long_footage_edge_s of a file, none between), so a 4-hour split is emulated in
    # seconds. The pts keep the hole: a continuity check over such a file sees it. None: all frames.
    long_footage_s: float | None = Field(None, gt=0)
    long_footage_edge_s: float = Field(20.0, gt=0, le=600)


class PowerDraw(Strict):
    """Current the camera draws in each state (A), as its vendor states it or a lab measured it."""

    off: float = Field(0.002, ge=0, le=20, description="switched off but connected (quiescent)")
    booting: float = Field(0.45, ge=0, le=20)
    buffering: float = Field(0.32, ge=0, le=20)
    recording: float = Field(0.52, ge=0, le=20)
    writing: float = Field(0.60, ge=0, le=20, description="finishing a file after a recording ends")

    @model_validator(mode="before")
    @classmethod
    def _off_key(cls, data: object) -> object:
        """YAML reads a bare ``off:`` key as the boolean false."""
        if isinstance(data, dict) and False in data:
            data = {("off" if k is False else k): v for k, v in data.items()}
        return data

    def of(self, state: str) -> float:
        return float(getattr(self, state))


class DutyProfile(Strict):
    """The shift a runtime claim is made for (BWC-PWR-01: 9 h buffering + 3 h recording)."""

    buffering_h: float = Field(9.0, ge=0, le=48)
    recording_h: float = Field(3.0, ge=0, le=48)

    @property
    def hours(self) -> float:
        return self.buffering_h + self.recording_h


class PowerProfile(Strict):
    """How the camera uses its battery, what it does when the battery runs low, and its vendor's claim."""

    capacity_ah: float = Field(5.0, gt=0, le=100, description="the camera's battery; the simulator is set to it")
    draw_a: PowerDraw = PowerDraw()
    draw_tolerance: float = Field(0.15, gt=0, le=1, description="measured draw may differ from draw_a by this fraction")
    # The buffering start is read from the supply current's step from the booting to the buffering
    # draw. A camera's own draw ripples by a few per cent (encoder load, radio, charging circuit),
    # so a step smaller than a tenth of the larger draw cannot be told from it: below this the
    # buffering start is reported as not measurable. A camera with a quieter draw may lower it.
    min_boot_step: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="smallest booting-to-buffering draw step, as a fraction of the larger draw, that marks the "
        "buffering start",
    )
    cutoff_v: float = Field(3.30, gt=0, le=60, description="below this the camera browns out")
    shutdown_reserve_s: float = Field(
        10.0,
        ge=0,
        le=600,
        description="it shuts down gracefully this long before the cut-off (finishing the open file)",
    )
    warning_lead_s: float = Field(900.0, ge=0, le=7200, description="low-battery warning when this much time is left")
    warning_repeat_s: float = Field(20.0, gt=0, le=600, description="the warning beep repeats this often")
    warning_beep_hz: float = Field(5000.0, ge=200, le=16000, description="pitch of the warning beep")
    warning_beep_s: float = Field(0.2, gt=0, le=2, description="length of one warning beep")
    claimed_runtime_h: float = Field(12.0, gt=0, le=100, description="vendor's runtime on the duty profile")
    duty: DutyProfile = DutyProfile()
    fragment_s: float | None = Field(
        1.0, gt=0, le=600, description="a recording is made durable in fragments this long; None: only when finalised"
    )
    finalise_s: float = Field(3.0, ge=0, le=60, description="time at the writing draw after a file is closed")


class VendorDefaults(Strict):
    """The vendor's factory settings where the agency's configuration differs: a camera that was
    never configured (or not yet synced) behaves like this."""

    pre_event_buffer_s: float | None = Field(None, ge=0, le=600)
    audio_in_buffer: bool | None = None
    post_record_s: float | None = Field(None, ge=0, le=600)


class SerialSource(Strict):
    """Where a clip names the camera that made it, besides a file name with ``{serial}``."""

    tag: str | None = Field(None, description="container tag whose text is the serial")
    overlay: bool = Field(False, description="the burned-in text overlay prints the serial")
    overlay_tolerance_chars: int = Field(
        1,
        ge=0,
        le=3,
        description="an overlay serial read by OCR counts as the unit's when it differs by at most this many "
        "characters (substituted, missing or extra); the file name and tags are compared exactly",
    )


class Delivery(Strict):
    """How footage leaves a camera of this model for a lab: the kind of clip source a bench for it
    uses, and what an emulated rig of the model emulates (mass storage: a labelled FAT32 volume;
    export: an evidence system the camera uploads to and an operator exports from)."""

    via: Literal["folder", "mass_storage", "mtp", "export"] = Field(
        "folder",
        description="folder: storage mounted outside the harness; mass_storage: the camera's USB "
        "volume; mtp: its files over MTP; export: the vendor's evidence system exports the events",
    )
    export_manifest: Literal["sha256sum", "csv"] | None = Field(
        None, description="export: the hash manifest the vendor's export carries (None: none)"
    )

    @model_validator(mode="after")
    def _manifest_of_an_export(self) -> Delivery:
        if self.export_manifest is not None and self.via != "export":
            raise ValueError(f"export_manifest is for via: export, not via: {self.via}")
        return self


class CameraProfile(Strict):
    vendor: str
    model: str
    firmware: str
    serial: str
    video: VideoSpec = VideoSpec()
    switch_on: Literal["supply", "button"] = Field(
        "supply", description="'button': the camera is on only once its power_on gesture was made on a live supply"
    )
    boot_s: float = Field(8.0, ge=0, le=600, description="power-on (supply or power_on gesture) to buffering")
    boot_tolerance_s: float = Field(0.0, ge=0, le=60, description="how far a real boot may vary either way")
    ready_sign: str | None = Field(
        None,
        max_length=200,
        description="what a person sees once the camera is on and buffering (display text, LED), as its "
        "manual says: the operator's READY prompt names it",
    )
    pre_event_buffer_s: float = Field(120.0, ge=0, le=600)
    buffer_after_stop: Literal["refill", "continuous"] = "refill"
    post_record_s: float = Field(0.0, ge=0, le=600)
    segment_s: float | None = Field(None, gt=0, description="a long event is split into files of this length")
    max_recording_s: float | None = Field(
        None, gt=0, description="the camera ends an event this long and starts a new one at once"
    )
    activation_latency_s: float = Field(0.1, gt=0, le=10, description="event marker within this of the press")
    event_marker_key: str | None = Field(None, description="container metadata tag (JSON) with the event marker")
    buttons: tuple[str, ...] = ("event", "power")
    gestures: dict[str, Gesture]
    delivery: Delivery = Delivery()
    file_name: str = Field(
        "{serial}_{start:%Y%m%d_%H%M%S}_{event:04d}_{segment:02d}",
        description="how the camera names a file (without suffix): fields serial, start (camera time), "
        "event and segment (from 1)",
    )
    clip_suffix: str = ".mp4"
    serial_from: SerialSource = SerialSource()
    vendor_default: VendorDefaults = VendorDefaults()
    audio: AudioSpec = AudioSpec()
    av_sync: AvSync = AvSync()
    clock: ClockSpec = ClockSpec()
    emulation: Emulation = Emulation()
    power: PowerProfile = PowerProfile()

    @field_validator("file_name")
    @classmethod
    def _file_name(cls, value: str) -> str:
        try:
            FileNaming(value)
        except NamingError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def naming(self) -> FileNaming:
        """The camera's file naming pattern: formats names and reads them back."""
        return FileNaming(self.file_name)

    @model_validator(mode="after")
    def _gestures(self) -> CameraProfile:
        needed = ["start", "stop"] + (["power_on"] if self.switch_on == "button" else [])
        for name in needed:
            if name not in self.gestures:
                raise ValueError(f"gestures must define '{name}'")
        for name, g in self.gestures.items():
            for button in g.buttons:
                if button not in self.buttons:
                    raise ValueError(f"gesture '{name}' uses button '{button}', not one of {list(self.buttons)}")
        if self.serial_from.overlay and (self.clock.overlay is None or not self.clock.overlay.device_id):
            raise ValueError("serial_from.overlay needs a clock overlay that prints the device id")
        return self

    @property
    def boot_range_s(self) -> tuple[float, float]:
        """Power-on to buffering, as the profile allows it (a measured boot is judged against it)."""
        return max(0.0, self.boot_s - self.boot_tolerance_s), self.boot_s + self.boot_tolerance_s

    @property
    def written_size(self) -> tuple[int, int]:
        """(width, height) of the clips: the emulation's economy size, else the camera's."""
        return self.emulation.resolution or (self.video.width, self.video.height)

    @property
    def frame_period_s(self) -> float:
        return float(1 / self.video.frame_rate)

    @property
    def identity(self) -> dict[str, str]:
        return {"vendor": self.vendor, "model": self.model, "serial": self.serial, "firmware": self.firmware}

    @classmethod
    def load(cls, path: Path | str) -> CameraProfile:
        return load_model(path, cls)
