"""Where a camera's clips come from: a folder, its mass storage, MTP, or a vendor's export folder.

Every kind is a :class:`ClipSource` (the kinds besides a plain folder live in
``clip_source_mass_storage``, ``clip_source_mtp`` and ``clip_source_export``), and every
evidence file a source takes carries its :class:`~harness.core.evidence.Provenance`: where it
was on the device and when it was taken.

The camera's storage is input from a device under test, so it is read defensively:

* links are never followed (a link to ``/etc`` or to another evidence folder is skipped, and
  the copy itself is opened with ``O_NOFOLLOW``);
* a name that would lead out of the source folder (absolute, ``..``, through a link) is refused;
* a file still being written is not taken: names a camera or a copy tool uses while writing
  (``.partial``, ``.tmp``, ...) are ignored, and a clip must keep the same size and time stamp
  for ``settle_s`` before it is taken.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from harness.core.clock import Clock, wall_utc
from harness.core.evidence import (
    ChunkHook,
    EvidenceError,
    EvidenceFile,
    Provenance,
    copy_fd,
    open_below,
    open_dir,
    safe_parts,
    walk_fd,
)
from harness.devices.operator import Prompt

log = logging.getLogger(__name__)

#: Suffixes of files that are still being written (cameras, rsync, browsers, copy tools).
PARTIAL_SUFFIXES = (".partial", ".part", ".tmp", ".temp", ".crdownload", ".download", ".filepart")
POLL_S = 0.5

#: progress(elapsed_s, total_s, detail) while waiting for clips
Progress = Callable[[float, float, str], None]


@dataclass
class WaitOutcome:
    """What the last wait for clips saw, for the run's log and report."""

    timed_out: bool = False
    waited_s: float = 0.0
    still_writing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: files that could not be taken (odd name, unreadable, a link on the way): one line each
    untaken: list[str] = field(default_factory=list)


class ClipSourceError(RuntimeError):
    """The source cannot reach the camera's footage (no volume, no MTP device, a tool failed):
    the message is one line that names what was looked for and what was seen."""


@dataclass(frozen=True)
class DeviceIdentity:
    """The camera's serial as the device itself states it, and where it was read."""

    serial: str
    stated_by: str  # e.g. "USB serial of /dev/sdb", "MTP device info"


class ClipSource(ABC):
    """What the runner needs from any way of getting footage off a camera.

    A source may hold a device (a mount, a staging folder): :meth:`close` gives it back and is
    safe to call more than once; a source is also a context manager.
    """

    #: the source also holds footage that is not the run's (a vendor export): the runner keeps only
    #: the clips whose time code shows this run and scenario, and names the rest in findings
    holds_other_footage = False

    @abstractmethod
    def snapshot(self) -> frozenset[str]:
        """Identities of the finished clips present now (a rewritten file counts as new)."""

    @abstractmethod
    def take_new(self, before: frozenset[str], evidence_dir: Path) -> list[EvidenceFile]:
        """Copy clips that appeared since ``before`` into the evidence folder, oldest name first."""

    @abstractmethod
    def resolve(self, name: str) -> Path:
        """The local file a clip name of :meth:`snapshot` stands for (to hash a clip before it is
        taken, e.g. at a power cut), refusing any name that leads out of the source."""

    def describe(self) -> str:
        """Where the clips come from, for messages that must name the camera's storage."""
        return type(self).__name__

    def handover_prompt(self) -> Prompt | None:
        """What the operator must do before the clips can be collected (connect the camera, export
        its events), asked by the runner through the rig's operator; None: nothing."""
        return None

    def handed_over(self, value: str | None) -> None:  # noqa: B027 (nothing to do for most sources)
        """The operator's answer to :meth:`handover_prompt` (a value prompt's value, else None)."""

    def reachable(self) -> bool:
        """Whether the camera's files can be read while a scenario's steps run (False: only when
        the clips are collected, as from a vendor export or a camera connected only then)."""
        return True

    def device_identity(self) -> DeviceIdentity | None:
        """The serial the device states (None: this kind of source cannot know it)."""
        return None

    def close(self) -> None:  # noqa: B027 (a plain folder holds nothing)
        """Give back what the source holds (unmount a volume it mounted, drop staged copies)."""

    def __enter__(self) -> ClipSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def wait_for_new(
        self,
        before: frozenset[str],
        evidence_dir: Path,
        clock: Clock,
        timeout_s: float,
        progress: Progress | None = None,
    ) -> list[EvidenceFile]:
        """Wait ``timeout_s`` for clips, then take the new ones (sources without a notion of settling)."""
        clock.sleep(timeout_s)
        return self.take_new(before, evidence_dir)


def taken_utc(clock: Clock | None) -> str:
    """The time a file is taken, ISO 8601 UTC: on the run's clock when there is one."""
    return (clock.utc() if clock is not None else wall_utc()).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class _Entry:
    rel: str  # path relative to the source folder, '/'-separated
    size: int
    mtime_ns: int

    @property
    def identity(self) -> str:
        return f"{self.rel}:{self.size}:{self.mtime_ns}"


def identity_rel(identity: str) -> str:
    """The relative path of a file from its snapshot identity (what :meth:`_Entry.identity` made)."""
    return identity.rsplit(":", 2)[0]


class FolderClipSource(ClipSource):
    """A folder the camera writes clips into (mounted mass storage, or a vendor export folder).

    ``recursive`` walks sub-folders (``DCIM/100MEDIA/...``); links, hidden and partial files are
    skipped. A clip from a sub-folder is stored in the evidence folder under its relative path
    with ``/`` replaced by ``_``.
    """

    def __init__(self, folder: Path, suffix: str = ".mp4", recursive: bool = False, settle_s: float = 2.0) -> None:
        self.folder = Path(folder)
        self.suffix = suffix.lower()
        self.recursive = recursive
        self.settle_s = settle_s
        self.last_wait = WaitOutcome()
        #: called after every chunk copied (tests change a clip mid-copy through it)
        self.chunk_hook: ChunkHook | None = None
        #: how each taken file's provenance names its source (a mass-storage source sets its own)
        self.origin_kind = "folder"
        self.origin_prefix = ""  # put before the relative name to give the path on the device
        self.origin_details: tuple[tuple[str, str], ...] = (("folder", str(self.folder)),)
        self.clock: Clock | None = None  # the run's clock, for the time a file was taken (None: wall time)

    def describe(self) -> str:
        return str(self.folder)

    # -- listing ---------------------------------------------------------------------------
    def _wanted(self, name: str) -> bool:
        low = name.lower()
        return not name.startswith(".") and low.endswith(self.suffix) and not low.endswith(PARTIAL_SUFFIXES)

    def _scan(self, skipped: list[str] | None = None) -> list[_Entry]:
        """Regular files of the clip suffix, never through a link, sorted by relative path.

        The walk goes through folder descriptors opened without following links, so a folder
        swapped for a link while it runs is never entered.
        """
        out: list[_Entry] = []
        try:
            root = open_dir(self.folder)
        except OSError:
            return out  # storage unmounted or folder vanished: nothing to take now
        try:
            if self.recursive:
                entries = list(walk_fd(root))
            else:
                entries = []
                for name in sorted(os.listdir(root)):
                    try:
                        entries.append((name, os.stat(name, dir_fd=root, follow_symlinks=False)))
                    except OSError:
                        continue
        except OSError:
            return out
        finally:
            os.close(root)
        hidden_dirs: list[str] = []
        for rel, st in entries:
            name = rel.rpartition("/")[2]
            if any(rel.startswith(h + "/") for h in hidden_dirs):
                continue
            if stat.S_ISLNK(st.st_mode):
                if skipped is not None and (name.lower().endswith(self.suffix) or self.recursive):
                    skipped.append(f"{rel}: symbolic link, not followed")
            elif stat.S_ISDIR(st.st_mode):
                if name.startswith("."):
                    hidden_dirs.append(rel)
            elif stat.S_ISREG(st.st_mode) and self._wanted(name):
                out.append(_Entry(rel, st.st_size, st.st_mtime_ns))
        return sorted(out, key=lambda e: e.rel)

    def _finished(self) -> list[Path]:
        return [self.folder / e.rel for e in self._scan()]

    def snapshot(self) -> frozenset[str]:
        return frozenset(e.identity for e in self._scan())

    # -- taking clips ----------------------------------------------------------------------
    def resolve(self, name: str) -> Path:
        """The file ``name`` (relative to the source) names, refusing any name that leads out of it.

        Refused: absolute names, ``..`` parts, empty parts, and any part that is a link (so a
        link inside the source cannot be used to reach outside it either).
        """
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or any(p in ("", ".", "..") for p in parts) or "\x00" in name:
            raise EvidenceError(f"refusing clip name {name!r}: it leads out of {self.folder}")
        path = self.folder
        for part in parts:
            path = path / part
            if path.is_symlink():
                raise EvidenceError(f"refusing clip name {name!r}: {path} is a link")
        root = os.path.realpath(self.folder)
        if os.path.commonpath([root, os.path.realpath(path)]) != root:
            raise EvidenceError(f"refusing clip name {name!r}: it resolves outside {self.folder}")
        return path

    def fetch(self, name: str, evidence_dir: Path) -> EvidenceFile:
        """Take one named clip (e.g. listed by a vendor's export manifest), kept under the same relative name.

        The clip is opened component by component through descriptors, never following a link,
        and copied from the descriptor that was checked (see :mod:`harness.core.evidence`).
        """
        rel = name.replace("\\", "/")
        try:
            parts = safe_parts(rel)
        except EvidenceError:
            raise EvidenceError(f"refusing clip name {name!r}: it leads out of {self.folder}") from None
        try:
            root = open_dir(self.folder)
        except OSError as exc:
            raise EvidenceError(f"cannot open {self.folder}: {exc.strerror or exc}") from None
        try:
            try:
                src = open_below(root, parts)
            except EvidenceError as exc:
                raise EvidenceError(f"refusing clip name {name!r}: {exc}") from None
            except OSError as exc:  # a camera file that cannot be opened is the camera's problem, not the run's
                raise EvidenceError(f"cannot open clip {name!r}: {exc.strerror or exc}") from None
        finally:
            os.close(root)
        try:
            taken = copy_fd(src, evidence_dir, rel, str(self.folder / rel), self.chunk_hook)
        finally:
            os.close(src)
        return dataclasses.replace(taken, origin=self.origin(rel))

    def origin(self, rel: str, *extra: tuple[str, str]) -> Provenance:
        """The provenance of the file ``rel`` of this folder, taken now."""
        return Provenance(
            self.origin_kind, self.origin_prefix + rel, taken_utc(self.clock), self.origin_details + extra
        )

    def take(self, rels: list[str], evidence_dir: Path, untaken: list[str] | None = None) -> list[EvidenceFile]:
        """Take each of ``rels``; one that cannot be taken (odd name, unreadable, a link on the way,
        vanished) is named in ``untaken`` and logged, and the others are still taken. An error
        writing the evidence folder (a full disk) is not the camera's and is raised."""
        taken = []
        for rel in rels:
            try:
                taken.append(self.fetch(rel, evidence_dir))
            except EvidenceError as exc:  # an OSError here is the evidence folder's: the run must stop
                line = f"{rel!r}: not taken ({exc})"
                log.warning("%s: %s", self.folder, line)
                if untaken is not None:
                    untaken.append(line)
        return taken

    def take_new(self, before: frozenset[str], evidence_dir: Path) -> list[EvidenceFile]:
        untaken: list[str] = []
        taken = self.take([e.rel for e in self._scan() if e.identity not in before], evidence_dir, untaken)
        self.last_wait = WaitOutcome(untaken=untaken)
        return taken

    def wait_for_new(
        self,
        before: frozenset[str],
        evidence_dir: Path,
        clock: Clock,
        timeout_s: float,
        progress: Progress | None = None,
    ) -> list[EvidenceFile]:
        """Watch the folder for ``timeout_s``, then take every new clip that has stopped changing.

        A clip still growing when the time is up gets up to ``timeout_s`` more to settle; one
        that never settles is left out and named in :attr:`last_wait` (a partial file).
        """
        self.clock = clock
        start = clock.now()
        seen: dict[str, tuple[int, int, float]] = {}  # rel -> (size, mtime, since)
        outcome = WaitOutcome()
        while True:
            now = clock.now()
            skipped: list[str] = []
            current = {e.rel: e for e in self._scan(skipped) if e.identity not in before}
            for rel, e in current.items():
                if seen.get(rel, (None, None, 0.0))[:2] != (e.size, e.mtime_ns):
                    seen[rel] = (e.size, e.mtime_ns, now)
            for rel in list(seen):
                if rel not in current:
                    del seen[rel]
            writing = sorted(rel for rel, (_, _, since) in seen.items() if now - since < self.settle_s)
            elapsed = now - start
            if progress is not None:
                progress(
                    elapsed,
                    timeout_s,
                    f"{len(seen) - len(writing)} clip(s) ready"
                    + (f", {len(writing)} still being written" if writing else ""),
                )
            if elapsed >= timeout_s and (not writing or elapsed >= 2 * timeout_s):
                outcome.timed_out = bool(writing)
                outcome.still_writing = writing
                outcome.skipped = skipped
                break
            clock.sleep(POLL_S)
        outcome.waited_s = clock.now() - start
        self.last_wait = outcome
        for rel in outcome.still_writing:
            log.warning("%s: %s was still being written after %.0f s; not taken", self.folder, rel, outcome.waited_s)
        for note in outcome.skipped:
            log.warning("%s: %s", self.folder, note)
        ready = [rel for rel in sorted(seen) if rel not in outcome.still_writing]
        return self.take(ready, evidence_dir, outcome.untaken)
