"""The vendor's evidence system behind an emulated docking camera, and the lab operator's export from it.

Cameras such as Axon's and Motorola's never show their storage to a lab: docked, they upload
their events to the vendor's evidence system, which keeps each file as an evidence item of its
own id; a lab retrieves footage by exporting events into a folder. The emulation does both
halves: :meth:`EmulatedEvidenceSystem.upload` takes the files the camera wrote since the last
upload (as its dock would), and :meth:`EmulatedEvidenceSystem.export` writes the items not yet
exported into a fresh folder, named by the vendor's scheme (the camera profile's ``file_name``,
from the event's fields the evidence system kept, not from the camera's own file names) and with
the vendor's hash manifest, as a lab operator's export would be. The folder is filled a moment
after it is asked for, each file under a partial name first, so the harness sees an export
arrive as it would from a real one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.clock import Clock
from harness.devices.operator import Prompt
from harness.emulator.operator import register_auto_answer
from harness.plan.profile import CameraProfile

EXPORT_DELAY_S = 1.0  # the export takes a moment: the camera's last file is written on power-off first
MANIFEST_NAMES = {"sha256sum": "export.sha256", "csv": "export-manifest.csv"}


@dataclass(frozen=True)
class EvidenceItem:
    """One uploaded file: the evidence system's id, the file it keeps, the export name of its event."""

    evidence_id: str
    stored: Path
    export_name: str


class EmulatedEvidenceSystem:
    """Uploads from the camera's storage and exports for the lab, under ``root``."""

    def __init__(self, profile: CameraProfile, camera_storage: Path, root: Path, clock: Clock) -> None:
        self.profile = profile
        self.camera_storage = camera_storage
        self.root = root
        self.clock = clock
        self.items: list[EvidenceItem] = []
        self._uploaded: set[tuple[str, int, int]] = set()  # (camera path, size, mtime): a rewrite uploads again
        self._exported = 0
        self.exports: list[Path] = []
        (root / "items").mkdir(parents=True, exist_ok=True)

    def upload(self) -> list[EvidenceItem]:
        """Take the finished files the camera wrote since the last upload, each as a new evidence item."""
        new = []
        suffix = self.profile.clip_suffix.lower()
        for path in sorted(self.camera_storage.rglob("*")):
            if not path.is_file() or not path.name.lower().endswith(suffix):
                continue
            st = path.stat()
            key = (path.relative_to(self.camera_storage).as_posix(), st.st_size, st.st_mtime_ns)
            if key in self._uploaded:
                continue
            self._uploaded.add(key)
            digest = hashlib.sha256(key[0].encode() + str(len(self.items)).encode()).hexdigest()[:12].upper()
            evidence_id = f"EV{len(self.items) + 1:05d}-{digest}"
            stored = self.root / "items" / f"{evidence_id}{self.profile.clip_suffix}"
            shutil.copyfile(path, stored)
            new.append(EvidenceItem(evidence_id, stored, self._export_name(path)))
        self.items += new
        return new

    def _export_name(self, camera_file: Path) -> str:
        """The vendor's name for the file: the profile's naming, from the fields the upload kept."""
        stem = camera_file.name[: -len(self.profile.clip_suffix)]
        fields = self.profile.naming.parse(stem)
        if fields is None or fields.start is None:
            return camera_file.name  # a name the scheme cannot read stays as the camera wrote it
        event = fields.event if fields.event is not None else len(self.items) + 1
        segment = fields.segment if fields.segment is not None else 1
        serial = fields.serial if fields.serial is not None else self.profile.serial
        return self.profile.naming.format(serial, fields.start, event, segment) + self.profile.clip_suffix

    def export(self) -> Path:
        """The operator's export of the events not exported yet: a fresh folder, filled a moment later
        (when the docked camera has uploaded its last file)."""
        folder = self.root / f"export-{len(self.exports) + 1:03d}"
        folder.mkdir(parents=True)
        self.exports.append(folder)
        self.clock.call_at(self.clock.now() + EXPORT_DELAY_S, lambda: self._fill(folder))
        return folder

    def _fill(self, folder: Path) -> None:
        self.upload()
        items = self.items[self._exported :]
        self._exported = len(self.items)
        rows = []
        for item in items:
            partial = folder / (item.export_name + ".partial")
            shutil.copyfile(item.stored, partial)
            os.replace(partial, folder / item.export_name)
            rows.append((item.export_name, hashlib.sha256((folder / item.export_name).read_bytes()).hexdigest()))
        kind = self.profile.delivery.export_manifest
        if kind is None:
            return
        if kind == "sha256sum":
            text = "".join(f"{digest}  {name}\n" for name, digest in rows)
        else:
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(["File Name", "Evidence ID", "SHA256"])
            for (name, digest), item in zip(rows, items, strict=True):
                writer.writerow([name, item.evidence_id, digest])
            text = buf.getvalue()
        (folder / MANIFEST_NAMES[kind]).write_text(text, encoding="utf-8")


def _export_folder(bench: Any, prompt: Prompt) -> str | None:
    """The automatic operator's answer to the run's export prompt: export, and enter the folder."""
    system = getattr(bench, "evidence_system", None)
    return str(system.export()) if system is not None else None


register_auto_answer("export_folder", _export_folder)
