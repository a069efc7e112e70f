"""Evidence files: every clip is hashed the moment it is taken in, and kept read-only.

The copy is read through file descriptors only: the source folder is opened once, every
component below it is opened relative to its parent with ``O_NOFOLLOW``, and the clip is read
from the descriptor that was checked. No path is resolved again between the check and the
read, so neither a link planted on the camera's storage nor a folder swapped for a link while
the copy runs can make the harness read (or overwrite) a file elsewhere.

The clip is hashed while it is copied, and read once more afterwards: a source whose size, time
stamp or content changed during the copy is kept under a name that says so and marked
``clip_changed_during_copy`` (the copy matches neither the before nor the after state).

Every file the harness writes goes to a temporary name first and is renamed into place
(:func:`write_atomic`), so a full disk or a crash never leaves a half-written file under its
real name.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)
DIRECTORY = getattr(os, "O_DIRECTORY", 0)
CHANGED_DURING_COPY = "clip_changed_during_copy"
CHANGED_MARK = ".changed-during-copy"

#: errors that mean the harness's own output cannot be written (not a fault of the camera): the run stops
OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})

_UMASK = os.umask(0o22)
os.umask(_UMASK)

#: called after every chunk copied (bytes copied so far); a test uses it to change the source mid-copy
ChunkHook = Callable[[int], None]


class EvidenceError(ValueError):
    """A source file that must not be taken in (a link, not a regular file, a name that escapes)."""


def sha256_file(path: Path, chunk: int = CHUNK) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_fd(fd: int, chunk: int = CHUNK) -> str:
    """SHA-256 of the whole file behind ``fd``, read with ``pread`` (the descriptor's offset is left alone)."""
    digest = hashlib.sha256()
    offset = 0
    while block := os.pread(fd, chunk, offset):
        digest.update(block)
        offset += len(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Provenance:
    """Where one evidence file came from and when it was taken, as the clip source saw it.

    ``kind`` names the source (``folder``, ``mass_storage``, ``mtp``, ``export``); ``path`` is the
    file's path on the device or in the export; ``details`` are the source's own facts (device
    node, volume label, UUID and USB serial; MTP device, storage and object id; export folder and
    manifest line), kept as ordered pairs so the record reads the same on every run.
    """

    kind: str
    path: str
    taken_utc: str  # ISO 8601, when the harness copied the file
    details: tuple[tuple[str, str], ...] = ()

    def record(self) -> dict[str, str]:
        """The JSON form in record.json and evidence-map.json."""
        return {"kind": self.kind, "path": self.path, "taken_utc": self.taken_utc, **dict(self.details)}


@dataclass(frozen=True)
class EvidenceFile:
    path: Path
    sha256: str
    source: str
    #: camera-side path relative to the clip folder ('/'-separated), when taken from a folder
    camera_path: str | None = None
    #: what went wrong while it was taken (e.g. ``clip_changed_during_copy``); None when clean
    finding: str | None = None
    #: where the file came from (device, volume, MTP object, export and manifest line) and when
    origin: Provenance | None = None


def safe_name(name: str) -> str:
    """``name`` if it is one plain file name; refuses separators, '.', '..', NUL and control characters."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        raise EvidenceError(f"refusing file name {name!r}: not a plain file name")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise EvidenceError(f"refusing file name {name!r}: not valid UTF-8") from None
    return name


def safe_parts(rel: str) -> list[str]:
    """The parts of a '/'-separated relative name, each a plain file name (no '..', no absolute path)."""
    if rel.startswith(("/", "\\")):
        raise EvidenceError(f"refusing name {rel!r}: it is absolute")
    return [safe_name(p) for p in rel.replace("\\", "/").split("/")]


# -- reading through descriptors ----------------------------------------------------------------
def open_dir(folder: Path | str) -> int:
    """A descriptor of ``folder`` (the folder itself may be reached through a link the operator made)."""
    return os.open(folder, os.O_RDONLY | DIRECTORY)


def open_below(root_fd: int, parts: list[str], directory: bool = False) -> int:
    """Open ``parts`` below ``root_fd`` one component at a time, never following a link.

    Raises :class:`EvidenceError` when a component is a link (or, for the last, not a regular
    file / not a folder); the descriptor returned is the one whose type was checked.
    """
    fd = os.dup(root_fd)
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            flags = os.O_RDONLY | NOFOLLOW | NONBLOCK | (DIRECTORY if (not last or directory) else 0)
            try:
                nxt = os.open(part, flags, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.EMLINK) or (exc.errno == errno.ENOTDIR and _is_link(fd, part)):
                    raise EvidenceError(f"{'/'.join(parts[: i + 1])} is a symbolic link, not followed") from None
                if exc.errno == errno.ENOTDIR:
                    raise EvidenceError(f"{'/'.join(parts[: i + 1])} is not a folder") from None
                raise
            os.close(fd)
            fd = nxt
        mode = os.fstat(fd).st_mode
        if directory and not stat.S_ISDIR(mode):
            raise EvidenceError(f"{'/'.join(parts)} is not a folder")
        if not directory and not stat.S_ISREG(mode):
            raise EvidenceError(f"{'/'.join(parts)} is not a regular file")
        return fd
    except BaseException:
        os.close(fd)
        raise


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def walk_fd(root_fd: int) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry below ``root_fd`` as ('/'-separated relative name, lstat), links not followed.

    Folders are entered through descriptors opened with ``O_NOFOLLOW``, so a folder swapped for
    a link while the walk runs is never entered; unreadable folders are skipped.
    """
    pending: list[tuple[str, int]] = [("", os.dup(root_fd))]
    while pending:
        rel_dir, fd = pending.pop()
        try:
            try:
                names = sorted(os.listdir(fd))
            except OSError:
                continue
            for name in names:
                rel = f"{rel_dir}/{name}" if rel_dir else name
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except OSError:
                    continue
                yield rel, st
                if stat.S_ISDIR(st.st_mode):
                    try:
                        sub = os.open(name, os.O_RDONLY | NOFOLLOW | DIRECTORY, dir_fd=fd)
                    except OSError:
                        continue
                    pending.append((rel, sub))
        finally:
            os.close(fd)


# -- writing ------------------------------------------------------------------------------------
def output_failure(exc: BaseException | None) -> str | None:
    """Why the run must stop, if ``exc`` (or what caused it) says the output folder cannot be
    written (a full disk, a read-only file system); None for any other error."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRNOS:
            where = f" ({exc.filename})" if exc.filename else ""
            return f"{exc.strerror or os.strerror(exc.errno or 0)}{where}"
        exc = exc.__cause__ or exc.__context__
    return None


def write_atomic(path: Path, data: bytes | str, mode: int | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place.

    A failure at any point (a full disk, a killed process) leaves the previous file whole and
    no temporary file behind. ``mode`` (e.g. 0o444) is set before the rename.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_UMASK)  # mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _target(evidence_dir: Path, parts: list[str]) -> Path:
    target = evidence_dir.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _changed_name(name: str) -> str:
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}{CHANGED_MARK}.{suffix}" if dot and stem else f"{name}{CHANGED_MARK}"


def _read(fd: int, offset: int, source: str) -> bytes:
    """A chunk of the source; a read error is the source's fault (an :class:`EvidenceError`), so any
    ``OSError`` leaving :func:`copy_fd` is about the evidence folder (full, read-only)."""
    try:
        return os.pread(fd, CHUNK, offset)
    except OSError as exc:
        raise EvidenceError(f"cannot read {source}: {exc.strerror or exc}") from None


def copy_fd(
    src_fd: int, evidence_dir: Path, rel: str, source: str, chunk_hook: ChunkHook | None = None
) -> EvidenceFile:
    """Copy the open regular file ``src_fd`` to ``evidence_dir/rel``, hashed on the way, then re-check it.

    The copy goes to a temporary name and is renamed into place read-only. After the copy the
    source is stat'ed and hashed again through the same descriptor; if anything changed the copy
    is stored as ``<name>.changed-during-copy.<suffix>`` and the result carries the finding.
    """
    parts = safe_parts(rel)
    before = os.fstat(src_fd)
    target = _target(evidence_dir, parts)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as dst:
            offset = 0
            while block := _read(src_fd, offset, source):
                digest.update(block)
                dst.write(block)
                offset += len(block)
                if chunk_hook is not None:
                    chunk_hook(offset)
            dst.flush()
            os.fsync(dst.fileno())
        copied = digest.hexdigest()
        after = os.fstat(src_fd)
        try:
            again = sha256_fd(src_fd)
        except OSError as exc:
            raise EvidenceError(f"cannot read {source} again: {exc.strerror or exc}") from None
        changed = (
            (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns)
            or offset != after.st_size
            or again != copied
        )
        if changed:
            target = target.with_name(_changed_name(target.name))
        os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        if target.is_symlink() or target.exists():
            target.unlink()  # a re-run into the same folder: unlinking needs the folder's write bit only
        os.rename(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return EvidenceFile(
        path=target, sha256=copied, source=source, camera_path=rel, finding=CHANGED_DURING_COPY if changed else None
    )


def ingest(
    source: Path, evidence_dir: Path, name: str | None = None, chunk_hook: ChunkHook | None = None
) -> EvidenceFile:
    """Copy ``source`` into ``evidence_dir`` as ``name`` (default: its own name), read-only, hashed on the way.

    Refuses a source that is a symbolic link or not a regular file, and a name that is not a
    plain relative name. An earlier copy of the same name (a re-run into the same folder) is replaced.
    """
    source = Path(source)
    rel = name if name is not None else source.name
    safe_parts(rel)
    parent_fd = open_dir(source.parent)
    try:
        src_fd = open_below(parent_fd, [safe_name(source.name)])
    except EvidenceError as exc:
        raise EvidenceError(f"refusing {source}: {exc}") from None
    finally:
        os.close(parent_fd)
    try:
        return copy_fd(src_fd, evidence_dir, rel, str(source), chunk_hook)
    finally:
        os.close(src_fd)
