"""``bwc rig check``: probe each part of a bench before a certification run, and say what is wrong.

Each probe is read-only (the supply's output is never switched, no button is pressed) and
fails alone with a reason a lab engineer can act on, so one unplugged cable does not hide the
state of the other parts.
"""

from __future__ import annotations

import os
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyvisa

from harness.core.clock import Clock, RealClock
from harness.core.config import ConfigError
from harness.core.paths import camera_profile_path
from harness.devices.block_devices import BlockDevices
from harness.devices.clip_source import DeviceIdentity
from harness.devices.clip_source_mtp import MtpTools
from harness.devices.display import Display
from harness.devices.dock import UhubctlDock
from harness.devices.rig_controller import RigControllerError
from harness.plan.profile import CameraProfile
from harness.rig.identity import UnitMismatch, check_unit
from harness.rig.kinds import BuildContext, load_rig_spec, rig_kind
from harness.rig.parts import (
    AnyClipSettings,
    ClipSettings,
    DockSettings,
    ExportSettings,
    InstrumentSettings,
    MassStorageSettings,
    MtpSettings,
    SerialSettings,
)

PING_EXCHANGES = 20
DRIFT_SPAN_S = 1.0
DISPLAY_CHECK_S = 1.0
CHECK_FLASH_S = 0.05  # the flash-and-beep the check fires once on a bench that has one


@dataclass(frozen=True)
class CheckRow:
    part: str
    target: str
    status: str  # "ok" | "warn" | "fail"
    detail: str


def _probe(part: str, target: str, fn: Callable[[], tuple[str, str]]) -> CheckRow:
    try:
        status, detail = fn()
    except Exception as exc:  # every failure becomes a row; the check goes on
        status, detail = "fail", f"{type(exc).__name__}: {exc}"
    return CheckRow(part, target, status, detail)


def probe_serial(settings: SerialSettings, clock: Clock, max_uncertainty_s: float) -> tuple[str, str]:
    """Identity, ping, clock offset and drift; with a stimulus, one short flash-and-beep (no button moves)."""
    flash, flash_failed = "", False
    press_latency = _latency_text(settings)
    with settings.open(clock) as ctl:
        ident = ctl.identify()
        rtts = [ctl.exchange().rtt_s for _ in range(PING_EXCHANGES)]
        ctl.sync(8)
        clock.sleep(DRIFT_SPAN_S)
        m = ctl.sync(8)
        if settings.stimulus:
            try:
                fired = ctl.flash(CHECK_FLASH_S)
                flash = f"; stimulus: flash and beep fired, {(fired.off_t - fired.on_t) * 1e3:.1f} ms"
            except RigControllerError as exc:
                flash, flash_failed = f"; stimulus: {exc}", True
    detail = (
        f"{ident}; ping min {min(rtts) * 1e3:.2f} ms, median {statistics.median(rtts) * 1e3:.2f} ms; "
        f"offset {m.offset_s:+.6f} s +/- {m.uncertainty_s * 1e6:.0f} us; "
        f"drift {m.drift_ppm:+.0f} +/- {m.drift_uncertainty_ppm:.0f} ppm (over {DRIFT_SPAN_S:g} s)"
        + (f"; solenoid latency {press_latency}" if press_latency else "")
        + flash
    )
    if flash_failed:
        return (
            "warn",
            detail
            + " (the A/V check needs the flash LED and speaker: flash the firmware of harness/firmware, check GP4 and GP5)",
        )
    if m.uncertainty_s > max_uncertainty_s:
        return (
            "warn",
            detail + f"; uncertainty above the rig limit {max_uncertainty_s * 1e6:.0f} us (USB latency timer?)",
        )
    return "ok", detail


def probe_instrument(settings: InstrumentSettings) -> tuple[str, str]:
    """``*IDN?`` and the error queue, nothing else: the output state is left as it is."""
    rm = pyvisa.ResourceManager("@py")
    try:
        try:
            inst = settings.open_resource(rm)
        except Exception as exc:
            raise RuntimeError(
                f"cannot connect ({exc}): is the instrument on, reachable, and is the SCPI port "
                "in the resource right (usually 5025)?"
            ) from exc
        try:
            try:
                ident = inst.query("*IDN?").strip()
            except OSError as exc:
                raise RuntimeError(
                    f"cannot connect ({exc}): is the instrument on, reachable, and is the SCPI port "
                    "in the resource right (usually 5025)?"
                ) from exc
            except Exception as exc:
                raise RuntimeError(f"connected, but no answer to *IDN? ({exc}): wrong port or termination?") from exc
            error = inst.query(":SYST:ERR?").strip()
        finally:
            inst.close()
    finally:
        rm.close()
    if not ident:
        return "fail", "empty answer to *IDN?"
    if error and not error.lstrip("+").startswith("0"):
        return "warn", f"{ident}; error queue holds {error!r}"
    return "ok", ident


def probe_storage(folder: Path, suffix: str) -> tuple[str, str]:
    if not folder.exists():
        return "fail", f"{folder} does not exist (camera not docked or storage not mounted?)"
    if not folder.is_dir():
        return "fail", f"{folder} is not a folder"
    if not os.access(folder, os.R_OK | os.X_OK):
        return "fail", f"{folder} is not readable by this user"
    clips = [p for p in folder.rglob(f"*{suffix}") if p.is_file() and not p.is_symlink()]
    free = shutil.disk_usage(folder).free
    return "ok", f"readable; {len(clips)} {suffix} clip(s) present; {free / 1e9:.1f} GB free"


def probe_clip_source(settings: AnyClipSettings) -> tuple[str, str]:
    """Read-only: a folder is listed, a volume found (not mounted), an MTP device detected."""
    if isinstance(settings, ClipSettings):
        return probe_storage(settings.folder, settings.suffix)
    if isinstance(settings, ExportSettings):
        manifest = f"; manifest {settings.manifest.name} ({settings.manifest.format})" if settings.manifest else ""
        if not settings.folder.exists():
            return (
                "ok",
                f"{settings.folder} does not exist yet: the operator exports each run's events into it{manifest}",
            )
        status, detail = probe_storage(settings.folder, settings.suffix)
        return status, detail + manifest
    if isinstance(settings, MassStorageSettings):
        volume = BlockDevices().find(settings.selector)
        where = volume.mountpoints[0] if volume.mountpoints else "not mounted: the run mounts it read-only"
        return "ok", f"{volume.describe()} ({volume.model or 'unknown model'}); {where}"
    devices = MtpTools().detect()
    if not devices:
        return "fail", "no MTP device is connected (is the camera docked and in MTP mode?)"
    if len(devices) > 1:
        return "fail", f"{len(devices)} MTP devices are connected: connect only the camera"
    if settings.serial is not None and devices[0].serial != settings.serial:
        return "fail", f"the MTP device is {devices[0].describe()}, not serial {settings.serial!r}"
    return "ok", devices[0].describe()


def probe_identity(settings: AnyClipSettings, profile: CameraProfile, unit_serial: str | None) -> tuple[str, str]:
    """The serial the device states against the declared unit (what ``open_rig`` refuses a run for)."""
    declared = unit_serial or profile.serial
    declared_by = "the rig file (unit_serial)" if unit_serial else "the camera profile (serial)"
    stated: DeviceIdentity | None = None
    if isinstance(settings, MassStorageSettings):
        volume = BlockDevices().find(settings.selector)
        if volume.usb_serial:
            stated = DeviceIdentity(volume.usb_serial, f"USB serial of the disk holding {volume.path}")
    elif isinstance(settings, MtpSettings):
        devices = MtpTools().detect()
        if len(devices) == 1 and devices[0].serial:
            stated = DeviceIdentity(devices[0].serial, "MTP device info (mtp-detect)")
    try:
        return "ok", check_unit(declared, declared_by, stated)
    except UnitMismatch as exc:
        return "fail", str(exc)


def probe_display(factory: Callable[[Clock], Display], clock: Clock, max_dropped: int) -> tuple[str, str]:
    display = factory(clock)
    with display:
        t0 = clock.now()
        clock.sleep(DISPLAY_CHECK_S)
        t1 = clock.now()
    stats = display.log.stats(t0, t1)
    detail = f"{display.describe()}: {stats.describe()}"
    missed = [n for n, _ in getattr(display, "missed", []) if t0 <= n / display.refresh_hz < t1]
    if missed:  # the OpenGL presenter's swaps more than 1.5 refreshes apart
        detail += f"; {len(missed)} missed refresh(es)"
    if stats.missing > max_dropped:
        return "fail", detail + f" (rig limit {max_dropped})"
    return ("warn" if stats.late else "ok"), detail


def probe_dock(dock: DockSettings, serial: SerialSettings, clock: Clock) -> tuple[str, str]:
    """Whether the dock can be switched, without switching it: the hub port's status through
    uhubctl, or the controller's list of relays; docking by hand is asked at run time."""
    if dock.hub is not None:
        ports = UhubctlDock(dock.hub, clock, timeout_s=dock.timeout_s).status()
        states = ", ".join(f"port {p} {'powered (docked)' if on else 'off (undocked)'}" for p, on in ports.items())
        return "ok", f"{states}; uhubctl shows the hub (nothing switched)"
    if dock.by_hand is not None:
        return "ok", "the operator docks the camera when asked (answered at run time)"
    with serial.open(clock) as ctl:
        relays = ctl.relays()
    if dock.relay not in relays:
        return "fail", (
            f"the rig controller has no relay {dock.relay!r} (its relays: {', '.join(relays) or 'none'}; "
            "firmware 1.2 or later has 'dock' on GP6)"
        )
    return "ok", f"the rig controller has relay {dock.relay!r} (nothing switched)"


def _latency_text(settings: SerialSettings) -> str:
    """The calibrated solenoid latency as the run will use it (raises if the rig file's does not fit the profile)."""
    settings.validate()
    value = settings.press_latency_s
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{button} {s * 1e3:g} ms" for button, s in value.items())
    return f"{value * 1e3:g} ms" + ("" if value else " (not calibrated)")


def check_rig(path: Path | str) -> tuple[str, list[CheckRow]]:
    """Probe every part of the rig in ``path``; returns the rig's name and one row per part."""
    try:
        spec, base = load_rig_spec(path)
    except ConfigError as exc:
        return str(path), [CheckRow("rig file", str(path), "fail", str(exc))]
    rows: list[CheckRow] = []
    profile_path = camera_profile_path(spec.camera, base)
    try:
        profile = CameraProfile.load(profile_path)
        rows.append(
            CheckRow(
                "camera profile",
                str(profile_path),
                "ok",
                f"{profile.vendor} {profile.model} fw {profile.firmware}, "
                f"pre-event buffer {profile.pre_event_buffer_s:g} s",
            )
        )
    except ConfigError as exc:
        return spec.name, [CheckRow("camera profile", str(profile_path), "fail", str(exc))]
    clock = RealClock()  # a check probes in real time, whatever clock a run on this rig would use
    try:
        kind = rig_kind(spec)
        with kind.build(spec, BuildContext(profile, clock, base)) as parts:
            rows.append(
                _probe(
                    "rig controller",
                    parts.serial.url,
                    lambda: probe_serial(parts.serial, clock, spec.limits.max_sync_uncertainty_s),
                )
            )
            rows.append(_probe("power supply", parts.instrument.resource, lambda: probe_instrument(parts.instrument)))
            if parts.display is None:
                rows.append(
                    CheckRow(
                        "display",
                        parts.display_target,
                        "ok",
                        "not driven by the harness: play `bwc scene render` output full screen",
                    )
                )
            else:
                display = parts.display
                rows.append(
                    _probe(
                        "display",
                        parts.display_target,
                        lambda: probe_display(display, clock, spec.limits.max_display_dropped_frames),
                    )
                )
            if parts.dock is not None:
                dock = parts.dock
                rows.append(_probe("dock", dock.target, lambda: probe_dock(dock, parts.serial, clock)))
            rows.append(_probe("camera storage", parts.clips.target, lambda: probe_clip_source(parts.clips)))
            rows.append(
                _probe(
                    "camera identity",
                    parts.clips.target,
                    lambda: probe_identity(parts.clips, profile, spec.unit_serial),
                )
            )
    finally:
        clock.close()
    return spec.name, rows
