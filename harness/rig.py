"""A rig: the parts of one bench behind their protocols, opened from a rig file.

``kind: emulated`` starts the built-in emulated bench and connects to it through the same
drivers a lab bench uses (pty serial port, TCP SCPI socket, storage folder); ``kind: bench``
connects to hardware. Either way the scenario runner sees a :class:`Rig`.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Iterator, Literal

from pydantic import Field

from harness.clock import Clock, RealClock, VirtualClock
from harness.config import load_model
from harness.devices.clip_source import ClipSource, FolderClipSource
from harness.devices.power import COMMAND_SETS, PowerLimits, PowerSupply, ScpiPowerSupply
from harness.devices.rig_controller import RigController, SerialRigController
from harness.paths import camera_profile_path
from harness.profile import CameraProfile, Strict

log = logging.getLogger(__name__)


class PowerSpec(Strict):
    voltage: float = Field(3.85, gt=0, le=60, description="supply voltage for the camera (V)")
    current_limit: float = Field(2.0, gt=0, le=20, description="current limit (A)")
    max_voltage: float = Field(4.4, gt=0, le=60, description="rig limit: never set above this (V)")
    max_current: float = Field(3.0, gt=0, le=20, description="rig limit: never set above this (A)")


class EmulatedRigSpec(Strict):
    kind: Literal["emulated"]
    name: str = "emulated"
    camera: str = "emulated"
    faults: list[str] = []
    seed: int = 1
    refresh_hz: float = Field(60.0, gt=0, le=480)
    time: Literal["virtual", "real"] = "virtual"
    power: PowerSpec = PowerSpec()


class SerialSpec(Strict):
    url: str
    baudrate: int = 115200


class InstrumentSpec(Strict):
    resource: str
    command_set: str = "keithley_2281s"


class BenchRigSpec(Strict):
    kind: Literal["bench"]
    name: str
    camera: str
    refresh_hz: float = Field(60.0, gt=0, le=480)
    serial: SerialSpec
    instrument: InstrumentSpec
    power: PowerSpec = PowerSpec()
    clips: Path


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

    def safe_state(self) -> None:
        self.power.safe_state()


def load_rig_spec(path: Path | str | None) -> tuple[EmulatedRigSpec | BenchRigSpec, Path | None]:
    if path is None:
        return EmulatedRigSpec(kind="emulated"), None
    return load_model(path, RigFile).rig, Path(path).resolve().parent


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
                EmulatedRig(profile, clock, storage, tuple(spec.faults) + tuple(faults), spec.refresh_hz, spec.seed)
            )
            serial_url, resource, folder, command_set = emu.serial_url, emu.visa_resource, emu.clip_folder, "keithley_2281s"
        else:
            emu = None
            clock = RealClock()
            stack.callback(clock.close)
            serial_url, resource, folder = spec.serial.url, spec.instrument.resource, spec.clips
            command_set = spec.instrument.command_set
        limits = PowerLimits(max_voltage=spec.power.max_voltage, max_current=spec.power.max_current)
        power = ScpiPowerSupply.open(resource, limits, command_set=COMMAND_SETS[command_set])
        stack.callback(power.close)
        controller = SerialRigController(serial_url, clock)
        stack.callback(controller.close)
        rig = Rig(
            name=spec.name,
            clock=clock,
            profile=profile,
            controller=controller,
            power=power,
            power_spec=spec.power,
            clips=FolderClipSource(folder, profile.clip_suffix),
            refresh_hz=spec.refresh_hz,
            instruments={"power": power.identify(), "rig_controller": controller.identify(),
                         "power_resource": resource, "serial_port": serial_url},
            faults=tuple(getattr(spec, "faults", ())) + tuple(faults),
            emulator=emu,
        )
        stack.callback(rig.safe_state)  # runs first on exit: output off before anything closes
        yield rig
