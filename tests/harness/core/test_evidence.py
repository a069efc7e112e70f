"""Evidence copies: re-checked source, atomic writes, nothing read through a link, even mid-race."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from harness.core.evidence import CHANGED_DURING_COPY, CHUNK, EvidenceError, ingest, open_below, open_dir, write_atomic
from harness.devices.clip_source import FolderClipSource


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_clip_changed_during_the_copy_is_a_finding_and_kept_under_a_marked_name(tmp_path: Path) -> None:
    """A writer changes the clip after the first chunk: neither before nor after state was copied."""
    clip = tmp_path / "cam" / "CLIP0001.MP4"
    clip.parent.mkdir()
    original = os.urandom(3 * CHUNK + 17)
    clip.write_bytes(original)

    def writer(copied: int) -> None:
        if copied == CHUNK:  # once, after the first chunk: append like a camera still writing
            with open(clip, "ab") as fh:
                fh.write(b"more frames")

    got = ingest(clip, tmp_path / "evidence", chunk_hook=writer)
    assert got.finding == CHANGED_DURING_COPY
    assert got.path.name == "CLIP0001.changed-during-copy.MP4"
    assert not (tmp_path / "evidence" / "CLIP0001.MP4").exists()
    assert got.sha256 == _sha(got.path.read_bytes())  # the hash is of the bytes kept


def test_clip_rewritten_in_place_during_the_copy_is_caught(tmp_path: Path) -> None:
    clip = tmp_path / "CLIP0002.MP4"
    clip.write_bytes(b"a" * (2 * CHUNK))

    def writer(copied: int) -> None:
        if copied == CHUNK:  # same size: only the second hash can tell
            with open(clip, "r+b") as fh:
                fh.write(b"b" * 16)
            os.utime(clip, ns=(0, 0))

    assert ingest(clip, tmp_path / "ev", chunk_hook=writer).finding == CHANGED_DURING_COPY


def test_a_clean_copy_has_no_finding_and_is_read_only(tmp_path: Path) -> None:
    clip = tmp_path / "CLIP0003.MP4"
    clip.write_bytes(b"frames" * 1000)
    got = ingest(clip, tmp_path / "ev")
    assert got.finding is None and got.sha256 == _sha(clip.read_bytes())
    assert not os.access(got.path, os.W_OK) or os.geteuid() == 0
    assert oct(got.path.stat().st_mode & 0o777) == "0o444"
    assert not [p for p in (tmp_path / "ev").iterdir() if p.name.endswith(".tmp")]


def test_two_camera_names_never_become_one_evidence_file(tmp_path: Path) -> None:
    """``DCIM/a.mp4`` and ``DCIM_a.mp4`` used to meet as ``DCIM_a.mp4``; each keeps its own file and hash."""
    storage = tmp_path / "storage"
    (storage / "DCIM").mkdir(parents=True)
    (storage / "DCIM" / "a.mp4").write_bytes(b"first")
    (storage / "DCIM_a.mp4").write_bytes(b"second")
    taken = FolderClipSource(storage, ".mp4", recursive=True).take_new(frozenset(), tmp_path / "ev")
    assert sorted(e.camera_path for e in taken if e.camera_path) == ["DCIM/a.mp4", "DCIM_a.mp4"]
    assert len({e.path for e in taken}) == 2
    for e in taken:
        assert _sha(e.path.read_bytes()) == e.sha256


def test_one_badly_named_file_does_not_lose_the_other_clips(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "bad\nname.mp4").write_bytes(b"odd")
    (storage / "CLIP0001.MP4").write_bytes(b"one")
    (storage / "CLIP0002.MP4").write_bytes(b"two")
    unreadable = storage / "CLIP0003.MP4"
    unreadable.write_bytes(b"three")
    unreadable.chmod(0)
    source = FolderClipSource(storage, ".mp4")
    taken = source.take_new(frozenset(), tmp_path / "ev")
    names = sorted(e.path.name for e in taken)
    assert "CLIP0001.MP4" in names and "CLIP0002.MP4" in names
    assert any("bad\\nname.mp4" in line for line in source.last_wait.untaken)
    if os.geteuid() != 0:  # root reads a 000 file
        assert any("CLIP0003.MP4" in line for line in source.last_wait.untaken)


def test_open_below_never_follows_a_link_at_any_component(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.mp4").write_bytes(b"secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "DCIM").symlink_to(outside, target_is_directory=True)
    (root / "y.mp4").symlink_to(outside / "x.mp4")
    fd = open_dir(root)
    try:
        for parts in (["DCIM", "x.mp4"], ["y.mp4"]):
            with pytest.raises(EvidenceError, match="link"):
                open_below(fd, parts)
    finally:
        os.close(fd)


def test_folder_swapped_for_a_link_while_clips_are_taken_never_lets_an_outside_file_in(tmp_path: Path) -> None:
    """A thread swaps ``DCIM`` for a link to a folder outside the storage, over and over, while the
    clips are taken: whatever is taken, no byte of the outside file may reach the evidence."""
    storage = tmp_path / "storage"
    real = storage / "DCIM"
    real.mkdir(parents=True)
    parked = storage / ".parked"
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = b"NOT FROM THE CAMERA" * 100
    for i in range(5):
        (real / f"CLIP{i:04d}.MP4").write_bytes(b"camera clip %d " % i * 100)
        (outside / f"CLIP{i:04d}.MP4").write_bytes(secret)
    stop = threading.Event()
    swaps = 0

    def swapper() -> None:
        nonlocal swaps
        while not stop.is_set() and swaps < 20000:
            os.rename(real, parked)
            os.symlink(outside, real)
            os.unlink(real)
            os.rename(parked, real)
            swaps += 1

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    source = FolderClipSource(storage, ".mp4", recursive=True)
    taken_total = 0
    try:
        for round_ in range(60):
            evidence = tmp_path / f"ev{round_}"
            taken = source.take_new(frozenset(), evidence)
            taken_total += len(taken)
            for e in taken:
                data = e.path.read_bytes()
                assert secret[:19] not in data, f"outside file copied in as {e.path}"
                assert _sha(data) == e.sha256
    finally:
        stop.set()
        thread.join(10)
    assert swaps > 0


def test_write_atomic_keeps_the_old_file_whole_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("previous report")

    with pytest.raises(TypeError):
        write_atomic(target, 12345)  # type: ignore[arg-type]
    assert target.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    write_atomic(target, "new")
    assert target.read_text() == "new"


@pytest.fixture
def small_tmpfs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real 2 MB file system, so a full disk is a real ENOSPC (needs root and mount)."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a real full disk needs root to mount a small tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_copy_raises_oserror_and_leaves_no_partial_file(small_tmpfs: Path, tmp_path: Path) -> None:
    clip = tmp_path / "BIG.MP4"
    clip.write_bytes(os.urandom(3 * CHUNK))
    with pytest.raises(OSError) as caught:
        ingest(clip, small_tmpfs / "evidence")
    assert caught.value.errno == 28  # ENOSPC, not an EvidenceError: the run must stop, not skip the clip
    assert list((small_tmpfs / "evidence").iterdir()) == []
    target = small_tmpfs / "record.json"
    target.write_text("{}")
    with pytest.raises(OSError):
        write_atomic(target, b"x" * (3 * CHUNK))
    assert target.read_text() == "{}" and sorted(p.name for p in small_tmpfs.iterdir()) == ["evidence", "record.json"]


def test_full_disk_while_taking_clips_is_raised_not_skipped(small_tmpfs: Path, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "CLIP0001.MP4").write_bytes(os.urandom(3 * CHUNK))
    with pytest.raises(OSError):
        FolderClipSource(storage, ".mp4").take_new(frozenset(), small_tmpfs / "ev")
