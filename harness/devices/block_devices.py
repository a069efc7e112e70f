"""Finding a camera's USB mass-storage volume and mounting it read-only.

``lsblk --json`` lists the block devices as a tree (a disk and its partitions) with the disk's
USB serial; where udev has not recorded a volume's label and UUID (a container, a loop device,
no udev running) ``blkid -p`` probes the device itself. :class:`BlockDevices` is the one place
that runs these tools; a test feeds it recorded ``lsblk`` JSON and ``blkid`` output instead.

A volume is mounted by :class:`Mounter` with ``mount -o ro,nosuid,nodev,noexec``: the harness
never writes to a camera's storage, and nothing on it can run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.devices.clip_source import ClipSourceError

LSBLK_COLUMNS = "NAME,PATH,TYPE,FSTYPE,LABEL,UUID,SERIAL,TRAN,VENDOR,MODEL,MOUNTPOINT"
TOOL_TIMEOUT_S = 20.0

#: runs a command, returns (exit code, stdout, stderr); tests give a recorded one
Runner = Callable[[list[str]], tuple[int, str, str]]


def run_tool(cmd: list[str]) -> tuple[int, str, str]:
    """Run a system tool with a time bound; a missing tool or a hang is a :class:`ClipSourceError`."""
    if shutil.which(cmd[0]) is None:
        raise ClipSourceError(f"{cmd[0]} is not installed (Debian package: {DEBIAN_PACKAGES.get(cmd[0], 'unknown')})")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ClipSourceError(f"{' '.join(cmd)} gave no answer within {TOOL_TIMEOUT_S:g} s") from None
    return done.returncode, done.stdout, done.stderr


DEBIAN_PACKAGES = {
    "lsblk": "util-linux",
    "blkid": "util-linux",
    "mount": "mount",
    "umount": "mount",
    "mtp-detect": "mtp-tools",
    "mtp-files": "mtp-tools",
    "mtp-folders": "mtp-tools",
    "mtp-getfile": "mtp-tools",
}


@dataclass(frozen=True)
class Volume:
    """One block device that holds a file system, with what identifies it."""

    name: str  # kernel name, e.g. sdb1
    path: str  # device node, e.g. /dev/sdb1
    fstype: str | None
    label: str | None
    uuid: str | None
    usb_serial: str | None  # the serial of the USB disk it is on (its own or its parent disk's)
    transport: str | None  # "usb" for a camera; None for a loop device
    model: str | None
    mountpoints: tuple[str, ...] = ()

    def describe(self) -> str:
        """``sdb1 vfat label=BWC uuid=1234-ABCD serial=X``: what a message shows of it."""
        bits = [self.name]
        if self.fstype:
            bits.append(self.fstype)
        for key, value in (("label", self.label), ("uuid", self.uuid), ("serial", self.usb_serial)):
            if value:
                bits.append(f"{key}={value}")
        if self.mountpoints:
            bits.append(f"mounted at {','.join(self.mountpoints)}")
        return " ".join(bits)


@dataclass(frozen=True)
class VolumeSelector:
    """What the rig file says identifies the camera's volume; every given field must match."""

    label: str | None = None
    uuid: str | None = None
    usb_serial: str | None = None

    def __post_init__(self) -> None:
        if not (self.label or self.uuid or self.usb_serial):
            raise ValueError("a mass-storage volume needs a label, uuid or usb_serial to be found by")

    def matches(self, v: Volume) -> bool:
        return (
            (self.label is None or (v.label or "") == self.label)
            and (self.uuid is None or (v.uuid or "").lower() == self.uuid.lower())
            and (self.usb_serial is None or (v.usb_serial or "") == self.usb_serial)
        )

    def describe(self) -> str:
        return ", ".join(
            f"{key} {value!r}"
            for key, value in (("label", self.label), ("UUID", self.uuid), ("USB serial", self.usb_serial))
            if value
        )


@dataclass
class BlockDevices:
    """The machine's block devices, from ``lsblk`` (and ``blkid`` where udev knows nothing).

    ``lsblk_json``/``blkid`` given: a recorded listing (tests); otherwise the tools are run.
    """

    lsblk_json: str | None = None
    #: device path -> ``blkid -p -o export`` output, for a recorded listing
    blkid: dict[str, str] = field(default_factory=dict)
    runner: Runner = run_tool
    #: the last listing's volumes, for the message when the wanted one is not there
    seen: list[Volume] = field(default_factory=list)

    def _listing(self) -> dict[str, Any]:
        text = self.lsblk_json
        if text is None:
            code, text, err = self.runner(["lsblk", "--json", "--tree", "-o", LSBLK_COLUMNS])
            if code != 0:
                raise ClipSourceError(f"lsblk failed: {err.strip() or f'exit code {code}'}")
        try:
            data = json.loads(text)
            devices = data["blockdevices"]
            if not isinstance(devices, list):
                raise TypeError("blockdevices is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise ClipSourceError(f"lsblk gave output that is not its JSON listing ({exc})") from None
        return data

    def _probe(self, path: str) -> dict[str, str]:
        """``blkid -p`` of one device (its file system's type, label and UUID), or {}."""
        if self.lsblk_json is not None:
            text = self.blkid.get(path, "")
        else:
            try:
                code, text, _ = self.runner(["blkid", "-p", "-o", "export", path])
            except ClipSourceError:
                return {}
            if code != 0:
                return {}
        out = {}
        for line in text.splitlines():
            key, eq, value = line.partition("=")
            if eq:
                out[key.strip()] = value.strip()
        return out

    def volumes(self) -> list[Volume]:
        """Every block device that holds a file system (or may: one udev has not probed)."""
        out: list[Volume] = []
        for node, serial, tran in _walk(self._listing()["blockdevices"], None, None):
            if node.get("children"):
                continue  # a partitioned disk: its partitions hold the file systems
            path = str(node.get("path") or f"/dev/{node.get('name')}")
            fstype, label, uuid = node.get("fstype"), node.get("label"), node.get("uuid")
            if not fstype and node.get("type") in ("disk", "part", "loop"):
                probed = self._probe(path)
                fstype = probed.get("TYPE") or fstype
                label = probed.get("LABEL") or label
                uuid = probed.get("UUID") or uuid
            mounts = node.get("mountpoints") or ([node["mountpoint"]] if node.get("mountpoint") else [])
            out.append(
                Volume(
                    name=str(node.get("name")),
                    path=path,
                    fstype=fstype or None,
                    label=label or None,
                    uuid=uuid or None,
                    usb_serial=(node.get("serial") or serial or None),
                    transport=(node.get("tran") or tran or None),
                    model=_text(node.get("model")),
                    mountpoints=tuple(str(m) for m in mounts if m),
                )
            )
        self.seen = out
        return out

    def find(self, selector: VolumeSelector) -> Volume:
        """The one volume ``selector`` names; one line naming what was looked for and what was seen if none or several."""
        volumes = self.volumes()
        found = [v for v in volumes if v.fstype and selector.matches(v)]
        if len(found) == 1:
            return found[0]
        seen = "; ".join(v.describe() for v in volumes if v.fstype) or "no volume with a file system"
        if not found:
            raise ClipSourceError(f"camera volume with {selector.describe()} not found (lsblk saw: {seen})")
        raise ClipSourceError(
            f"{len(found)} volumes match {selector.describe()} ({', '.join(v.name for v in found)}): "
            "name the camera's volume by its UUID or USB serial"
        )


def _text(value: object) -> str | None:
    return str(value).strip() or None if value else None


def _walk(
    nodes: list[dict[str, Any]], serial: str | None, tran: str | None
) -> Iterator[tuple[dict, str | None, str | None]]:
    """Every node of lsblk's tree with the USB serial and transport of the disk above it."""
    for node in nodes:
        own_serial = _text(node.get("serial")) or serial
        own_tran = _text(node.get("tran")) or tran
        yield node, own_serial, own_tran
        yield from _walk(node.get("children") or [], own_serial, own_tran)


# -- mounting ----------------------------------------------------------------------------------------

MOUNT_OPTIONS = "ro,nosuid,nodev,noexec"


def is_read_only(folder: Path) -> bool:
    """Whether the file system at ``folder`` is mounted read-only."""
    return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)


#: a file system the kernel may lack (an older or a container's kernel) -> (mount type of its FUSE
#: driver, the program that type needs): exFAT through exfat-fuse, FAT through fusefat
FUSE_DRIVERS = {"exfat": ("exfat-fuse", "mount.exfat-fuse"), "vfat": ("fuse.fusefat", "fusefat")}


@dataclass
class Mounter:
    """``mount -o ro,...`` and ``umount``: the harness's only writes to the system's mount table.

    When the kernel does not know the volume's file system, the FUSE driver of
    :data:`FUSE_DRIVERS` mounts it (read-only too); :attr:`driver` says which one did.
    """

    runner: Runner = run_tool
    driver: str = ""  # the mount type of the last successful mount, e.g. "vfat" or "exfat-fuse"

    def mount(self, volume: Volume, mount_point: Path) -> None:
        cmd = ["mount", "-o", MOUNT_OPTIONS]
        fstype = volume.fstype
        code, _, err = self.runner([*cmd, *(["-t", fstype] if fstype else []), volume.path, str(mount_point)])
        fuse = FUSE_DRIVERS.get(fstype or "")
        if code != 0 and fuse is not None and "unknown filesystem type" in err and shutil.which(fuse[1]):
            fstype = fuse[0]
            code, _, err = self.runner([*cmd, "-t", fstype, volume.path, str(mount_point)])
        if code == 0:
            self.driver = fstype or "auto"
        else:
            hint = (
                " (mounting needs root: run as root, or mount the volume read-only yourself and the harness uses that mount)"
                if os.geteuid() != 0
                else ""
            )
            raise ClipSourceError(
                f"cannot mount {volume.describe()} read-only at {mount_point}: {_one_line(err) or f'exit code {code}'}{hint}"
            )

    def unmount(self, mount_point: Path) -> str | None:
        """Unmount; if busy, detach lazily. Returns the problem, or None when it is unmounted."""
        code, _, err = self.runner(["umount", str(mount_point)])
        if code == 0:
            return None
        code, _, err2 = self.runner(["umount", "-l", str(mount_point)])
        return None if code == 0 else _one_line(err2 or err) or f"exit code {code}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
