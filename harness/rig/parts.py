"""The parts of one rig as a rig kind resolves them, and the one way each part is opened.

A rig kind (harness/rig/kinds.py) turns its section of a rig file into :class:`RigParts`:
plain settings for the serial line, the instrument, the clip source and the display. Both
``open_rig`` and ``bwc rig check`` open the parts from these settings with the functions here,
so a field of the rig file reaches its part the same way in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.clock import Clock
from harness.devices.block_devices import BlockDevices, Mounter, VolumeSelector
from harness.devices.clip_source import FolderClipSource
from harness.devices.clip_source_export import ExportClipSource, ExportManifest
from harness.devices.clip_source_mass_storage import MassStorageClipSource
from harness.devices.clip_source_mtp import MtpClipSource, MtpTools
from harness.devices.display import Display
from harness.devices.dock import Dock, HubPort, PromptDock, RelayDock, UhubctlDock
from harness.devices.operator import Operator
from harness.devices.power import COMMAND_SETS, PowerLimits, ScpiPowerSupply
from harness.devices.protocols import GroundTruth
from harness.devices.rig_controller import RigController, SerialRigController
from harness.plan.naming import FileNaming
from harness.rig.specs import LimitsSpec, PowerSpec, clip_folder_problem


@dataclass(frozen=True)
class SerialSettings:
    """The rig controller's serial line and what it is calibrated for."""

    url: str
    baudrate: int = 115200
    timeout_s: float = 2.0
    write_timeout_s: float | None = None
    press_latency_s: float | dict[str, float] | None = None  # None: no solenoids to calibrate (emulated)
    stimulus: bool = False  # the controller fires the A/V stimulus (flash LED and speaker)
    problem: str | None = None  # a rig-file error that keeps the controller from being opened

    def validate(self) -> None:
        """Raise the rig file's error for this part (ValueError naming the field), if it has one."""
        if self.problem is not None:
            raise ValueError(self.problem)

    def open(self, clock: Clock) -> SerialRigController:
        self.validate()
        return SerialRigController(
            self.url,
            clock,
            baudrate=self.baudrate,
            timeout_s=self.timeout_s,
            press_latency_s=self.press_latency_s or 0.0,
            write_timeout_s=self.write_timeout_s,
        )


@dataclass(frozen=True)
class InstrumentSettings:
    """The power supply's VISA resource and how to talk to it."""

    resource: str
    command_set: str = "keithley_2281s"
    timeout_ms: int = 2000
    read_termination: str | None = None  # None: the driver's default ("\n" on a SOCKET resource)
    write_termination: str | None = None

    def resource_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``ResourceManager.open_resource`` (besides the open timeout)."""
        kwargs: dict[str, Any] = {"timeout": self.timeout_ms}
        if self.resource.upper().endswith("::SOCKET"):  # raw sockets have no END signal
            kwargs.update(read_termination="\n", write_termination="\n")
        if self.read_termination is not None:
            kwargs["read_termination"] = self.read_termination
        if self.write_termination is not None:
            kwargs["write_termination"] = self.write_termination
        return kwargs

    def open_supply(self, limits: PowerLimits) -> ScpiPowerSupply:
        """The driver, set up (error queue drained, setup commands sent)."""
        return ScpiPowerSupply.open(
            self.resource,
            limits,
            command_set=COMMAND_SETS[self.command_set],
            timeout_ms=self.timeout_ms,
            **self.resource_kwargs(),
        )

    def open_resource(self, rm: Any) -> Any:
        """The bare pyvisa resource, for a read-only probe that must not run the driver's setup."""
        return rm.open_resource(self.resource, open_timeout=self.timeout_ms, **self.resource_kwargs())


@dataclass(frozen=True)
class ClipSettings:
    """A folder where the camera's clips appear, and how they are taken."""

    folder: Path
    suffix: str
    recursive: bool = False
    settle_s: float = 2.0
    wait_s: float = 10.0

    @property
    def target(self) -> str:
        return str(self.folder)

    def open(self) -> FolderClipSource:
        return FolderClipSource(self.folder, self.suffix, self.recursive, self.settle_s)


@dataclass(frozen=True)
class MassStorageSettings:
    """The camera's USB volume: what finds it, where it is mounted, which folder holds the clips."""

    label: str | None
    uuid: str | None
    usb_serial: str | None
    suffix: str
    subfolder: str | None = None
    mount_point: Path | None = None
    settle_s: float = 2.0
    wait_s: float = 10.0
    #: the operator connects the camera before each collection (False: it stays connected)
    connect_on_request: bool = False
    #: the camera's file naming: a disk without a USB serial states the unit in its files' names
    naming: FileNaming | None = None

    @property
    def selector(self) -> VolumeSelector:
        return VolumeSelector(self.label, self.uuid, self.usb_serial)

    @property
    def target(self) -> str:
        return f"mass storage with {self.selector.describe()}"

    def open(self, devices: BlockDevices | None = None, mounter: Mounter | None = None) -> MassStorageClipSource:
        return MassStorageClipSource(
            self.selector,
            self.suffix,
            self.subfolder,
            self.mount_point,
            self.settle_s,
            devices,
            mounter,
            self.connect_on_request,
            self.naming,
        )


@dataclass(frozen=True)
class MtpSettings:
    """The camera's files over MTP: its serial (if the rig file names it) and clip folder."""

    serial: str | None
    folder: str
    suffix: str
    settle_s: float = 2.0
    wait_s: float = 10.0

    @property
    def target(self) -> str:
        return (
            "MTP device" + (f" with serial {self.serial!r}" if self.serial else "") + f", folder {self.folder or '/'}"
        )

    def open(self, tools: MtpTools | None = None) -> MtpClipSource:
        return MtpClipSource(self.folder, self.suffix, self.serial, self.settle_s, tools)


@dataclass(frozen=True)
class ExportSettings:
    """A vendor export folder and the hash manifest it carries (None: none)."""

    folder: Path
    suffix: str
    manifest: ExportManifest | None = None
    recursive: bool = True
    settle_s: float = 2.0
    wait_s: float = 10.0

    @property
    def target(self) -> str:
        return str(self.folder)

    def open(self) -> ExportClipSource:
        return ExportClipSource(
            self.folder, self.suffix, self.manifest, self.recursive, self.settle_s, folder_check=clip_folder_problem
        )


@dataclass(frozen=True)
class DockSettings:
    """How the run docks the camera: a smart hub port through uhubctl (``hub``), a relay of the rig
    controller (``relay``) or the operator by hand (``by_hand``, with what they are asked); and
    whether the clips are reached only while it is docked."""

    hub: HubPort | None = None
    relay: str = "dock"
    settle_s: float = 0.0
    timeout_s: float = 20.0
    clips_while_docked: bool = True
    by_hand: tuple[str, str] | None = None  # (dock text, undock text): the operator docks

    @property
    def target(self) -> str:
        if self.hub is not None:
            return self.hub.describe()
        return "the operator, by hand when asked" if self.by_hand else f"relay {self.relay!r} of the rig controller"

    def open(self, controller: RigController, clock: Clock, operator: Callable[[], Operator]) -> Dock:
        """The dock; ``operator`` gives whoever answers the rig's prompts (for docking by hand)."""
        if self.hub is not None:
            return UhubctlDock(self.hub, clock, self.settle_s, self.timeout_s)
        if self.by_hand is not None:
            return PromptDock(operator, clock, *self.by_hand, timeout_s=self.timeout_s, settle_s=self.settle_s)
        return RelayDock(controller, clock, self.relay, self.settle_s)


#: the settings of any kind of clip source: each opens its source and names its target
AnyClipSettings = ClipSettings | MassStorageSettings | MtpSettings | ExportSettings


@dataclass(frozen=True)
class RigParts:
    """Everything a rig file says about one bench, resolved (paths, defaults, the emulator's addresses)."""

    name: str
    refresh_hz: float
    serial: SerialSettings
    instrument: InstrumentSettings
    clips: AnyClipSettings
    power: PowerSpec
    limits: LimitsSpec
    #: makes the display on a clock; None when a player shows a rendered scene
    display: Callable[[Clock], Display] | None = None
    display_target: str = "external player"
    faults: tuple[str, ...] = ()
    speaker_distance_m: float = 0.0
    run_id: int | None = None  # the run id the scene shows, when the rig kind knows it
    emulator: GroundTruth | None = None
    dock: DockSettings | None = None  # None: the rig cannot dock the camera
    place: dict[str, Any] | None = None  # the labgrid place the bench was acquired as (None: none)

    @property
    def power_limits(self) -> PowerLimits:
        return PowerLimits(max_voltage=self.power.max_voltage, max_current=self.power.max_current)
