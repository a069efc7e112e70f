"""The evidence list of a run: every clip with the SHA-256 taken at ingest, checked again now.

The manifest is written in ``sha256sum`` format (hash, two spaces, path relative to the manifest),
so anyone can re-check the evidence with ``sha256sum -c manifest.sha256`` and no harness. It lists
the run record too, which ties every measurement to the clips it came from; the hash of the
manifest itself is the one number the sign-off block quotes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from harness.core.evidence import EvidenceError, open_below, open_dir, safe_parts, sha256_fd, sha256_file, walk_fd

MANIFEST_NAME = "manifest.sha256"
REPORT_SUMS_NAME = "report.sha256"
MAP_NAME = "evidence-map.json"
#: written by ``bwc report`` after the manifest; listed in report.sha256 instead
REPORT_FILES = frozenset({"report.html", "report.pdf", MANIFEST_NAME, REPORT_SUMS_NAME})


@dataclass(frozen=True)
class EvidenceItem:
    scenario: str
    recorded_path: str
    path: Path | None  # where the file is now (None: not found)
    sha256: str  # as recorded at ingest
    size: int | None
    status: str  # "intact" | "changed" | "missing" | "not checked"
    camera_path: str | None = None  # where it was on the camera (relative to the clip folder)
    finding: str | None = None  # e.g. clip_changed_during_copy
    #: where the file came from and when it was taken (source kind, device, volume, MTP object,
    #: export and manifest line), as the clip source recorded it; None in records from before
    origin: dict[str, str] | None = None

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
        moved = record_dir.joinpath(*parts[parts.index("evidence") :])
        if moved.exists():
            return moved
    return None


def evidence_items(record: dict, record_dir: Path, verify: bool = True) -> list[EvidenceItem]:
    """Every clip of the record, with its state now: the counting tests' and those of attempts a
    re-run superseded (``superseded``; named '<scenario> (attempt N, superseded)'), which stay evidence."""
    items = []
    tests = [(t, t["scenario"]) for t in record["tests"]]
    tests += [
        (t, f"{t['scenario']} (attempt {t.get('attempt', 1)}, superseded)") for t in record.get("superseded") or []
    ]
    for test, scenario in tests:
        for clip in test.get("clips") or []:
            path = locate(clip["path"], record_dir)
            size = path.stat().st_size if path is not None else None
            if path is None:
                status = "missing"
            elif not verify:
                status = "not checked"
            else:
                status = "intact" if sha256_file(path) == clip["sha256"] else "changed"
            items.append(
                EvidenceItem(
                    scenario,
                    clip["path"],
                    path,
                    clip["sha256"],
                    size,
                    status,
                    clip.get("camera_path"),
                    clip.get("finding"),
                    clip.get("origin"),
                )
            )
    return items


def evidence_problems(items: list[EvidenceItem]) -> list[str]:
    return [
        f"{i.scenario}/{i.name} is {i.status} (SHA-256 at ingest {i.sha256[:12]}...)"
        for i in items
        if i.status in ("changed", "missing")
    ]


def manifest_text(
    items: list[EvidenceItem], record_path: Path, manifest_dir: Path, others: dict[str, str] | None = None
) -> str:
    """Lines of ``<sha256>  <path>``: the recorded hash of each clip, then ``others`` (path relative
    to ``manifest_dir`` -> SHA-256 now: the run's other files), then the run record's."""

    def rel(path: Path) -> str:
        return Path(os.path.relpath(path.resolve(), manifest_dir.resolve())).as_posix()

    lines = []
    shown_clips = set()
    for item in sorted(items, key=lambda i: (i.scenario, i.recorded_path)):
        shown = rel(item.path) if item.path is not None else item.recorded_path
        shown_clips.add(shown)
        lines.append(f"{item.sha256}  {shown}")
    record_rel = rel(record_path)
    for name, sha in sorted((others or {}).items()):
        if name not in shown_clips and name != record_rel:
            lines.append(f"{sha}  {name}")
    lines.append(f"{sha256_file(record_path)}  {record_rel}")
    return "\n".join(lines) + "\n"


def run_files(run_dir: Path, skip: frozenset[str] = REPORT_FILES) -> dict[str, str]:
    """SHA-256 of every regular file under ``run_dir`` (relative '/'-path -> hash), links not followed.

    The report's own top-level files (``skip``) are left out; so is any name a manifest line could
    not carry (a newline in it): such a file is later reported by ``bwc verify-evidence`` as appeared.
    """
    out: dict[str, str] = {}
    root = open_dir(run_dir)
    try:
        for rel, st in walk_fd(root):
            if not stat.S_ISREG(st.st_mode) or rel in skip or "\n" in rel or "\r" in rel:
                continue
            try:
                fd = open_below(root, safe_parts(rel))
            except (EvidenceError, OSError):
                continue
            try:
                out[rel] = sha256_fd(fd)
            finally:
                os.close(fd)
    finally:
        os.close(root)
    return out


def evidence_map(items: list[EvidenceItem], manifest_dir: Path) -> str:
    """JSON: per clip, the camera-side path, the evidence file (relative to the manifest), its hash,
    and where it came from and when it was taken (``origin``)."""
    rows = []
    for item in sorted(items, key=lambda i: (i.scenario, i.recorded_path)):
        shown = (
            Path(os.path.relpath(item.path.resolve(), manifest_dir.resolve())).as_posix()
            if item.path is not None
            else item.recorded_path
        )
        rows.append(
            {
                "scenario": item.scenario,
                "camera_path": item.camera_path,
                "evidence": shown,
                "sha256": item.sha256,
                "finding": item.finding,
                **({"origin": item.origin} if item.origin is not None else {}),
            }
        )
    return json.dumps({"clips": rows}, indent=2) + "\n"


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def drop_camera_storage(record: dict, record_dir: Path, storage: Path) -> str:
    """Remove an emulated camera's storage once every clip of ``record`` is verified in the evidence.

    The evidence copies (hashed at ingest) are what the report rests on; the camera-side copies
    are only kept when asked. Returns what was done, for the run's notes.
    """
    items = evidence_items(record, record_dir)
    bad = [i for i in items if i.status != "intact"]
    if bad:
        return f"camera storage kept at {storage}: {len(bad)} evidence file(s) not intact"
    shutil.rmtree(storage, ignore_errors=True)
    return f"camera storage removed ({len(items)} clip(s) verified in the evidence)"
