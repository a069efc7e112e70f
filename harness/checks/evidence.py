"""BWC-EVD-01, measured in every scenario that takes clips: the chain of custody of its evidence.

The harness hashes each clip while copying it in and keeps the copy read-only; this check proves
it did, at the end of the scenario: every clip has the SHA-256 taken at ingest, no evidence file
can be written, re-hashing finds every file unchanged, and no clip changed while it was copied.

Each count's limit is a figure of BWC-EVD-01 in the requirement catalogue (none allowed).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from harness.checks.common import CheckInput
from harness.core.evidence import CHANGED_MARK, NOFOLLOW, NONBLOCK, sha256_fd
from harness.core.measurement import Declared, Measurement

REQUIREMENT = "BWC-EVD-01"
UNHASHED = Declared("evidence_not_hashed_at_ingest", "files", REQUIREMENT, "catalogue")
WRITABLE = Declared("evidence_writable", "files", REQUIREMENT, "catalogue")
CHANGED = Declared("evidence_changed", "files", REQUIREMENT, "catalogue")
CHANGED_DURING_COPY = Declared("evidence_changed_during_copy", "files", REQUIREMENT, "catalogue")
MEASUREMENTS = (UNHASHED, WRITABLE, CHANGED, CHANGED_DURING_COPY)


def _rehash(path: Path) -> tuple[str | None, int | None, str]:
    """(SHA-256 now, st_mode, why not) of the evidence file, never through a link."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | NONBLOCK)
    except OSError as exc:
        return None, None, exc.strerror or str(exc)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, st.st_mode, "not a regular file"
        return sha256_fd(fd), st.st_mode, ""
    except OSError as exc:
        return None, None, exc.strerror or str(exc)
    finally:
        os.close(fd)


def evidence(inp: CheckInput) -> list[Measurement]:
    """Hashed at ingest, read-only, unchanged at the end of the scenario, not changed while copied."""
    clips = inp.clips
    unhashed, writable, changed, during = [], [], [], []
    for clip in clips:
        path = Path(clip.path)
        if not clip.sha256:
            unhashed.append(path.name)
        if CHANGED_MARK in path.name:
            during.append(path.name)
        now, mode, why = _rehash(path)
        if now is None:
            changed.append(f"{path.name}: {why}")
        elif clip.sha256 and now != clip.sha256:
            changed.append(f"{path.name}: SHA-256 {clip.sha256[:12]}... at ingest, {now[:12]}... now")
        if mode is not None and mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            writable.append(f"{path.name} ({stat.filemode(mode)})")
    n = len(clips)

    def bounds(figure: str) -> tuple[float | None, float | None]:
        return inp.limits.bounds(REQUIREMENT, figure, "files")

    return [
        UNHASHED(
            len(unhashed),
            *bounds("unhashed"),
            note="; ".join(unhashed) or f"all {n} clip(s) hashed (SHA-256) as they were taken in",
        ),
        WRITABLE(len(writable), *bounds("writable"), note="; ".join(writable) or f"all {n} evidence file(s) read-only"),
        CHANGED(
            len(changed),
            *bounds("changed"),
            note="; ".join(changed) or f"all {n} evidence file(s) re-hashed at the end of the scenario: unchanged",
        ),
        CHANGED_DURING_COPY(
            len(during),
            *bounds("changed_during_copy"),
            note="; ".join(during) or "no clip changed on the camera while it was copied",
        ),
    ]
