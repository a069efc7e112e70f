"""A vendor's export folder: the operator exports the run's events from the evidence system into it.

Cameras that dock to a vendor's evidence system (Axon, Motorola) never show their storage to
the harness: a lab retrieves the footage by exporting the events. This source waits for that
folder (asking the operator through a hook the runner gives it, or just waiting for files),
takes the clips with the defensive folder reader, and, when the export carries a hash manifest,
checks every clip against it:

* a clip whose hash differs from its manifest line: ``export_hash_mismatch``;
* a clip the manifest does not list at all: ``not_in_export_manifest``;
* a clip whose hash the manifest lists under another name: ``renamed_after_export``;
* a manifest line with no file in the export: named in the wait outcome as missing.

Which clips belong to the run (run id and time in the time code) is decided above the devices
layer; every taken file carries its provenance (export folder, manifest and line) for it.

Manifest formats are named in the rig file; ``sha256sum`` (``HASH  NAME`` lines, as
``sha256sum`` writes them) and ``csv`` (a header row with a name column and a SHA-256 column)
are built in, and :data:`MANIFEST_FORMATS` takes more.
"""

from __future__ import annotations

import csv
import dataclasses
import fnmatch
import io
import logging
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.clock import Clock
from harness.core.evidence import EvidenceError, EvidenceFile, open_dir, walk_fd
from harness.devices.clip_source import ClipSource, ClipSourceError, FolderClipSource, Progress, WaitOutcome
from harness.devices.operator import Prompt

log = logging.getLogger(__name__)

HASH_MISMATCH = "export_hash_mismatch"
NOT_IN_MANIFEST = "not_in_export_manifest"
RENAMED = "renamed_after_export"

EXPORT_PROMPT_S = 3600.0  # an export from an evidence system can take a while
#: why a folder cannot be an export folder (None: it can); the rig layer gives its own rules
FolderCheck = Callable[[Path], str | None]

#: ask(instruction): the runner's way to ask the operator for the export; returns when it is there,
#: with the folder the operator entered (None: the rig file's folder)
Ask = Callable[[str], Path | None]


@dataclass(frozen=True)
class ManifestEntry:
    name: str  # '/'-separated, relative to the export folder
    sha256: str  # lower-case hex
    line: int  # 1-based line of the manifest
    text: str  # the line as written


class ManifestError(ValueError):
    """The manifest cannot be read: the message names the file and line."""


_SHA256SUM = re.compile(r"^(\\?)([0-9A-Fa-f]{64}) [ *](.+)$")


def parse_sha256sum(text: str, where: str) -> list[ManifestEntry]:
    """``sha256sum`` lines: hash, a space, ``*`` (binary) or a space, the name; ``\\``-escaped names
    (a line starting with a backslash) as GNU coreutils writes them; blank and ``#`` lines skipped."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _SHA256SUM.match(line.rstrip("\r"))
        if not m:
            raise ManifestError(f"{where} line {n}: not a sha256sum line: {line[:80]!r}")
        name = m.group(3)
        if m.group(1):
            name = name.replace("\\n", "\n").replace("\\\\", "\\")
        out.append(ManifestEntry(_norm(name), m.group(2).lower(), n, line))
    return out


_CSV_NAMES = ("file", "filename", "file name", "name", "path")
_CSV_HASHES = ("sha256", "sha-256", "hash", "checksum")


def parse_csv(text: str, where: str) -> list[ManifestEntry]:
    """A CSV with a header row: a name column (file, filename, name, path) and a SHA-256 column
    (sha256, sha-256, hash, checksum), in any case and order."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ManifestError(f"{where}: empty CSV manifest")
    header = [h.strip().lower() for h in rows[0]]
    name_col = next((header.index(h) for h in _CSV_NAMES if h in header), None)
    hash_col = next((header.index(h) for h in _CSV_HASHES if h in header), None)
    if name_col is None or hash_col is None:
        raise ManifestError(f"{where} line 1: expected a file name column and a SHA-256 column, got {rows[0]}")
    out = []
    for n, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(name_col, hash_col) or not re.fullmatch(r"[0-9A-Fa-f]{64}", row[hash_col].strip()):
            raise ManifestError(f"{where} line {n}: expected a file name and a 64-digit SHA-256, got {row}")
        out.append(ManifestEntry(_norm(row[name_col].strip()), row[hash_col].strip().lower(), n, ",".join(row)))
    return out


#: manifest format name (as the rig file gives it) -> parser(text, where)
MANIFEST_FORMATS: dict[str, Callable[[str, str], list[ManifestEntry]]] = {
    "sha256sum": parse_sha256sum,
    "csv": parse_csv,
}


def _norm(name: str) -> str:
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


@dataclass(frozen=True)
class ExportManifest:
    """Which file of the export is the vendor's hash manifest, and its format."""

    name: str = "*.sha256"  # a file name or a glob, at the top of the export folder
    format: str = "sha256sum"

    def __post_init__(self) -> None:
        if self.format not in MANIFEST_FORMATS:
            raise ValueError(f"unknown manifest format {self.format!r}; known: {', '.join(sorted(MANIFEST_FORMATS))}")


@dataclass
class ExportCheck:
    """What the manifest check of the last take found (empty lists: all clips as listed)."""

    manifest: str | None = None  # the manifest's name in the export (None: none found / none declared)
    mismatched: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # manifest names with no file in the export
    problem: str | None = None  # the manifest could not be read, or was declared and is absent


class ExportClipSource(ClipSource):
    """Clips from a vendor export folder, checked against the export's hash manifest."""

    holds_other_footage = True  # an export holds what the operator selected: other runs' events too

    def __init__(
        self,
        folder: Path,
        suffix: str = ".mp4",
        manifest: ExportManifest | None = None,
        recursive: bool = True,
        settle_s: float = 2.0,
        ask: Ask | None = None,
        folder_check: FolderCheck | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.folder_check = folder_check
        self._entered = False  # the operator entered the folder of this export: all of it is a candidate
        self.manifest = manifest
        #: the runner sets this to ask the operator for the export (None: wait for files to appear)
        self.ask = ask
        self._files = FolderClipSource(self.folder, suffix, recursive=recursive, settle_s=settle_s)
        self.use_folder(self.folder)
        self.last_wait = WaitOutcome()
        self.last_check = ExportCheck()

    def use_folder(self, folder: Path) -> None:
        """Take clips from ``folder`` from now on (the folder the operator entered for this export)."""
        files = self._files
        self.folder = Path(folder)
        self._files = FolderClipSource(self.folder, files.suffix, recursive=files.recursive, settle_s=files.settle_s)
        self._files.origin_kind = "export"
        self._files.origin_details = (("export_folder", str(self.folder)),)

    def describe(self) -> str:
        return f"vendor export folder {self.folder}"

    def handover_prompt(self) -> Prompt | None:
        return Prompt(
            f"export this run's events from the evidence system into a folder and enter the folder "
            f"(the rig file names {self.folder})",
            "value",
            EXPORT_PROMPT_S,
            key="export_folder",
        )

    def handed_over(self, value: str | None) -> None:
        """The folder the operator entered: refused (one line) when it cannot be an export folder."""
        if not value:
            return
        folder = Path(value).expanduser()
        problem = "not an absolute path" if not folder.is_absolute() else None
        if problem is None and self.folder_check is not None:
            problem = self.folder_check(folder)
        if problem is None and not folder.is_dir():
            problem = "no such folder"
        if problem is not None:
            raise ClipSourceError(f"export folder {value!r} entered by the operator: {problem}")
        if folder != self.folder:
            self.use_folder(folder)
            self._entered = True

    def reachable(self) -> bool:
        return False  # the camera's files reach the export only after the scenario

    def snapshot(self) -> frozenset[str]:
        return self._files.snapshot()

    def resolve(self, name: str) -> Path:
        return self._files.resolve(name)

    def take_new(self, before: frozenset[str], evidence_dir: Path) -> list[EvidenceFile]:
        taken = self._files.take_new(before, evidence_dir)
        self.last_wait = self._files.last_wait
        return self._verify(taken, evidence_dir)

    def wait_for_new(
        self,
        before: frozenset[str],
        evidence_dir: Path,
        clock: Clock,
        timeout_s: float,
        progress: Progress | None = None,
    ) -> list[EvidenceFile]:
        """Ask for the export (when the runner gave a way to), wait for its files, take and check them.

        The operator may enter another folder than the rig file's (a fresh one per export): then
        every clip in it is a candidate, and the run's time code decides which are the scenario's.
        """
        if self._entered:  # a folder of its own for this export: the old snapshot does not apply
            before, self._entered = frozenset(), False
        if self.ask is not None:
            answer = self.ask(
                f"export this run's events from the evidence system into a folder and enter it (default: {self.folder})"
            )
            if answer is not None and Path(answer) != self.folder:
                self.use_folder(Path(answer))
                before = frozenset()
        taken = self._files.wait_for_new(before, evidence_dir, clock, timeout_s, progress)
        self.last_wait = self._files.last_wait
        return self._verify(taken, evidence_dir)

    # -- the manifest ----------------------------------------------------------------------------
    def _manifest_name(self) -> str | None:
        """The newest regular file at the top of the export whose name fits the manifest's (links skipped)."""
        assert self.manifest is not None
        try:
            root = open_dir(self.folder)
        except OSError:
            return None
        try:
            found = []
            for name in os.listdir(root):
                if not fnmatch.fnmatch(name, self.manifest.name):
                    continue
                st = os.stat(name, dir_fd=root, follow_symlinks=False)
                if stat.S_ISREG(st.st_mode):
                    found.append((st.st_mtime_ns, name))
        finally:
            os.close(root)
        return max(found)[1] if found else None

    def _verify(self, taken: list[EvidenceFile], evidence_dir: Path) -> list[EvidenceFile]:
        check = ExportCheck()
        self.last_check = check
        if self.manifest is None:
            return taken
        name = self._manifest_name()
        if name is None:
            check.problem = (
                f"no export manifest named {self.manifest.name!r} in {self.folder}: clip hashes not verified"
            )
            self.last_wait.untaken.append(check.problem)
            return taken
        check.manifest = name
        try:
            copy = self._files.fetch(name, evidence_dir)  # kept with the evidence, hashed like a clip
            entries = MANIFEST_FORMATS[self.manifest.format](copy.path.read_text(encoding="utf-8-sig"), name)
        except (EvidenceError, ManifestError, UnicodeDecodeError) as exc:
            check.problem = f"export manifest {name}: {exc}"
            self.last_wait.untaken.append(check.problem)
            return taken
        by_name = {e.name: e for e in entries}
        by_hash: dict[str, list[ManifestEntry]] = {}
        for e in entries:
            by_hash.setdefault(e.sha256, []).append(e)
        out: list[EvidenceFile] = []
        used: set[str] = set()
        for ev in taken:
            rel = ev.camera_path or ev.path.name
            entry = by_name.get(rel)
            finding = None
            if entry is not None:
                used.add(entry.name)
                if entry.sha256 != ev.sha256:
                    finding = f"{HASH_MISMATCH}: {name} line {entry.line} gives {entry.sha256[:12]}..., the file is {ev.sha256[:12]}..."
                    check.mismatched.append(rel)
            else:
                same = [e for e in by_hash.get(ev.sha256, []) if e.name != rel]
                if same:
                    entry = same[0]
                    used.add(entry.name)
                    finding = f"{RENAMED}: {name} line {entry.line} lists it as {entry.name!r}"
                    check.renamed.append(rel)
                else:
                    finding = f"{NOT_IN_MANIFEST}: {name} does not list it"
                    check.unlisted.append(rel)
            extra = (("manifest", name),) + (
                (("manifest_line", str(entry.line)), ("manifest_entry", entry.text)) if entry is not None else ()
            )
            origin = ev.origin
            if origin is not None:
                origin = dataclasses.replace(origin, details=origin.details + extra)
            out.append(dataclasses.replace(ev, origin=origin, finding=_join(ev.finding, finding)))
        present = self._present()
        for e in entries:
            if e.name not in used and e.name not in present:
                check.missing.append(e.name)
                self.last_wait.untaken.append(f"{e.name!r}: listed in {name} line {e.line} but not in the export")
        return out

    def _present(self) -> set[str]:
        """Names of the regular files in the export (any suffix), relative to it."""
        try:
            root = open_dir(self.folder)
        except OSError:
            return set()
        try:
            return {rel for rel, st in walk_fd(root) if stat.S_ISREG(st.st_mode)}
        finally:
            os.close(root)


def _join(a: str | None, b: str | None) -> str | None:
    return "; ".join(x for x in (a, b) if x) or None
