"""``bwc verify-evidence``: check a run folder against the manifests its report wrote.

The manifest (``manifest.sha256``, see :mod:`harness.report.manifest`) fixes the hash of every clip,
of the run record and of every other file of the run when the report was made; ``report.sha256``
fixes the report's own files. Re-hashing later proves the evidence still is what was measured; any
file that changed, vanished, or appeared anywhere in the run folder is named, because each of those
breaks the chain from measurement to clip.

The folder is read as hostile input: nothing outside it is opened (a manifest line with ``..`` or
an absolute path is a finding), no link is followed at any component (a clip replaced by a link to
a copy elsewhere is a finding), a FIFO or device is never opened, and every problem, a manifest
line that cannot be read included, is a finding rather than an error.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.core.evidence import EvidenceError, open_below, open_dir, safe_parts, sha256_fd, walk_fd
from harness.report.manifest import MANIFEST_NAME, REPORT_SUMS_NAME

LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")

Status = Literal["intact", "changed", "vanished", "appeared", "link", "special", "outside", "unreadable", "malformed"]


class ManifestError(ValueError):
    """No usable manifest at all: the message names the file and why."""


@dataclass(frozen=True)
class Finding:
    path: str  # as the manifest names it (relative to the manifest's folder)
    status: Status
    expected: str | None  # SHA-256 in the manifest
    actual: str | None  # SHA-256 now
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "intact"


def _printable(text: str) -> str:
    """A name as it can be shown on one line: control characters and undecodable bytes escaped."""
    return (
        text.encode("utf-8", "backslashreplace").decode("utf-8").encode("unicode_escape").decode("ascii")
        if any(ord(c) < 32 or 0xDC80 <= ord(c) <= 0xDCFF for c in text)
        else text
    )


def parse_manifest(data: bytes, name: str) -> tuple[list[tuple[str, str]], list[Finding]]:
    """(sha256, relative path) per good line, and a ``malformed`` finding per line that is not
    ``sha256sum`` format or not UTF-8."""
    entries: list[tuple[str, str]] = []
    bad: list[Finding] = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(Finding(f"{name}:{number}", "malformed", None, None, "line is not UTF-8"))
            continue
        match = LINE.match(line)
        if match is None:
            bad.append(
                Finding(f"{name}:{number}", "malformed", None, None, f"not '<sha256>  <path>': {_printable(line[:80])}")
            )
            continue
        entries.append((match.group(1).lower(), match.group(2)))
    return entries, bad


def read_manifest(manifest: Path) -> list[tuple[str, str]]:
    """(sha256, relative path) per line; a line that is not ``sha256sum`` format is an error."""
    try:
        data = manifest.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{manifest}: cannot read the evidence manifest ({exc.strerror or exc})") from exc
    entries, bad = parse_manifest(data, manifest.name)
    if bad:
        raise ManifestError(f"{manifest}: line {bad[0].path.rpartition(':')[2]} {bad[0].detail}")
    if not entries:
        raise ManifestError(f"{manifest}: the evidence manifest lists no file")
    return entries


def _read_list(root_fd: int, name: str, required: bool) -> tuple[list[tuple[str, str]], list[Finding]]:
    """A manifest in the run folder, opened like any other file of it (no link, no FIFO)."""
    try:
        fd = open_below(root_fd, [name])
    except FileNotFoundError:
        if required:
            raise ManifestError(f"{name}: cannot read the evidence manifest (no such file)") from None
        return [], []
    except EvidenceError as exc:
        if required:
            raise ManifestError(f"{name}: cannot read the evidence manifest ({exc})") from None
        return [], [Finding(name, "link" if "link" in str(exc) else "special", None, None, str(exc))]
    except OSError as exc:
        if required:
            raise ManifestError(f"{name}: cannot read the evidence manifest ({exc.strerror or exc})") from None
        return [], [Finding(name, "unreadable", None, None, exc.strerror or str(exc))]
    try:
        with os.fdopen(fd, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        if required:
            raise ManifestError(f"{name}: cannot read the evidence manifest ({exc.strerror or exc})") from None
        return [], [Finding(name, "unreadable", None, None, exc.strerror or str(exc))]
    entries, bad = parse_manifest(data, name)
    if required and not entries and not bad:
        raise ManifestError(f"{name}: the evidence manifest lists no file")
    return entries, bad


def _check(root_fd: int, name: str, expected: str) -> Finding:
    try:
        parts = safe_parts(name)
    except EvidenceError:
        return Finding(_printable(name), "outside", expected, None, "the name leads out of the run folder")
    try:
        fd = open_below(root_fd, parts)
    except FileNotFoundError:
        return Finding(name, "vanished", expected, None)
    except EvidenceError as exc:
        return Finding(name, "link" if "link" in str(exc) else "special", expected, None, str(exc))
    except OSError as exc:
        return Finding(name, "unreadable", expected, None, exc.strerror or str(exc))
    try:
        actual = sha256_fd(fd)
    except OSError as exc:
        return Finding(name, "unreadable", expected, None, exc.strerror or str(exc))
    finally:
        os.close(fd)
    return Finding(name, "intact" if actual == expected else "changed", expected, actual)


def verify_evidence(folder: Path | str) -> list[Finding]:
    """Every file listed in ``manifest.sha256`` and ``report.sha256`` of ``folder`` (or of the
    manifest's folder, if ``folder`` is the manifest file), then every other entry of the folder.

    Raises :class:`ManifestError` only when there is no usable manifest at all.
    """
    folder = Path(folder)
    manifest_name = MANIFEST_NAME
    if folder.is_file():
        folder, manifest_name = folder.parent, folder.name
    try:
        root = open_dir(folder)
    except OSError as exc:
        raise ManifestError(f"{folder}: cannot open the run folder ({exc.strerror or exc})") from exc
    try:
        try:
            entries, findings = _read_list(root, manifest_name, required=True)
        except ManifestError as exc:
            raise ManifestError(f"{folder / manifest_name}: {str(exc).partition(': ')[2]}") from None
        more, bad = _read_list(root, REPORT_SUMS_NAME, required=False)
        findings += bad
        checked: set[str] = {manifest_name, REPORT_SUMS_NAME}
        for expected, name in [*entries, *more]:
            if name in checked and name != manifest_name:
                continue
            checked.add(name)
            findings.append(_check(root, name, expected))
        for rel, st in walk_fd(root):
            if rel in checked:
                continue
            mode = st.st_mode
            shown = _printable(rel)
            if stat.S_ISLNK(mode):
                findings.append(Finding(shown, "link", None, None, "a symbolic link appeared in the run folder"))
            elif stat.S_ISDIR(mode):
                continue
            elif not stat.S_ISREG(mode):
                findings.append(Finding(shown, "special", None, None, "not a regular file (FIFO, device or socket)"))
            else:
                findings.append(Finding(shown, "appeared", None, _hash_quietly(root, rel)))
    finally:
        os.close(root)
    return findings


def _hash_quietly(root_fd: int, rel: str) -> str | None:
    try:
        fd = open_below(root_fd, safe_parts(rel))
    except (EvidenceError, OSError):
        return None
    try:
        return sha256_fd(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
