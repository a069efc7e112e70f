"""The evidence list of a run: every clip with the SHA-256 taken at ingest, checked again now.

The manifest is written in ``sha256sum`` format (hash, two spaces, path relative to the manifest),
so anyone can re-check the evidence with ``sha256sum -c manifest.sha256`` and no harness. It lists
the run record too, which ties every measurement to the clips it came from; the hash of the
manifest itself is the one number the sign-off block quotes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from harness.core.evidence import sha256_file

MANIFEST_NAME = "manifest.sha256"


@dataclass(frozen=True)
class EvidenceItem:
    scenario: str
    recorded_path: str
    path: Path | None  # where the file is now (None: not found)
    sha256: str  # as recorded at ingest
    size: int | None
    status: str  # "intact" | "changed" | "missing" | "not checked"

    @property
    def name(self) -> str:
        return Path(self.recorded_path).name


def locate(recorded: str, record_dir: Path) -> Path | None:
    """The file as recorded, or, if the run folder was moved, the same path under ``record_dir``."""
    path = Path(recorded)
    if not path.is_absolute():
        path = record_dir / path
    if path.exists():
        return path
    parts = Path(recorded).parts
    if "evidence" in parts:
        moved = record_dir.joinpath(*parts[parts.index("evidence"):])
        if moved.exists():
            return moved
    return None


def evidence_items(record: dict, record_dir: Path, verify: bool = True) -> list[EvidenceItem]:
    items = []
    for test in record["tests"]:
        for clip in test.get("clips") or []:
            path = locate(clip["path"], record_dir)
            size = path.stat().st_size if path is not None else None
            if path is None:
                status = "missing"
            elif not verify:
                status = "not checked"
            else:
                status = "intact" if sha256_file(path) == clip["sha256"] else "changed"
            items.append(EvidenceItem(test["scenario"], clip["path"], path, clip["sha256"], size, status))
    return items


def evidence_problems(items: list[EvidenceItem]) -> list[str]:
    return [f"{i.scenario}/{i.name} is {i.status} (SHA-256 at ingest {i.sha256[:12]}...)"
            for i in items if i.status in ("changed", "missing")]


def manifest_text(items: list[EvidenceItem], record_path: Path, manifest_dir: Path) -> str:
    """Lines of ``<sha256>  <path>``: the recorded hash of each clip, then the run record's."""

    def rel(path: Path) -> str:
        return Path(os.path.relpath(path.resolve(), manifest_dir.resolve())).as_posix()

    lines = []
    for item in sorted(items, key=lambda i: (i.scenario, i.recorded_path)):
        shown = rel(item.path) if item.path is not None else item.recorded_path
        lines.append(f"{item.sha256}  {shown}")
    lines.append(f"{sha256_file(record_path)}  {rel(record_path)}")
    return "\n".join(lines) + "\n"


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
