"""MP4 box layout: finalised or interrupted, and cutting a file back as a power cut leaves it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest

from harness.analysis.container import (
    DeclaredSize,
    declared_picture_sizes,
    drop_index,
    finalisation,
    is_iso_media,
    keep_fragments,
    layout_damage,
    top_level_boxes,
)
from harness.emulator.clip_writer import AudioTrack, VideoFrame, write_clip


def make(path: Path, fragment_s: float | None, frames: int = 95) -> Path:
    shots = (VideoFrame(i / 30, np.full((64, 96), (i * 9) % 256, np.uint8)) for i in range(frames))
    silence = AudioTrack(48000, lambda start, count: np.zeros(count, np.float32))
    write_clip(path, shots, 30, 500, datetime(2026, 1, 1, tzinfo=UTC), audio=silence, fragment_s=fragment_s)
    return path


def decoded(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_plain_and_fragmented_files_are_finalised(tmp_path) -> None:
    plain = finalisation(make(tmp_path / "plain.mp4", None))
    assert (plain.finalised, plain.layout, plain.fragments) == (True, "plain", 0)
    frag = finalisation(make(tmp_path / "frag.mp4", 1.0))
    assert (frag.finalised, frag.layout, frag.fragments) == (True, "fragmented", 4)
    kinds = [b.kind for b in top_level_boxes(tmp_path / "frag.mp4")[0]]
    assert kinds[:2] == ["ftyp", "moov"] and kinds[-1] == "mfra"


def test_keep_fragments_leaves_what_a_power_cut_leaves(tmp_path) -> None:
    path = make(tmp_path / "cut.mp4", 1.0)
    keep_fragments(path, 2)
    state = finalisation(path)
    assert not state.finalised and state.fragments == 2 and "no closing mfra" in state.reason
    assert decoded(path) == 60  # two whole 1 s fragments at 30 fps
    keep_fragments(path, 0)
    assert [b.kind for b in top_level_boxes(path)[0]] == ["ftyp", "moov"]


def test_a_plain_file_without_its_index_is_not_finalised(tmp_path) -> None:
    path = make(tmp_path / "plain.mp4", None)
    drop_index(path)
    assert finalisation(path).reason.startswith("no moov")


def test_a_torn_file_is_reported(tmp_path) -> None:
    path = make(tmp_path / "torn.mp4", 1.0)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size - 500)  # into the middle of the last box
    state = finalisation(path)
    assert not state.finalised and state.reason.startswith("torn")


@pytest.mark.parametrize("content", [b"", b"garbage that is not an mp4 at all", b"\x00\x00\x00\x01ftyp"])
def test_junk_is_never_finalised(tmp_path, content) -> None:
    path = tmp_path / "junk.mp4"
    path.write_bytes(content)
    assert not finalisation(path).finalised
    assert not finalisation(tmp_path / "missing.mp4").finalised


def test_layout_damage_names_what_was_lost_and_leaves_whole_files_alone(tmp_path) -> None:
    """Whole, cut after whole fragments (a power cut's durable part): no damage. Torn, or no index: said."""
    assert layout_damage(make(tmp_path / "plain.mp4", None)) is None
    cut = make(tmp_path / "cut.mp4", 1.0)
    keep_fragments(cut, 2)
    assert layout_damage(cut) is None
    torn = make(tmp_path / "torn.mp4", 1.0)
    boxes, _ = top_level_boxes(torn)
    with open(torn, "r+b") as fh:
        fh.truncate(torn.stat().st_size - 100)
    assert boxes[-1].kind == "mfra" and boxes[-1].size > 100
    assert (
        layout_damage(torn)
        == f"truncated: the file ends inside its mfra box (100 of its {boxes[-1].size} bytes missing)"
    )
    index_first = make(tmp_path / "nomoov.mp4", None)
    drop_index(index_first)
    assert layout_damage(index_first) == "no moov box: the index was never written"
    mdat = next(b for b in top_level_boxes(index_first)[0] if b.kind == "mdat")
    with open(index_first, "r+b") as fh:
        fh.truncate(mdat.offset + 100)
    assert layout_damage(index_first) == (
        f"truncated: the file ends inside its mdat box ({mdat.size - 100} of its "
        f"{mdat.size} bytes missing), before any moov box (the index)"
    )


@pytest.mark.parametrize("content", [b"", b"garbage that is not an mp4 at all", b"\x89PNG\r\n\x1a\n0000"])
def test_files_that_are_not_mp4_have_no_layout_to_judge(tmp_path, content) -> None:
    path = tmp_path / "junk.mp4"
    path.write_bytes(content)
    assert not is_iso_media(path)
    assert layout_damage(path) is None and declared_picture_sizes(path) == []


def test_declared_picture_size_is_read_from_the_video_track_only(tmp_path) -> None:
    """Track header and sample entry of the video track; the audio track declares none."""
    path = make(tmp_path / "plain.mp4", None)
    assert declared_picture_sizes(path) == [DeclaredSize("track header", 96, 64), DeclaredSize("sample entry", 96, 64)]
    frag = make(tmp_path / "frag.mp4", 1.0)
    assert declared_picture_sizes(frag) == [DeclaredSize("track header", 96, 64), DeclaredSize("sample entry", 96, 64)]
