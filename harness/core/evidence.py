"""Evidence files: every clip is hashed the moment it is taken in, and kept read-only.

The copy is read through one file descriptor opened without following links and hashed while
it is copied, so the hash is of exactly the bytes stored, and a link planted on the camera's
storage can never make the harness read (or overwrite) a file elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20


class EvidenceError(ValueError):
    """A source file that must not be taken in (a link, not a regular file, a name that escapes)."""


def sha256_file(path: Path, chunk: int = CHUNK) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class EvidenceFile:
    path: Path
    sha256: str
    source: str


def safe_name(name: str) -> str:
    """``name`` if it is one plain file name; refuses separators, '.', '..', NUL and control characters."""
    if (not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name
            or any(ord(c) < 32 for c in name)):
        raise EvidenceError(f"refusing file name {name!r}: not a plain file name")
    return name


def ingest(source: Path, evidence_dir: Path, name: str | None = None) -> EvidenceFile:
    """Copy ``source`` into ``evidence_dir`` as ``name`` (default: its own name), read-only, hashed on the way.

    Refuses a source that is a symbolic link or not a regular file, and a name that is not a
    plain file name. An earlier copy of the same name (a re-run into the same folder) is replaced.
    """
    target_name = safe_name(name if name is not None else Path(source).name)
    evidence_dir.mkdir(parents=True, exist_ok=True)
    target = evidence_dir / target_name
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if Path(source).is_symlink():
            raise EvidenceError(f"refusing {source}: it is a symbolic link") from exc
        raise
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            raise EvidenceError(f"refusing {source}: not a regular file")
        if target.is_symlink() or target.exists():
            target.unlink()  # unlinking needs the folder's write bit, not the file's
        digest = hashlib.sha256()
        out_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(out_fd, "wb") as dst:
            while block := src.read(CHUNK):
                digest.update(block)
                dst.write(block)
            dst.flush()
            os.fsync(dst.fileno())
    os.chmod(target, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return EvidenceFile(path=target, sha256=digest.hexdigest(), source=str(source))
