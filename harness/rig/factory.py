"""A rig: the parts of one bench behind their protocols, opened from a rig file.

``kind: emulated`` starts the built-in emulated bench and connects to it through the same
drivers a lab bench uses (pty serial port, TCP SCPI socket, storage folder); ``kind: bench``
connects to hardware. Either way the scenario runner sees a :class:`Rig`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Iterator, Literal

from pydantic import Field, field_validator, model_validator

from harness.core.clock import Clock, RealClock, VirtualClock
from harness.core.config import load_model
from harness.devices.clip_source import ClipSource, FolderClipSource
from harness.devices.display import Display, EmulatedDisplay, OpenCVDisplay, find_monitor
from harness.devices.power import COMMAND_SETS, PowerLimits, PowerSupply, ScpiPowerSupply
from harness.devices.rig_controller import RigController, SerialRigController
from harness.core.paths import camera_profile_path
from harness.plan.profile import CameraProfile, Strict

log = logging.getLogger(__name__)


class PowerSpec(Strict):
    voltage: float = Field(3.85, gt=0, le=60, description="supply voltage for the camera (V)")
    current_limit: float = Field(2.0, gt=0, le=20, description="current limit (A)")
    max_voltage: float = Field(4.4, gt=0, le=60, description="rig limit: never set above this (V)")
    max_current: float = Field(3.0, gt=0, le=20, description="rig limit: never set above this (A)")
    battery_model: str = Field("1", pattern=r"^[A-Za-z0-9_\-]{1,32}$",
                               description="battery simulator: stored model (slot or name) of the camera's battery")

    @model_validator(mode="after")
    def _within_limits(self) -> "PowerSpec":
        if self.voltage > self.max_voltage:
            raise ValueError(f"voltage {self.voltage:g} V is above max_voltage {self.max_voltage:g} V")
        if self.current_limit > self.max_current:
            raise ValueError(f"current_limit {self.current_limit:g} A is above max_current {self.max_current:g} A")
        return self


class LimitsSpec(Strict):
    """What ``bwc rig check`` accepts from the bench's own parts."""

    max_sync_uncertainty_s: float = Field(0.001, gt=0, le=1, description="rig controller clock mapping bound")
    max_display_dropped_frames: int = Field(0, ge=0, description="frames the display pipeline may drop in the check")


class EmulatedRigSpec(Strict):
    kind: Literal["emulated"]
    name: str = "emulated"
    camera: str = "emulated"
    faults: list[str] = []
    seed: int = 1
    run_id: int | None = Field(None, ge=0, lt=1 << 16,
                               description="run id the scene shows in the time code (default: a fresh one each run)")
    refresh_hz: float = Field(60.0, gt=0, le=480)
    time: Literal["virtual", "real"] = "virtual"
    power: PowerSpec = PowerSpec()
    limits: LimitsSpec = LimitsSpec()


class SerialSpec(Strict):
    """The rig controller: its port, whether it fires the A/V stimulus, its solenoids' latency."""

    url: str = Field(min_length=1)
    baudrate: int = Field(115200, gt=0, le=12_000_000)
    stimulus: bool = Field(True, description="the controller's flash LED and speaker fire the A/V stimulus schedule")
    press_latency_ms: float | dict[str, float] = Field(
        0.0, description="calibrated solenoid latency, drive edge to button contact (ms): one figure, or one per button")

    @field_validator("press_latency_ms", mode="before")
    @classmethod
    def _latency(cls, value: object) -> object:
        """0..500 ms, as one number or as ``{button: ms}`` with the profile's lower-case button names."""
        def figure(ms: object, where: str) -> float:
            if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not 0 <= ms <= 500:
                raise ValueError(f"{where}expected a latency of 0..500 ms" + (f", got {ms!r}" if where else ""))
            return float(ms)

        if isinstance(value, dict):
            if not value:
                raise ValueError("expected a latency in ms or {button: ms}, got an empty mapping")
            for button in value:
                if not isinstance(button, str) or not re.fullmatch(r"[a-z0-9_]{1,20}", button):
                    raise ValueError(f"button {button!r}: expected a lower-case button name of the camera profile")
            return {button: figure(ms, f"button {button!r}: ") for button, ms in value.items()}
        return figure(value, "")


class InstrumentSpec(Strict):
    resource: str = Field(min_length=1)
    command_set: str = "keithley_2281s"

    @field_validator("command_set")
    @classmethod
    def _known_command_set(cls, value: str) -> str:
        if value.lower() not in COMMAND_SETS:
            raise ValueError(f"unknown command set {value!r}; known: {', '.join(sorted(COMMAND_SETS))}")
        return value.lower()


class DisplaySpec(Strict):
    """The monitor the camera films: ``opencv`` shows the scene full screen; ``none`` means a
    player shows a rendered scene (``bwc scene render``) and reference time is nominal."""

    kind: Literal["opencv", "none"] = "none"
    monitor: int = Field(1, ge=1, le=16, description="monitor number as the desktop counts them, from 1")
    latency_s: float = Field(0.0, ge=0, le=0.5, description="calibrated frame handed over -> light on the panel")


class ClipSourceSpec(Strict):
    """Where the camera's clips appear (mounted storage or a vendor export folder)."""

    path: Path
    suffix: str | None = Field(None, pattern=r"^\.[A-Za-z0-9]{1,8}$", description="default: the camera profile's")
    recursive: bool = False
    settle_s: float = Field(2.0, ge=0, le=600, description="a clip must stay unchanged this long to be taken")
    wait_s: float = Field(10.0, gt=0, le=3600, description="how long after a scenario's last step clips may appear")

    @field_validator("path")
    @classmethod
    def _a_clip_folder(cls, value: Path) -> Path:
        """Refused at load, with the reason: every file of the folder is taken in as the camera's."""
        reason = clip_folder_problem(value)
        if reason is not None:
            raise ValueError(f"{value} cannot be a clip folder: {reason}")
        return value


#: folders that are never a camera's storage or an export folder: the folder itself or anything below
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin",
                "/sys", "/usr", "/var")
#: folders that hold many others (mount points, homes): refused themselves, a folder below them is fine
SYSTEM_PARENTS = ("/", "/home", "/media", "/mnt", "/opt", "/root", "/srv", "/tmp", "/run/media")
RUN_MARKERS = ("record.json", "manifest.sha256")


def clip_folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be a clip folder (None: it can). The real path is compared, so a link to
    ``/`` is refused like ``/``. A relative folder is checked once it is resolved against the rig
    file's folder (here only its text: it may not climb out with ``..``)."""
    if not folder.is_absolute():
        return "it climbs out of the rig file's folder" if ".." in folder.parts else None
    real = Path(os.path.realpath(folder))
    text = real.as_posix()
    if text in SYSTEM_PARENTS or real == Path.home():
        return "it holds far more than one camera's files (the whole disk, a home or a mount folder)"
    if any(text == tree or text.startswith(tree + "/") for tree in SYSTEM_TREES):
        return "it is a system folder, not a camera's storage or an export folder"
    for parent in (real, *real.parents):
        if any((parent / marker).is_file() for marker in RUN_MARKERS):
            return f"it is inside the harness run folder {parent} (another run's evidence, not the camera)"
    return None



class DistancesSpec(Strict):
    """Distances on the bench that delay a stimulus (sound at 343 m/s) before the camera sees or hears it."""

    speaker_to_camera_m: float = Field(0.0, ge=0, le=20, description="stimulus speaker to camera microphone")
    display_to_camera_m: float | None = Field(None, gt=0, le=20, description="for the record; light needs no correction")


class BenchRigSpec(Strict):
    kind: Literal["bench"]
    name: str
    camera: str
    refresh_hz: float = Field(60.0, gt=0, le=480)
    serial: SerialSpec
    instrument: InstrumentSpec
    power: PowerSpec = PowerSpec()
    clips: ClipSourceSpec
    display: DisplaySpec = DisplaySpec()
    distances: DistancesSpec = DistancesSpec()
    limits: LimitsSpec = LimitsSpec()

    @field_validator("clips", mode="before")
    @classmethod
    def _clips_as_path(cls, value: object) -> object:
        """``clips: /media/bwc/DCIM`` is short for ``clips: {path: /media/bwc/DCIM}``."""
        return {"path": value} if isinstance(value, (str, Path)) else value


class RigFile(Strict):
    rig: Annotated[EmulatedRigSpec | BenchRigSpec, Field(discriminator="kind")]


@dataclass
class Rig:
    name: str
    clock: Clock
    profile: CameraProfile
    controller: RigController
    power: PowerSupply
    power_spec: PowerSpec
    clips: ClipSource
    refresh_hz: float
    instruments: dict[str, str] = field(default_factory=dict)
    faults: tuple[str, ...] = ()
    emulator: object | None = None  # the EmulatedRig behind an emulated rig, for ground truth in tests
    speaker_distance_m: float = 0.0  # stimulus speaker to camera microphone, for the A/V correction
    display: Display | None = None  # the monitor and its present-time log (None: a player shows the scene)
    clip_wait_s: float = 10.0  # how long after the last step clips may still appear
    run_id: int | None = None  # run id the display shows in the time code (None: unknown, not checked)
    stimulus: bool = False  # the controller fires the A/V stimulus (a bench's flash LED and speaker)

    def safe_state(self) -> None:
        self.power.safe_state()


def load_rig_spec(path: Path | str | None) -> tuple[EmulatedRigSpec | BenchRigSpec, Path | None]:
    if path is None:
        return EmulatedRigSpec(kind="emulated"), None
    return load_model(path, RigFile).rig, Path(path).resolve().parent


def press_latency_s(spec: BenchRigSpec, profile: CameraProfile) -> float | dict[str, float]:
    """The rig file's solenoid latency in seconds: one figure, or one for each of the camera
    profile's buttons (each has a solenoid on the bench), and for no other."""
    value = spec.serial.press_latency_ms
    if not isinstance(value, dict):
        return value / 1000.0
    buttons = list(profile.buttons)
    field = "rig.bench.serial.press_latency_ms"
    unknown = [b for b in value if b not in buttons]
    if unknown:
        raise ValueError(f"{field}.{unknown[0]}: camera profile {profile.model} has no button {unknown[0]!r} "
                         f"(its buttons: {', '.join(buttons)})")
    missing = [b for b in buttons if b not in value]
    if missing:
        raise ValueError(f"{field}: no latency for button {missing[0]!r} of camera profile {profile.model} "
                         f"(give every button a figure, or one figure for all)")
    return {button: ms / 1000.0 for button, ms in value.items()}


@contextlib.contextmanager
def open_rig(
    spec: EmulatedRigSpec | BenchRigSpec,
    base_dir: Path | None = None,
    faults: tuple[str, ...] = (),
    camera: str | None = None,
    workdir: Path | None = None,
) -> Iterator[Rig]:
    """Open every part of the rig; on any exit the power output is switched off first."""
    profile = CameraProfile.load(camera_profile_path(camera or spec.camera, base_dir))
    latency = press_latency_s(spec, profile) if isinstance(spec, BenchRigSpec) else 0.0  # before anything opens
    with contextlib.ExitStack() as stack:
        if isinstance(spec, EmulatedRigSpec):
            from harness.emulator.rig import EmulatedRig

            clock: Clock = VirtualClock() if spec.time == "virtual" else RealClock()
            stack.callback(clock.close)
            storage = None
            if workdir is not None:  # a fresh camera: its storage starts empty on every run
                storage = workdir / "camera-storage"
                shutil.rmtree(storage, ignore_errors=True)
            emu = stack.enter_context(
                EmulatedRig(profile, clock, storage, tuple(spec.faults) + tuple(faults), spec.refresh_hz, spec.seed,
                            run_id=spec.run_id)
            )
            serial_url, resource, folder, command_set = emu.serial_url, emu.visa_resource, emu.clip_folder, "keithley_2281s"
            clips = FolderClipSource(folder, profile.clip_suffix)
            display: Display | None = EmulatedDisplay(clock, spec.refresh_hz)
        else:
            emu = None
            clock = RealClock()
            stack.callback(clock.close)
            serial_url, resource, folder = spec.serial.url, spec.instrument.resource, spec.clips.path
            command_set = spec.instrument.command_set
            if base_dir is not None and not folder.is_absolute():
                folder = base_dir / folder
            clips = FolderClipSource(folder, spec.clips.suffix or profile.clip_suffix, spec.clips.recursive,
                                     spec.clips.settle_s)
            display = None
            if spec.display.kind == "opencv":
                display = OpenCVDisplay(clock, find_monitor(spec.display.monitor), spec.refresh_hz, spec.display.latency_s)
        limits = PowerLimits(max_voltage=spec.power.max_voltage, max_current=spec.power.max_current)
        power = ScpiPowerSupply.open(resource, limits, command_set=COMMAND_SETS[command_set])
        stack.callback(power.close)
        controller = SerialRigController(serial_url, clock, press_latency_s=latency)
        stack.callback(controller.close)
        if display is not None:
            stack.enter_context(display)
        rig = Rig(
            name=spec.name,
            clock=clock,
            profile=profile,
            controller=controller,
            power=power,
            power_spec=spec.power,
            clips=clips,
            refresh_hz=spec.refresh_hz,
            instruments={"power": power.identify(), "rig_controller": controller.identify(),
                         "power_resource": resource, "serial_port": serial_url,
                         "display": display.describe() if display is not None else "scene played by an external player"},
            faults=tuple(getattr(spec, "faults", ())) + tuple(faults),
            emulator=emu,
            speaker_distance_m=profile.emulation.speaker_distance_m if emu is not None
            else spec.distances.speaker_to_camera_m,
            display=display,
            clip_wait_s=spec.clips.wait_s if isinstance(spec, BenchRigSpec) else 10.0,
            # a bench display that shows a run id says so with a ``run_id`` attribute
            run_id=emu.run_id if emu is not None else getattr(display, "run_id", None),
            stimulus=isinstance(spec, BenchRigSpec) and spec.serial.stimulus,
        )
        stack.callback(rig.safe_state)  # runs first on exit: output off before anything closes
        yield rig
