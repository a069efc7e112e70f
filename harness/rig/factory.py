"""A rig: the parts of one bench behind their protocols, opened from a rig file.

The rig file's kind (harness/rig/kinds.py) resolves it into settings for each part; this module
opens the parts from those settings, the same way ``bwc rig check`` probes them. ``kind:
emulated`` starts the built-in emulated bench and connects to it through the drivers a lab bench
uses (pty serial port, TCP SCPI socket, storage folder); ``kind: bench`` connects to hardware.
Either way the scenario runner sees a :class:`Rig`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.clock import Clock, RealClock
from harness.core.paths import RIGS_DIR, camera_profile_path
from harness.devices.clip_source import ClipSource
from harness.devices.display import Display, EmulatedDisplay, PresentLog
from harness.devices.dock import Dock
from harness.devices.operator import Operator
from harness.devices.power import PowerSupply
from harness.devices.present_photodiode import use_photodiode
from harness.devices.protocols import GroundTruth
from harness.devices.rig_controller import RigController, RigControllerError
from harness.plan.profile import CameraProfile
from harness.plan.scenario import SceneVariant
from harness.rig.calibration import Calibration, calibration_entry, load_calibration
from harness.rig.identity import check_unit
from harness.rig.kinds import BuildContext, rig_kind
from harness.rig.operators import choose_operator
from harness.rig.specs import (
    PowerSpec,
    RigSpecBase,
)

__all__ = ["Rig", "open_rig"]

log = logging.getLogger(__name__)

#: how often a real-time run decodes the photodiode's new edges (seconds)
KEEP_UP_S = 60.0


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
    emulator: GroundTruth | None = None  # the emulated bench behind an emulated rig, for ground truth in tests
    speaker_distance_m: float = 0.0  # stimulus speaker to camera microphone, for the A/V correction
    display: Display | None = None  # the monitor and its present-time log (None: a player shows the scene)
    clip_wait_s: float = 10.0  # how long after the last step clips may still appear
    run_id: int | None = None  # run id the display shows in the time code (None: unknown, not checked)
    stimulus: bool = False  # the controller fires the A/V stimulus (a bench's flash LED and speaker)
    dock: Dock | None = None  # what docks the camera (None: scenarios with dock steps cannot run here)
    clips_while_docked: bool = False  # the clips are reached only while the camera is docked
    place: dict[str, Any] | None = None  # the labgrid place the bench was acquired as (None: not a place)
    operator: Operator | None = None  # who answers operator prompts (None: chosen by default on first use)
    calibration: Calibration | None = None  # the bench's calibration records (None: the rig file names none)
    calibration_record: dict = field(default_factory=dict)  # what the run record keeps of them

    def the_operator(self) -> Operator:
        """Who answers this rig's operator prompts: the one set, else the default choice
        (the terminal when stdin is one, else the automatic operator of an emulated rig)."""
        if self.operator is None:
            self.operator = choose_operator(None, self.emulator)
        return self.operator

    def safe_state(self) -> None:
        self.power.safe_state()

    def show_scene(self, variant: SceneVariant) -> None:
        """Have the display show the standard scene or a variant (a scenario's ``scene``)."""
        if self.display is not None:
            self.display.show_scene(variant)
        elif variant != "standard":
            raise ValueError(
                f"rig {self.name} has no display of its own (a player shows the scene): play the {variant} "
                f"scene (bwc scene render --scene {variant}) for this scenario, or run it on a rig with a display"
            )


@contextlib.contextmanager
def open_rig(
    spec: RigSpecBase,
    base_dir: Path | None = None,
    faults: tuple[str, ...] = (),
    camera: str | None = None,
    workdir: Path | None = None,
) -> Iterator[Rig]:
    """Open every part of the rig; on any exit the power output is switched off first."""
    kind = rig_kind(spec)
    calibration, calibration_record = _calibration(spec, base_dir)
    profile_path = camera_profile_path(camera or spec.camera, base_dir)
    profile = CameraProfile.load(profile_path)
    if spec.unit_serial is not None:  # the unit on the bench: the report names it
        profile = profile.model_copy(update={"serial": spec.unit_serial})
    declared_by = (
        f"the rig file (rig.{spec.kind}.unit_serial)"
        if spec.unit_serial is not None
        else f"the camera profile {profile_path.name} (serial; or set rig.{spec.kind}.unit_serial)"
    )
    with contextlib.ExitStack() as stack:
        clock = kind.run_clock(spec)
        stack.callback(clock.close)
        ctx = BuildContext(profile, clock, base_dir, tuple(faults), workdir)
        parts = stack.enter_context(kind.build(spec, ctx))
        parts.serial.validate()  # a rig-file error is refused before any port or instrument is opened
        clips = stack.enter_context(parts.clips.open())  # closed (a volume unmounted) on every way out
        # the wrong camera stops the run before anything is switched or pressed
        unit = check_unit(profile.serial, declared_by, clips.device_identity())
        power = parts.instrument.open_supply(parts.power_limits)
        stack.callback(power.close)
        controller = parts.serial.open(clock)
        stack.callback(controller.close)
        # docking by hand asks whoever answers the rig's prompts (the rig's operator, once it exists)
        dock = parts.dock.open(controller, clock, lambda: rig.the_operator()) if parts.dock is not None else None
        display = parts.display(clock) if parts.display is not None else None
        if display is not None:
            stack.enter_context(display)
            _present_log(display, controller, calibration, stack, isinstance(clock, RealClock))
        rig = Rig(
            name=parts.name,
            clock=clock,
            profile=profile,
            controller=controller,
            power=power,
            power_spec=parts.power,
            clips=clips,
            refresh_hz=parts.refresh_hz,
            instruments={
                "power": power.identify(),
                "rig_controller": controller.identify(),
                "power_resource": parts.instrument.resource,
                "serial_port": parts.serial.url,
                "display": display.describe() if display is not None else "scene played by an external player",
                "clip_source": clips.describe(),
                "dock": dock.describe() if dock is not None else "none (the run cannot dock the camera)",
                "camera_unit": unit,
            },
            faults=parts.faults,
            emulator=parts.emulator,
            speaker_distance_m=parts.speaker_distance_m,
            display=display,
            clip_wait_s=parts.clips.wait_s,
            run_id=parts.run_id if parts.run_id is not None else display.run_id if display is not None else None,
            stimulus=parts.serial.stimulus,
            dock=dock,
            clips_while_docked=parts.dock is not None and parts.dock.clips_while_docked,
            place=parts.place,
            calibration=calibration,
            calibration_record=calibration_record,
        )
        stack.callback(rig.safe_state)  # runs first on exit: output off before anything closes
        yield rig


def _present_log(
    display: Display,
    controller: RigController,
    calibration: Calibration | None,
    stack: contextlib.ExitStack,
    real_time: bool,
) -> None:
    """Where the display's present times come from, as the calibration says: the photodiode's
    light edges (the controller's input armed until the rig closes; in real time decoded every
    minute, so a 12-hour wait holds seconds of edges, not hours), or the display's own log (a late
    emulated display's nominal times plus the calibrated display latency)."""
    if calibration is None:
        return
    latency = calibration.display_latency_ms.value / 1000 if calibration.display_latency_ms is not None else 0.0
    if calibration.present_time == "photodiode":
        present = use_photodiode(display, controller, latency)
        stack.callback(_light_off, controller)
        if real_time:
            stack.enter_context(present.kept_up(KEEP_UP_S))
    elif isinstance(display, EmulatedDisplay) and display.late and latency:
        display.log = PresentLog(display.refresh_hz, latency)
    if isinstance(display, EmulatedDisplay):  # its speaker is the scene's: stimuli at nominal time
        display.log.stimuli_at_nominal = True


def _light_off(controller: RigController) -> None:
    try:
        controller.light(False)
    except RigControllerError as exc:  # closing must not mask the error that brought us here
        log.warning("photodiode input not disarmed: %s", exc)


def calibration_path(spec: RigSpecBase, base_dir: Path | None) -> Path | None:
    """Where the rig file's calibration file is (None: it names none): relative to the rig file;
    the emulated rig's default one (a rig file that names none) is the built-in one in scenarios/rigs."""
    if spec.calibration is None:
        return None
    path = Path(spec.calibration)
    if not path.is_absolute():
        named = "calibration" in spec.model_fields_set
        path = (base_dir if base_dir is not None and named else RIGS_DIR) / path
    return path


def _calibration(spec: RigSpecBase, base_dir: Path | None) -> tuple[Calibration | None, dict]:
    """The rig file's calibration file, loaded before any part is opened so a bad file stops the
    run with one line."""
    path = calibration_path(spec, base_dir)
    if path is None:
        return None, {}
    if not path.is_file():
        raise ValueError(f"rig.{spec.kind}.calibration: no calibration file {path}")
    calibration = load_calibration(path)
    return calibration, calibration_entry(calibration, path, spec.calibration_valid_days)
