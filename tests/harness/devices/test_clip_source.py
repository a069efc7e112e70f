"""Clip retrieval from a camera's storage folder: new clips, hashes, links, escaping names, partial files."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from harness.core.clock import VirtualClock
from harness.core.evidence import EvidenceError, ingest, safe_name
from harness.devices.clip_source import FolderClipSource


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    folder = tmp_path / "camera" / "DCIM"
    folder.mkdir(parents=True)
    return folder


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_new_clips_are_copied_read_only_with_their_hash(storage: Path, tmp_path: Path) -> None:
    """Only clips that appeared since the snapshot are taken; each copy is read-only and hashed."""
    _write(storage / "OLD.MP4", b"old")
    source = FolderClipSource(storage, ".mp4")
    before = source.snapshot()
    _write(storage / "NEW1.MP4", b"first clip")
    _write(storage / "NEW2.mp4", b"second clip")
    taken = source.take_new(before, tmp_path / "evidence")
    assert [e.path.name for e in taken] == ["NEW1.MP4", "NEW2.mp4"]
    for e, data in zip(taken, (b"first clip", b"second clip")):
        assert e.path.read_bytes() == data
        assert e.sha256 == hashlib.sha256(data).hexdigest()
        assert stat.S_IMODE(e.path.stat().st_mode) == 0o444


def test_links_on_the_storage_are_never_followed(storage: Path, tmp_path: Path) -> None:
    """A link named like a clip, or a linked folder, is skipped: nothing outside the storage is read."""
    secret = _write(tmp_path / "outside" / "secret.mp4", b"not the camera's")
    (storage / "LINK.MP4").symlink_to(secret)
    (storage / "100LINK").symlink_to(secret.parent, target_is_directory=True)
    _write(storage / "100MEDIA" / "CLIP0001.MP4", b"real")
    source = FolderClipSource(storage, ".mp4", recursive=True)
    taken = source.take_new(frozenset(), tmp_path / "evidence")
    assert [e.camera_path for e in taken] == ["100MEDIA/CLIP0001.MP4"]
    with pytest.raises(EvidenceError, match="link"):
        ingest(storage / "LINK.MP4", tmp_path / "evidence")


@pytest.mark.parametrize(
    "name",
    [
        "../outside/secret.mp4",
        "/etc/passwd",
        "100MEDIA/../../x.mp4",
        "",
        ".",
        "a/./b.mp4",
        "LINKDIR/secret.mp4",
        "nul\x00.mp4",
    ],
)
def test_names_that_escape_the_source_are_refused(storage: Path, tmp_path: Path, name: str) -> None:
    """A clip name handed in (e.g. from a vendor export list) cannot lead out of the storage folder."""
    _write(tmp_path / "outside" / "secret.mp4", b"x")
    (storage / "LINKDIR").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(EvidenceError, match="refusing clip name"):
        FolderClipSource(storage).fetch(name, tmp_path / "evidence")
    assert not (tmp_path / "evidence").exists() or not any((tmp_path / "evidence").iterdir())


@pytest.mark.parametrize("name", ["..", "a/b.mp4", "a\\b.mp4", "bell\x07.mp4", ""])
def test_evidence_names_are_plain_file_names(name: str) -> None:
    with pytest.raises(EvidenceError):
        safe_name(name)


def test_ingest_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    with pytest.raises(EvidenceError, match="not a regular file"):
        ingest(fifo, tmp_path / "evidence")


def test_reingest_replaces_an_earlier_read_only_copy(storage: Path, tmp_path: Path) -> None:
    """Re-running into the same output folder replaces the earlier evidence of the same name."""
    clip = _write(storage / "A.MP4", b"one")
    ingest(clip, tmp_path / "evidence")
    clip.write_bytes(b"two")
    again = ingest(clip, tmp_path / "evidence")
    assert again.path.read_bytes() == b"two" and again.sha256 == hashlib.sha256(b"two").hexdigest()


def test_wait_takes_settled_clips_and_leaves_files_still_being_written(storage: Path, tmp_path: Path) -> None:
    """In (virtual) time: a clip finished at 3 s is taken; one still growing past the grace is not;
    a camera's temporary name is ignored; progress is reported along the way."""
    clock = VirtualClock()
    source = FolderClipSource(storage, ".mp4", settle_s=2.0)
    before = source.snapshot()
    clock.call_at(3.0, lambda: _write(storage / "DONE.MP4", b"finished"))
    clock.call_at(1.0, lambda: _write(storage / "NEXT.MP4.partial", b"half"))
    growing = storage / "GROW.MP4"

    def grow() -> None:
        with open(growing, "ab") as fh:
            fh.write(b"x" * 100)
        os.utime(growing, ns=(int(clock.now() * 1e9),) * 2)
        clock.call_later(1.0, grow)

    clock.call_at(4.0, grow)
    seen: list[tuple[float, float, str]] = []
    taken = source.wait_for_new(
        before, tmp_path / "evidence", clock, 5.0, progress=lambda e, t, d: seen.append((e, t, d))
    )
    assert [e.path.name for e in taken] == ["DONE.MP4"]
    assert source.last_wait.timed_out and source.last_wait.still_writing == ["GROW.MP4"]
    assert 10.0 <= clock.now() <= 10.6  # the grace for the growing file is one more timeout
    assert seen[0][1] == 5.0 and "still being written" in seen[-1][2]


def test_wait_returns_after_the_window_when_everything_has_settled(storage: Path, tmp_path: Path) -> None:
    clock = VirtualClock()
    source = FolderClipSource(storage, ".mp4", settle_s=2.0)
    clock.call_at(1.0, lambda: _write(storage / "A.MP4", b"a"))
    taken = source.wait_for_new(frozenset(), tmp_path / "evidence", clock, 10.0)
    assert [e.path.name for e in taken] == ["A.MP4"] and not source.last_wait.timed_out
    assert clock.now() == pytest.approx(10.0)


def test_every_taken_clip_says_where_it_came_from_and_when(storage: Path, tmp_path: Path) -> None:
    """The provenance of a folder's clip: its kind, its path in the folder, the folder, and the time
    it was taken on the run's clock."""
    _write(storage / "100MEDIA" / "CLIP0001.MP4", b"clip")
    source = FolderClipSource(storage, ".mp4", recursive=True, settle_s=0.0)
    clock = VirtualClock()
    (taken,) = source.wait_for_new(frozenset(), tmp_path / "evidence", clock, timeout_s=1.0)
    assert taken.origin is not None
    assert taken.origin.record() == {
        "kind": "folder",
        "path": "100MEDIA/CLIP0001.MP4",
        "taken_utc": clock.utc().isoformat(timespec="milliseconds"),
        "folder": str(storage),
    }
