"""Rig kinds: each turns its kind of rig file into the parts of one bench.

A kind is its rig-file model (``kind: <name>`` selects it) and a builder that resolves the file
into :class:`~harness.rig.parts.RigParts` for as long as the rig is in use (an emulated kind
starts its emulator for that time). ``open_rig`` and ``bwc rig check`` both go through
:data:`RIG_KINDS`, so they cannot read a rig file differently. A new kind (a fixed installation
at an agency, say) is one more :class:`RigKind` given to :func:`register_rig_kind`.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field, create_model

from harness.core.clock import Clock, RealClock, VirtualClock
from harness.core.config import load_model
from harness.devices.clip_source_export import ExportManifest
from harness.devices.display import Display, EmulatedDisplay, find_monitor
from harness.devices.display_gl import open_screen_display
from harness.devices.dock import HubPort
from harness.emulator.evidence_system import MANIFEST_NAMES, EmulatedEvidenceSystem
from harness.emulator.rig import EmulatedRig
from harness.emulator.usb_volume import EmulatedUsbVolume, usb_volume_problem
from harness.plan.profile import CameraProfile, Strict
from harness.rig.parts import (
    AnyClipSettings,
    ClipSettings,
    DockSettings,
    ExportSettings,
    InstrumentSettings,
    MassStorageSettings,
    MtpSettings,
    RigParts,
    SerialSettings,
)
from harness.rig.specs import (
    BenchRigSpec,
    ClipsSpec,
    DockSpec,
    EmulatedRigSpec,
    ExportClipSpec,
    MassStorageClipSpec,
    MtpClipSpec,
    PromptDockSpec,
    RigSpecBase,
    UhubctlDockSpec,
    press_latency_s,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildContext:
    """What a builder needs besides the rig file's section."""

    profile: CameraProfile
    clock: Clock
    base_dir: Path | None = None  # the rig file's folder: relative paths in it start here
    faults: tuple[str, ...] = ()  # faults asked for on the command line (emulated kinds)
    workdir: Path | None = None  # a run's work folder (None: a rig check, nothing is kept)


#: builder(spec, context) -> the resolved parts, valid until the context manager exits
Builder = Callable[[Any, BuildContext], AbstractContextManager[RigParts]]


@dataclass(frozen=True)
class RigKind:
    name: str
    spec: type[RigSpecBase]  # with ``kind: Literal[name]``
    build: Builder
    run_clock: Callable[[Any], Clock]  # the clock a certification on this kind runs on


RIG_KINDS: dict[str, RigKind] = {}


def register_rig_kind(kind: RigKind) -> None:
    """Make ``kind: <name>`` valid in rig files, for ``open_rig`` and ``bwc rig check`` alike."""
    if kind.name in RIG_KINDS:
        raise ValueError(f"rig kind {kind.name!r} is already registered")
    RIG_KINDS[kind.name] = kind


def rig_kind(spec: RigSpecBase) -> RigKind:
    try:
        return RIG_KINDS[spec.kind]
    except KeyError:
        raise ValueError(f"rig kind {spec.kind!r} has no builder (known: {', '.join(sorted(RIG_KINDS))})") from None


def load_rig_spec(path: Path | str | None) -> tuple[RigSpecBase, Path | None]:
    """The rig file's ``rig`` section as its kind's model (None: the built-in emulated bench),
    and the folder its relative paths start from."""
    if path is None:
        return EmulatedRigSpec(kind="emulated"), None
    models = tuple(k.spec for k in RIG_KINDS.values())
    union: Any = Annotated[Union[models], Field(discriminator="kind")]  # noqa: UP007 - built at run time
    rig_file = create_model("RigFile", __base__=Strict, rig=(union, ...))
    return load_model(path, rig_file).rig, Path(path).resolve().parent  # type: ignore[attr-defined]


# -- emulated: the built-in bench, reached through its pty, TCP socket and storage folder ------------


@contextlib.contextmanager
def build_emulated(spec: EmulatedRigSpec, ctx: BuildContext) -> Iterator[RigParts]:
    storage = None
    if ctx.workdir is not None:  # a fresh camera: its storage starts empty on every run
        storage = ctx.workdir / "camera-storage"
        shutil.rmtree(storage, ignore_errors=True)
    faults = tuple(spec.faults) + tuple(ctx.faults)
    # the relay (or the automatic operator) reaches the emulated camera's dock; a hub port would
    # switch a real USB port
    through_dock = spec.dock is not None and spec.dock.kind in ("relay", "prompt") and spec.dock.clips_while_docked
    with (
        EmulatedRig(
            ctx.profile,
            ctx.clock,
            storage,
            faults,
            spec.refresh_hz,
            spec.seed,
            run_id=spec.run_id,
            storage_through_dock=through_dock,
            display_model=spec.display_model,
        ) as emu,
        emulated_delivery(emu, ctx) as clips,
    ):
        emu.panel_latency_s = spec.panel_latency_ms / 1000.0
        sol = spec.solenoid_latency_ms
        emu.solenoid_latency_s = {b: ms / 1000.0 for b, ms in sol.items()} if isinstance(sol, dict) else sol / 1000.0

        def display(clock: Clock) -> EmulatedDisplay:
            return EmulatedDisplay(
                clock, spec.refresh_hz, on_scene=emu.show_scene, late=spec.display_model == "realistic"
            )

        yield RigParts(
            name=spec.name,
            refresh_hz=spec.refresh_hz,
            serial=SerialSettings(emu.serial_url),
            instrument=InstrumentSettings(emu.visa_resource),
            clips=clips,
            power=spec.power,
            limits=spec.limits,
            display=display,
            display_target="emulated",
            faults=faults,
            speaker_distance_m=ctx.profile.emulation.speaker_distance_m,
            run_id=emu.run_id,
            emulator=emu,
            dock=dock_settings(spec.dock),
        )


@contextlib.contextmanager
def emulated_delivery(emu: EmulatedRig, ctx: BuildContext) -> Iterator[AnyClipSettings]:
    """The clip source the camera's real model would use (its profile's ``delivery``), emulated:

    * ``mass_storage``: the camera's files on a labelled FAT32 volume (loop device), connected when
      the run asks the operator for the clips, found by its label and mounted read-only;
    * ``export``: the camera uploads to an emulated evidence system, and the export the run asks
      the operator for (files named by the vendor's scheme, its hash manifest) is the folder the
      automatic operator enters (``bwc certify --operator auto``);
    * otherwise (``folder``; ``mtp``, which has no emulation): the camera's storage folder.

    A machine that cannot present a volume (no root, no loop devices) falls back to the folder,
    and the log and the clip source's description say why.
    """
    profile = ctx.profile
    via = profile.delivery.via
    folder = ClipSettings(emu.clip_folder, profile.clip_suffix)
    with contextlib.ExitStack() as stack:
        work = ctx.workdir if ctx.workdir is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if via == "export":  # outside the run folder, as a lab's export folder is (and must be)
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bwc-evidence-system-")))
            emu.evidence_system = EmulatedEvidenceSystem(profile, emu.clip_folder, root, ctx.clock)
            kind = profile.delivery.export_manifest
            manifest = ExportManifest(MANIFEST_NAMES[kind], kind) if kind is not None else None
            yield ExportSettings(root / "exports", profile.clip_suffix, manifest)
            return
        if via == "mass_storage":
            problem = usb_volume_problem()
            if problem is None:
                try:
                    volume = EmulatedUsbVolume(
                        emu.clip_folder, work / "camera-volume.img", profile.clip_suffix, ctx.clock
                    )
                    stack.callback(volume.close)
                    volume.connect()
                except (OSError, subprocess.SubprocessError) as exc:
                    problem = str(exc)
                else:
                    emu.usb_volume = volume
                    yield MassStorageSettings(
                        volume.label,
                        None,
                        None,
                        profile.clip_suffix,
                        "DCIM",
                        connect_on_request=True,
                        naming=profile.naming,
                    )
                    return
            log.warning(
                "emulated %s: its storage is read as a plain folder, not a USB volume: %s", profile.model, problem
            )
        yield folder


def _emulated_clock(spec: EmulatedRigSpec) -> Clock:
    return VirtualClock() if spec.time == "virtual" else RealClock()


# -- bench: hardware at a lab -------------------------------------------------------------------------


@contextlib.contextmanager
def build_bench(spec: BenchRigSpec, ctx: BuildContext) -> Iterator[RigParts]:
    try:
        latency: float | dict[str, float] = press_latency_s(spec, ctx.profile)
        problem = None
    except ValueError as exc:  # reported when the controller is opened (a rig check goes on probing)
        latency, problem = 0.0, str(exc)
    s, i = spec.serial, spec.instrument
    display = None
    if spec.display.kind != "none":
        d = spec.display

        def display(clock: Clock) -> Display:
            return open_screen_display(clock, find_monitor(d.monitor), spec.refresh_hz, d.latency_s, d.chosen_presenter)

    yield RigParts(
        name=spec.name,
        refresh_hz=spec.refresh_hz,
        serial=SerialSettings(s.url, s.baudrate, s.timeout_s, s.write_timeout_s, latency, s.stimulus, problem),
        instrument=InstrumentSettings(i.resource, i.command_set, i.timeout_ms, i.read_termination, i.write_termination),
        clips=clip_settings(spec.clips, ctx),
        power=spec.power,
        limits=spec.limits,
        display=display,
        display_target=f"monitor {spec.display.monitor}" if display is not None else "external player",
        faults=tuple(ctx.faults),
        speaker_distance_m=spec.distances.speaker_to_camera_m,
        dock=dock_settings(spec.dock),
        place=spec.place,
    )


def dock_settings(d: DockSpec | None) -> DockSettings | None:
    """The way of docking a rig file's ``dock:`` section chooses (None: the rig cannot dock)."""
    if d is None:
        return None
    if isinstance(d, UhubctlDockSpec):
        hub = HubPort(d.location, tuple(d.ports), d.vendor, d.repeat, d.wait_ms, None, d.exact, d.command)
        return DockSettings(
            hub=hub, settle_s=d.settle_s, timeout_s=d.timeout_s, clips_while_docked=d.clips_while_docked
        )
    if isinstance(d, PromptDockSpec):
        return DockSettings(
            settle_s=d.settle_s,
            timeout_s=d.timeout_s,
            clips_while_docked=d.clips_while_docked,
            by_hand=(d.dock_text, d.undock_text),
        )
    return DockSettings(relay=d.relay, settle_s=d.settle_s, clips_while_docked=d.clips_while_docked)


def clip_settings(c: ClipsSpec, ctx: BuildContext) -> AnyClipSettings:
    """The clip source a bench's ``clips:`` section chooses; relative paths start at the rig file's folder."""

    def here(path: Path) -> Path:
        return path if path.is_absolute() or ctx.base_dir is None else ctx.base_dir / path

    suffix = c.suffix or ctx.profile.clip_suffix
    if isinstance(c, MassStorageClipSpec):
        mount_point = here(c.mount_point) if c.mount_point is not None else None
        return MassStorageSettings(
            c.label,
            c.uuid,
            c.usb_serial,
            suffix,
            c.subfolder,
            mount_point,
            c.settle_s,
            c.wait_s,
            c.connect == "prompt",
            ctx.profile.naming,
        )
    if isinstance(c, MtpClipSpec):
        return MtpSettings(c.serial, c.folder, suffix, c.settle_s, c.wait_s)
    if isinstance(c, ExportClipSpec):
        manifest = ExportManifest(c.manifest.name, c.manifest.format) if c.manifest is not None else None
        return ExportSettings(here(c.path), suffix, manifest, c.recursive, c.settle_s, c.wait_s)
    return ClipSettings(here(c.path), suffix, c.recursive, c.settle_s, c.wait_s)


def _bench_clock(spec: BenchRigSpec) -> Clock:
    return RealClock()


register_rig_kind(RigKind("emulated", EmulatedRigSpec, build_emulated, _emulated_clock))
register_rig_kind(RigKind("bench", BenchRigSpec, build_bench, _bench_clock))
