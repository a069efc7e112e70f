"""A labgrid place as a rig file: the place's exported resources fill in a bench's addresses.

``bwc certify --place NAME`` (or ``--reserve TAGS``) acquires a place (harness/devices/labgrid_place.py)
and turns it here into an ordinary ``kind: bench`` rig file, which the rig factory then opens as
for any bench. The place gives what differs between hosts and benches:

* ``NetworkSerialPort`` (a ``RawSerialPort`` or ``USBSerialPort`` the exporter serves with ser2net)
  -> ``serial.url`` as ``rfc2217://host:port`` (pyserial's RFC 2217 client);
* ``PyVISADevice`` -> ``instrument.resource`` as ``TYPE::URL`` (e.g. ``TCPIP::10.0.0.5::5025::SOCKET``);
* ``BwcClipSource`` (a resource labgrid passes through unchanged) -> ``clips``, its parameters
  being the rig file's ``clips`` section (folder, mass_storage, mtp or export);
* ``NetworkService`` named ``display`` -> the display host, kept in the record;
* the tag ``model`` -> the camera profile (unless ``--profile`` names one).

A bench rig file given with ``--rig`` supplies the rest (calibration, power limits, display) and
anything the place does not export; the place's resources win where both say something.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from harness.devices.labgrid_place import Place, PlaceResource

__all__ = ["CLIP_SOURCE_CLASS", "rig_section", "write_place_rig"]

SERIAL_CLASS = "NetworkSerialPort"
INSTRUMENT_CLASS = "PyVISADevice"
CLIP_SOURCE_CLASS = "BwcClipSource"
DISPLAY_CLASS = "NetworkService"
#: labgrid's own bookkeeping in a resource's parameters, not the resource's settings
_LABGRID_KEYS = ("extra",)


def _one(place: Place, cls: str, preferred: tuple[str, ...], what: str) -> PlaceResource | None:
    found = place.of_class(cls)
    if len(found) <= 1:
        return found[0] if found else None
    named = [r for r in found if r.name in preferred]
    if len(named) == 1:
        return named[0]
    raise ValueError(
        f"place {place.name}: {len(found)} {cls} resources ({', '.join(r.name for r in found)}); "
        f"name the {what} one {preferred[0]!r} (a match with a rename does it)"
    )


def serial_url(resource: PlaceResource) -> str:
    """The pyserial URL of an exported serial port: RFC 2217 (ser2net's telnet mode) unless raw TCP."""
    host, port = resource.params.get("host"), resource.params.get("port")
    if not host or not port:
        raise ValueError(f"{resource.path}: the exporter has not started ser2net for it (no host/port yet)")
    if resource.params.get("protocol", "rfc2217") == "raw":
        return f"socket://{host}:{port}"
    # ign_set_control: ser2net does not confirm modem-line changes on every port (a pty never does)
    return f"rfc2217://{host}:{port}?ign_set_control"


def _absolute(rig: dict[str, Any], base_dir: Path | None) -> None:
    """Paths of a template rig file made absolute: the written rig file lives in another folder."""
    if base_dir is None:
        return
    camera = rig.get("camera")
    is_file = isinstance(camera, str) and (camera.endswith((".yaml", ".yml")) or "/" in camera)
    if is_file and not Path(str(camera)).is_absolute():
        rig["camera"] = str((base_dir / str(camera)).resolve())
    clips = rig.get("clips")
    if isinstance(clips, str):
        clips = rig["clips"] = {"path": clips}
    if isinstance(clips, dict):
        for key in ("path", "mount_point"):
            if isinstance(clips.get(key), str) and not Path(clips[key]).is_absolute():
                clips[key] = str((base_dir / clips[key]).resolve())


def rig_section(
    place: Place, template: dict[str, Any] | None = None, base_dir: Path | None = None, camera: str | None = None
) -> dict[str, Any]:
    """The ``rig`` section of a bench rig file for ``place``; ValueError names a missing part."""
    rig: dict[str, Any] = copy.deepcopy(template) if template else {}
    if rig and rig.get("kind") != "bench":
        raise ValueError(
            f"--rig with a place: a bench rig file (kind: bench) supplies the calibration, not kind {rig.get('kind')!r}"
        )
    _absolute(rig, base_dir)
    rig["kind"] = "bench"
    rig["name"] = place.name
    model = camera or place.tags.get("model") or rig.get("camera")
    if not model:
        raise ValueError(f"place {place.name}: no camera: give the place a tag model=<camera profile>, or --profile")
    rig["camera"] = model

    serial = _one(place, SERIAL_CLASS, ("rig-controller", "rig_controller"), "rig controller's")
    if serial is None:
        raise ValueError(
            f"place {place.name}: no {SERIAL_CLASS} (the rig controller's port): export it as "
            "RawSerialPort or USBSerialPort, which the exporter serves through ser2net"
        )
    rig["serial"] = {**rig.get("serial", {}), "url": serial_url(serial)}
    if serial.params.get("speed"):
        rig["serial"]["baudrate"] = int(serial.params["speed"])

    instrument = _one(place, INSTRUMENT_CLASS, ("power-supply", "power_supply"), "power supply's")
    if instrument is not None:
        resource = f"{instrument.params.get('type', 'TCPIP')}::{instrument.params.get('url', '')}"
        rig["instrument"] = {**rig.get("instrument", {}), "resource": resource}
    elif "instrument" not in rig:
        raise ValueError(
            f"place {place.name}: no {INSTRUMENT_CLASS} (the power supply's VISA address, type and url) "
            "and no --rig bench file naming the instrument"
        )

    clips = _one(place, CLIP_SOURCE_CLASS, ("clips",), "clip source's")
    if clips is not None:
        rig["clips"] = {k: v for k, v in clips.params.items() if k not in _LABGRID_KEYS}
    elif "clips" not in rig:
        raise ValueError(
            f"place {place.name}: no {CLIP_SOURCE_CLASS} (where the camera's clips appear) "
            "and no --rig bench file naming the clip source"
        )

    record = place.describe()
    display = _one(place, DISPLAY_CLASS, ("display",), "display host's")
    if display is not None:
        record["display_host"] = str(display.params.get("address", ""))
    rig["place"] = record
    return rig


def write_place_rig(
    place: Place,
    folder: Path,
    template: dict[str, Any] | None = None,
    base_dir: Path | None = None,
    camera: str | None = None,
) -> Path:
    """The place's rig file under ``folder`` (kept with the run's output, as what the run was given)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{place.name}.yaml"
    rig = rig_section(place, template, base_dir, camera)
    path.write_text(
        f"# labgrid place {place.name} at {place.coordinator}, written by bwc certify\n"
        + yaml.safe_dump({"rig": rig}, sort_keys=False)
    )
    return path
