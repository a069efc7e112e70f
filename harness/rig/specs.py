"""The rig file's sections, as validated models: what a lab writes about its bench.

Only data lives here. Which code turns a section into an open part is the business of the rig
kinds (harness/rig/kinds.py), so the file's fields and the parts they configure are read in one
place for both ``bwc certify`` and ``bwc rig check``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationError, ValidatorFunctionWrapHandler, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from harness.devices.dock import DOCK_TEXT, UNDOCK_TEXT
from harness.devices.power import COMMAND_SETS
from harness.plan.profile import CameraProfile, Strict

#: Line ends an instrument may use (YAML: "\n", "\r", "\r\n" in double quotes).
Termination = Literal["\n", "\r", "\r\n"]


class PowerSpec(Strict):
    voltage: float = Field(3.85, gt=0, le=60, description="supply voltage for the camera (V)")
    current_limit: float = Field(2.0, gt=0, le=20, description="current limit (A)")
    max_voltage: float = Field(4.4, gt=0, le=60, description="rig limit: never set above this (V)")
    max_current: float = Field(3.0, gt=0, le=20, description="rig limit: never set above this (A)")
    battery_model: str = Field(
        "1",
        pattern=r"^[A-Za-z0-9_\-]{1,32}$",
        description="battery simulator: stored model (slot or name) of the camera's battery",
    )

    @model_validator(mode="after")
    def _within_limits(self) -> PowerSpec:
        if self.voltage > self.max_voltage:
            raise ValueError(f"voltage {self.voltage:g} V is above max_voltage {self.max_voltage:g} V")
        if self.current_limit > self.max_current:
            raise ValueError(f"current_limit {self.current_limit:g} A is above max_current {self.max_current:g} A")
        return self


class LimitsSpec(Strict):
    """What ``bwc rig check`` accepts from the bench's own parts."""

    max_sync_uncertainty_s: float = Field(0.001, gt=0, le=1, description="rig controller clock mapping bound")
    max_display_dropped_frames: int = Field(0, ge=0, description="frames the display pipeline may drop in the check")


class DockCommon(Strict):
    """What every way of docking says: how long to wait after a switch, and whether the clips are
    taken only while the camera is docked (its volume or upload appears only then)."""

    settle_s: float = Field(0.0, ge=0, le=120, description="wait after a switch (the camera comes up on USB)")
    clips_while_docked: bool = Field(
        True,
        description="the camera's storage is reached only while it is docked: the run docks it before "
        "taking the clips and takes it out of the dock before the next scenario",
    )


class UhubctlDockSpec(DockCommon):
    """The camera's dock cable on a smart hub port, switched by uhubctl (power on = docked)."""

    kind: Literal["uhubctl"]
    location: str = Field(
        pattern=r"^\d+(-\d+(\.\d+)*)?$", description="the hub's USB location (uhubctl -l), e.g. 1-1.4"
    )
    ports: list[int] = Field(min_length=1, max_length=16, description="port number(s) on the hub (uhubctl -p)")
    vendor: str | None = Field(
        None, pattern=r"^[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{0,4})?$", description="limit the hub by vendor id (uhubctl -n)"
    )
    repeat: int | None = Field(None, ge=1, le=100, description="repeat the power off request (uhubctl -r)")
    wait_ms: int | None = Field(None, ge=0, le=10_000, description="wait before a repeated power off (uhubctl -w)")
    exact: bool = Field(False, description="exact location, no USB3 duality handling (uhubctl -e)")
    command: str = Field("uhubctl", min_length=1, max_length=200, pattern=r"^[^\x00-\x1f ]+$")
    timeout_s: float = Field(20.0, gt=0, le=300, description="longest a uhubctl call may take")
    settle_s: float = Field(3.0, ge=0, le=120, description="wait after a switch (the camera comes up on USB)")

    @field_validator("ports", mode="before")
    @classmethod
    def _one_port(cls, value: object) -> object:
        """``ports: 2`` is short for ``ports: [2]``; each port 1..255."""
        value = [value] if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(value, list):
            for port in value:
                if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 255:
                    raise ValueError(f"port {port!r}: expected a hub port number 1..255")
        return value


class RelayDockSpec(DockCommon):
    """A relay of the rig controller that connects the dock's contacts (energised = docked)."""

    kind: Literal["relay"]
    relay: str = Field("dock", pattern=r"^[a-z0-9_]{1,20}$", description="the relay's name on the controller")


class PromptDockSpec(DockCommon):
    """The operator docks the camera by hand when asked, and confirms."""

    kind: Literal["prompt"]
    dock_text: str = Field(DOCK_TEXT, min_length=1, max_length=500, description="what the operator is asked to dock")
    undock_text: str = Field(UNDOCK_TEXT, min_length=1, max_length=500, description="... and to undock")
    timeout_s: float = Field(300.0, gt=0, le=12 * 3600, description="longest wait for the operator's answer")


DockSpec = Annotated[
    Union[UhubctlDockSpec, RelayDockSpec, PromptDockSpec],  # noqa: UP007
    Field(discriminator="kind"),
]


class RigSpecBase(Strict):
    """What every kind of rig file says: its kind and name, the camera, the display rate, power and limits.

    Each kind subclasses it with ``kind: Literal["<name>"]`` and the sections of its own.
    """

    kind: str
    name: str
    camera: str
    unit_serial: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="the serial of the camera unit on the bench (default: the camera profile's); "
        "a device that states another stops the run",
    )
    refresh_hz: float = Field(60.0, gt=0, le=480)
    power: PowerSpec = PowerSpec()
    limits: LimitsSpec = LimitsSpec()
    calibration: str | None = Field(
        None,
        min_length=1,
        description="the bench's calibration file (relative to the rig file); its records feed the uncertainty budget",
    )
    calibration_valid_days: int = Field(
        90, gt=0, le=3650, description="a calibration record older than this makes the report say so"
    )
    dock: DockSpec | None = Field(None, description="how the run docks the camera (none: scenarios cannot dock)")


_Ms = Annotated[float, Field(ge=0, le=500)]


class EmulatedRigSpec(RigSpecBase):
    kind: Literal["emulated"]
    name: str = "emulated"
    camera: str = "emulated"
    calibration: str | None = Field("emulated-calibration.yaml", min_length=1)  # scenarios/rigs/
    # 59.94 Hz, not 60: a 30 fps camera on a 60 Hz display sits at one frame phase for ever, and the
    # time code then places its frames only to within about a refresh; at 59.94 Hz the phase sweeps
    # the refresh every 16.7 s and the fit places them to a fraction of a millisecond
    refresh_hz: float = Field(59.94, gt=0, le=480)
    faults: list[str] = Field(default_factory=list)
    seed: int = 1
    display_model: Literal["ideal", "realistic"] = Field(
        "ideal",
        description="ideal: frame n on the panel at n / refresh; realistic: refresh phase, compositor delay and "
        "an occasional late or dropped refresh (seeded), which the software present log does not see",
    )
    run_id: int | None = Field(
        None, ge=0, lt=1 << 16, description="run id the scene shows in the time code (default: a fresh one each run)"
    )
    time: Literal["virtual", "real"] = "virtual"
    panel_latency_ms: float = Field(
        0.0,
        ge=0,
        le=500,
        description="the emulated panel's true latency, frame presented -> light, as the emulated light probe sees it "
        "(bwc calibrate display); the emulated camera still films each frame at its present time",
    )
    solenoid_latency_ms: _Ms | dict[str, _Ms] = Field(
        0.0, description="the emulated solenoids' true latency, drive edge -> contact, per button (bwc calibrate press)"
    )
    #: the emulated bench's controller has a relay on the camera's dock contacts; by default the
    #: storage stays reachable undocked too (clips_while_docked: true models a lab that reaches it
    #: only through the dock)
    dock: DockSpec | None = RelayDockSpec(kind="relay", clips_while_docked=False)


class SerialSpec(Strict):
    """The rig controller: its port, whether it fires the A/V stimulus, its solenoids' latency."""

    url: str = Field(min_length=1)
    baudrate: int = Field(115200, gt=0, le=12_000_000)
    timeout_s: float = Field(2.0, gt=0, le=60, description="longest wait for one reply line from the controller")
    write_timeout_s: float | None = Field(
        None, gt=0, le=60, description="longest wait for a command to leave the port (default: none)"
    )
    stimulus: bool = Field(True, description="the controller's flash LED and speaker fire the A/V stimulus schedule")
    press_latency_ms: float | dict[str, float] = Field(
        0.0, description="calibrated solenoid latency, drive edge to button contact (ms): one figure, or one per button"
    )

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
    """The power supply: its VISA resource, command set, reply timeout and line terminations."""

    resource: str = Field(min_length=1)
    command_set: str = "keithley_2281s"
    timeout_ms: int = Field(2000, ge=100, le=600_000, description="longest wait for a reply (ms)")
    read_termination: Termination | None = Field(None, description="end of a reply (default: \\n on a SOCKET resource)")
    write_termination: Termination | None = Field(
        None, description="end of a command (default: \\n on a SOCKET resource)"
    )

    @field_validator("command_set")
    @classmethod
    def _known_command_set(cls, value: str) -> str:
        if value.lower() not in COMMAND_SETS:
            raise ValueError(f"unknown command set {value!r}; known: {', '.join(sorted(COMMAND_SETS))}")
        return value.lower()


class DisplaySpec(Strict):
    """The monitor the camera films: ``screen`` shows the scene full screen through the ``presenter``
    (``gl``: OpenGL swapped on the vertical blank, the OpenCV window where it cannot open;
    ``opencv``: the OpenCV window); ``opencv`` is the older name of ``screen`` with the OpenCV
    window as its default presenter; ``none`` means a player shows a rendered scene (``bwc scene
    render``) and reference time is nominal."""

    kind: Literal["screen", "opencv", "none"] = "none"
    presenter: Literal["gl", "opencv"] | None = Field(
        None, description="how the scene reaches the panel (default: gl, or opencv for kind opencv)"
    )
    monitor: int = Field(1, ge=1, le=16, description="monitor number as the desktop counts them, from 1")
    latency_s: float = Field(0.0, ge=0, le=0.5, description="calibrated frame handed over -> light on the panel")

    @property
    def chosen_presenter(self) -> Literal["gl", "opencv"]:
        if self.presenter is not None:
            return self.presenter
        return "opencv" if self.kind == "opencv" else "gl"


class ClipCommon(Strict):
    """What every kind of clip source says: the clip suffix and how long to wait for clips."""

    suffix: str | None = Field(None, pattern=r"^\.[A-Za-z0-9]{1,8}$", description="default: the camera profile's")
    settle_s: float = Field(2.0, ge=0, le=600, description="a clip must stay unchanged this long to be taken")
    wait_s: float = Field(10.0, gt=0, le=3600, description="how long after a scenario's last step clips may appear")


def _clip_folder(value: Path) -> Path:
    """Refused at load, with the reason: every file of the folder is taken in as the camera's."""
    reason = clip_folder_problem(value)
    if reason is not None:
        raise ValueError(f"{value} cannot be a clip folder: {reason}")
    return value


class ClipSourceSpec(ClipCommon):
    """A folder where the camera's clips appear (storage mounted outside the harness)."""

    kind: Literal["folder"] = "folder"
    path: Path
    recursive: bool = False

    @field_validator("path")
    @classmethod
    def _a_clip_folder(cls, value: Path) -> Path:
        return _clip_folder(value)


#: a volume label, UUID or USB serial as lsblk shows them
_VOLUME_ID = r"^[^\x00-\x1f/]{1,64}$"


class MassStorageClipSpec(ClipCommon):
    """The camera's USB mass-storage volume: found by label, UUID or USB serial, mounted read-only."""

    kind: Literal["mass_storage"]
    label: str | None = Field(None, pattern=_VOLUME_ID, description="file-system label, e.g. BWC_CAM")
    uuid: str | None = Field(None, pattern=_VOLUME_ID, description="file-system UUID, e.g. 1A2B-3C4D")
    usb_serial: str | None = Field(None, pattern=_VOLUME_ID, description="the USB serial of the camera's disk")
    mount_point: Path | None = Field(None, description="an empty folder to mount on (default: a private one)")
    subfolder: str | None = Field(
        None, pattern=r"^[^\x00-\x1f]{1,200}$", description="the clip folder on the volume, e.g. DCIM"
    )
    connect: Literal["always", "prompt"] = Field(
        "always",
        description="prompt: the camera records only while disconnected, so before each collection the "
        "operator is asked to connect it (the volume is unmounted after every take)",
    )

    @model_validator(mode="after")
    def _something_to_find_it_by(self) -> MassStorageClipSpec:
        if not (self.label or self.uuid or self.usb_serial):
            raise ValueError("give the volume's label, uuid or usb_serial")
        if self.subfolder is not None and (self.subfolder.startswith("/") or ".." in self.subfolder.split("/")):
            raise ValueError(f"subfolder {self.subfolder!r}: a folder on the volume, without '..' or a leading '/'")
        if self.mount_point is not None:
            reason = clip_folder_problem(self.mount_point)
            if reason is not None:
                raise ValueError(f"mount_point {self.mount_point} cannot hold the camera's volume: {reason}")
        return self


class MtpClipSpec(ClipCommon):
    """The camera's files over MTP (libmtp's tools), from one folder of its storage."""

    kind: Literal["mtp"]
    serial: str | None = Field(
        None, pattern=_VOLUME_ID, description="the MTP device's serial (default: any one device)"
    )
    folder: str = Field("DCIM", pattern=r"^[^\x00-\x1f]{0,200}$", description="the clip folder on the device")


class ExportManifestSpec(Strict):
    """The vendor's hash manifest in an export: its file name (or glob) and its format."""

    name: str = Field("*.sha256", min_length=1, max_length=200, pattern=r"^[^/\x00-\x1f]+$")
    format: Literal["sha256sum", "csv"] = "sha256sum"


class ExportClipSpec(ClipCommon):
    """A folder the operator exports the run's events into from the vendor's evidence system."""

    kind: Literal["export"]
    path: Path
    recursive: bool = True
    manifest: ExportManifestSpec | None = Field(None, description="the export's hash manifest, when it has one")

    @field_validator("path")
    @classmethod
    def _a_clip_folder(cls, value: Path) -> Path:
        return _clip_folder(value)

    @field_validator("manifest", mode="before")
    @classmethod
    def _manifest_as_name(cls, value: object) -> object:
        """``manifest: SHA256SUMS`` is short for ``manifest: {name: SHA256SUMS}``."""
        return {"name": value} if isinstance(value, str) else value


ClipsSpec = Annotated[
    Union[ClipSourceSpec, MassStorageClipSpec, MtpClipSpec, ExportClipSpec],  # noqa: UP007
    Field(discriminator="kind"),
]


#: folders that are never a camera's storage or an export folder: the folder itself or anything below
SYSTEM_TREES = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var",
)
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
    display_to_camera_m: float | None = Field(
        None, gt=0, le=20, description="for the record; light needs no correction"
    )


class BenchRigSpec(RigSpecBase):
    kind: Literal["bench"]
    serial: SerialSpec
    instrument: InstrumentSpec
    clips: ClipsSpec
    display: DisplaySpec = DisplaySpec()
    distances: DistancesSpec = DistancesSpec()
    place: dict[str, Any] | None = Field(
        None,
        description="the labgrid place this bench was acquired as (bwc certify --place/--reserve writes it), "
        "kept in the run record",
    )

    @field_validator("clips", mode="wrap")
    @classmethod
    def _clips_as_path(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        """``clips: /media/bwc/DCIM`` is short for ``clips: {path: /media/bwc/DCIM}``; a mapping
        without ``kind`` is a folder (as rig files were written before the other kinds), and its
        errors name the field as before (``rig.bench.clips.path``, not ``clips.folder.path``)."""
        if isinstance(value, (str, Path)):
            value = {"kind": "folder", "path": value}
        elif isinstance(value, dict) and "kind" not in value:
            value = {"kind": "folder", **value}
        try:
            return handler(value)
        except ValidationError as err:
            # each error again under the shorter location, with its own type and message (a custom
            # error: some of pydantic's types, e.g. path_type, cannot be raised again by name)
            details = [
                InitErrorDetails(
                    type=PydanticCustomError(e["type"], e["msg"]),
                    loc=e["loc"][1:] if e["loc"][:1] == ("folder",) else e["loc"],
                    input=e["input"],
                )
                for e in err.errors()
            ]
            raise ValidationError.from_exception_data(err.title, details) from None


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
        raise ValueError(
            f"{field}.{unknown[0]}: camera profile {profile.model} has no button {unknown[0]!r} "
            f"(its buttons: {', '.join(buttons)})"
        )
    missing = [b for b in buttons if b not in value]
    if missing:
        raise ValueError(
            f"{field}: no latency for button {missing[0]!r} of camera profile {profile.model} "
            f"(give every button a figure, or one figure for all)"
        )
    return {button: ms / 1000.0 for button, ms in value.items()}
