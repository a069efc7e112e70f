"""An emulated camera's storage as a USB mass-storage volume: a labelled FAT32 image on a loop device.

A generic body camera shows its card to the computer as a USB volume (DCIM folders) while it is
connected, and records while it is not. The emulation keeps that rhythm: the camera writes its
files into its own folder; :meth:`EmulatedUsbVolume.connect` copies the files new since the last
connection into a FAT32 image (made with Debian's ``mkfs.vfat``, written with ``mtools``, never
mounted by the emulator) and attaches it to a loop device, where the harness's mass-storage source
finds it by its label (lsblk/blkid) and mounts it read-only as it would a camera's;
:meth:`EmulatedUsbVolume.disconnect` detaches it again (as pulling the cable would).

Loop devices need root and ``/dev/loop-control``: :func:`usb_volume_problem` says why a machine
cannot, so the emulated rig can fall back to a plain folder and say so.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

from harness.core.clock import Clock
from harness.devices.operator import Prompt
from harness.emulator.operator import register_auto_answer

IMAGE_BYTES = 1 << 30  # sparse: only what is written takes space
TOOLS = {"mkfs.vfat": "dosfstools", "mcopy": "mtools", "mmd": "mtools", "losetup": "mount"}
TOOL_TIMEOUT_S = 60.0
CONNECT_DELAY_S = 1.0  # the operator plugs the camera in a moment later: its last file is written on power-off


def usb_volume_problem() -> str | None:
    """Why this machine cannot present an emulated USB volume (None: it can)."""
    if os.geteuid() != 0:
        return "attaching a loop device needs root"
    if not Path("/dev/loop-control").exists():
        return "no loop devices on this machine (/dev/loop-control missing)"
    for tool, package in TOOLS.items():
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package {package})"
    return None


def _run(*cmd: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise OSError(f"{' '.join(cmd[:3])}...: {' '.join(done.stderr.split()) or f'exit code {done.returncode}'}")
    return done.stdout.strip()


class EmulatedUsbVolume:
    """The files of ``storage`` (the camera's folder) as a FAT32 volume labelled ``label``."""

    def __init__(self, storage: Path, image: Path, suffix: str, clock: Clock, label: str | None = None) -> None:
        self.storage = storage
        self.clock = clock
        self.image = image
        self.suffix = suffix.lower()
        #: unique per emulated rig, so parallel runs on one machine each find their own camera
        self.label = label or f"BWC{secrets.token_hex(4).upper()}"
        self.device: str | None = None
        self._copied: set[tuple[str, int, int]] = set()
        self._folders: set[str] = set()
        image.parent.mkdir(parents=True, exist_ok=True)
        with open(image, "wb") as fh:
            fh.truncate(IMAGE_BYTES)
        _run("mkfs.vfat", "-F", "32", "-n", self.label, str(image))

    def _sync(self) -> int:
        """Copy the camera's files new since the last connection into the image (mtools, not mounted)."""
        copied = 0
        for path in sorted(self.storage.rglob("*")):
            if not path.is_file() or not path.name.lower().endswith(self.suffix):
                continue
            rel = path.relative_to(self.storage.parent).as_posix()  # DCIM/... as on the camera's card
            st = path.stat()
            key = (rel, st.st_size, st.st_mtime_ns)
            if key in self._copied:
                continue
            parts = rel.split("/")
            for i in range(1, len(parts)):
                folder = "/".join(parts[:i])
                if folder not in self._folders:
                    _run("mmd", "-D", "s", "-i", str(self.image), "::" + folder)
                    self._folders.add(folder)
            _run("mcopy", "-o", "-m", "-i", str(self.image), str(path), "::" + rel)
            self._copied.add(key)
            copied += 1
        return copied

    def connect(self) -> str:
        """Plug the camera in: bring the image up to date and attach it; returns the loop device."""
        self.disconnect()
        self._sync()
        self.device = _run("losetup", "--find", "--show", str(self.image))
        return self.device

    def disconnect(self) -> None:
        """Pull the cable: detach the loop device (at once, or when the harness unmounts it)."""
        if self.device is not None:
            subprocess.run(["losetup", "-d", self.device], capture_output=True, timeout=TOOL_TIMEOUT_S, check=False)
            self.device = None

    def answer(self) -> None:
        """What the lab operator does when the run asks for the camera's storage: a moment later
        (the camera finishes the file it closes at power-off), connect it."""
        self.clock.sleep(CONNECT_DELAY_S)
        self.connect()

    def close(self) -> None:
        self.disconnect()
        self.image.unlink(missing_ok=True)


def _camera_connected(bench: Any, prompt: Prompt) -> str | None:
    """The automatic operator's answer to the run's prompt to connect the camera: connect it."""
    volume = getattr(bench, "usb_volume", None)
    if volume is None:
        return None
    volume.answer()
    return "y"


register_auto_answer("camera_connected", _camera_connected)
