"""Where a camera's clips come from: its mass storage, or a vendor's export folder."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from harness.evidence import EvidenceFile, ingest


class ClipSource(ABC):
    @abstractmethod
    def snapshot(self) -> frozenset[str]:
        """Identities of the finished clips present now (a rewritten file counts as new)."""

    @abstractmethod
    def take_new(self, before: frozenset[str], evidence_dir: Path) -> list[EvidenceFile]:
        """Copy clips that appeared since ``before`` into the evidence folder, oldest name first."""


class FolderClipSource(ClipSource):
    """A folder the camera writes finished clips into (partial and hidden files are ignored)."""

    def __init__(self, folder: Path, suffix: str = ".mp4") -> None:
        self.folder = Path(folder)
        self.suffix = suffix.lower()

    def _finished(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(
            p
            for p in self.folder.iterdir()
            if p.is_file() and not p.is_symlink() and not p.name.startswith(".") and p.suffix.lower() == self.suffix
        )

    @staticmethod
    def _identity(path: Path) -> str:
        st = path.stat()
        return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"

    def snapshot(self) -> frozenset[str]:
        return frozenset(self._identity(p) for p in self._finished())

    def take_new(self, before: frozenset[str], evidence_dir: Path) -> list[EvidenceFile]:
        return [ingest(p, evidence_dir) for p in self._finished() if self._identity(p) not in before]
