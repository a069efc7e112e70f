"""The camera on the bench must be the unit the rig file declares: checked before any scenario.

A device that states its serial (the USB serial of a mass-storage disk, the serial in an MTP
device's info) is compared with the rig file's ``unit_serial``, or, when the rig file gives
none, with the camera profile's ``serial``. A mismatch is one line naming both serials and
where each came from; a source that cannot know the serial (a folder, an export) is noted so.
"""

from __future__ import annotations

from harness.devices.clip_source import DeviceIdentity


class UnitMismatch(ValueError):
    """The device states another serial than the rig file declares: the run must not start."""


def check_unit(declared: str, declared_by: str, stated: DeviceIdentity | None) -> str:
    """What the record says about the unit's identity; raises :class:`UnitMismatch` on a mismatch."""
    if stated is None:
        return f"{declared} (declared by {declared_by}; the clip source does not state a serial)"
    if stated.serial.strip().casefold() != declared.strip().casefold():
        raise UnitMismatch(
            f"camera identity: the {stated.stated_by} is {stated.serial!r}, but {declared_by} declares "
            f"{declared!r}: put the declared unit on the bench, or correct the rig file"
        )
    return f"{declared} (stated by the {stated.stated_by}, as {declared_by} declares)"
