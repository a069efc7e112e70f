"""``bwc verify-evidence``: check a run folder against the manifest its report wrote.

The manifest (``manifest.sha256``, see :mod:`harness.report.manifest`) fixes the hash of every clip
and of the run record when the report was made. Re-hashing later proves the evidence still is what
was measured; any file that changed, vanished, or appeared beside the evidence is named, because
each of those breaks the chain from measurement to clip.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.core.evidence import sha256_file
from harness.report.manifest import MANIFEST_NAME

LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")
# written by the harness beside the clips but not evidence of the camera (the display's own log)
SIDE_FILES = frozenset({"display_present_log.csv"})

Status = Literal["intact", "changed", "vanished", "appeared"]


class ManifestError(ValueError):
    """No usable manifest: the message names the file and the line."""


@dataclass(frozen=True)
class Finding:
    path: str  # as the manifest names it (relative to the manifest's folder)
    status: Status
    expected: str | None  # SHA-256 in the manifest
    actual: str | None  # SHA-256 now

    @property
    def ok(self) -> bool:
        return self.status == "intact"


def read_manifest(manifest: Path) -> list[tuple[str, str]]:
    """(sha256, relative path) per line; a line that is not ``sha256sum`` format is an error."""
    try:
        text = manifest.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"{manifest}: cannot read the evidence manifest ({exc.strerror or exc})") from exc
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = LINE.match(line)
        if match is None:
            raise ManifestError(f"{manifest}: line {number} is not '<sha256>  <path>': {line[:80]!r}")
        entries.append((match.group(1).lower(), match.group(2)))
    if not entries:
        raise ManifestError(f"{manifest}: the evidence manifest lists no file")
    return entries


def verify_evidence(folder: Path | str) -> list[Finding]:
    """Every file of the manifest in ``folder`` (or the manifest file itself), then any that appeared.

    Appeared files are looked for in the evidence folders: ``<folder>/evidence`` and every folder
    that holds a listed clip, except the manifest's own folder (reports and records live there).
    """
    folder = Path(folder)
    manifest = folder / MANIFEST_NAME if folder.is_dir() else folder
    base = manifest.parent.resolve()
    findings: list[Finding] = []
    listed: set[Path] = set()
    roots: set[Path] = set()
    for expected, name in read_manifest(manifest):
        path = (base / name).resolve()
        listed.add(path)
        if path.parent != base:
            roots.add(path.parent)
        if not path.is_file():
            findings.append(Finding(name, "vanished", expected, None))
            continue
        actual = sha256_file(path)
        findings.append(Finding(name, "intact" if actual == expected else "changed", expected, actual))
    if (base / "evidence").is_dir():
        roots.add(base / "evidence")
    seen: set[Path] = set()
    for root in sorted(roots):
        for dirpath, _dirs, files in os.walk(root):
            for file in files:
                path = (Path(dirpath) / file).resolve()
                if path in listed or path in seen or file in SIDE_FILES or file.endswith(".tmp"):
                    continue
                seen.add(path)
                findings.append(Finding(Path(os.path.relpath(path, base)).as_posix(), "appeared", None,
                                        sha256_file(path)))
    return findings
