"""Evidence files: every clip is hashed the moment it is taken in, and kept read-only."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
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


def ingest(source: Path, evidence_dir: Path) -> EvidenceFile:
    """Copy ``source`` into ``evidence_dir`` (read-only) and hash the copy."""
    evidence_dir.mkdir(parents=True, exist_ok=True)
    target = evidence_dir / source.name
    if target.exists():
        target.chmod(stat.S_IRUSR | stat.S_IWUSR)
    shutil.copyfile(source, target)
    os.chmod(target, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return EvidenceFile(path=target, sha256=sha256_file(target), source=str(source))
