"""The clip writer's frame thread: frames in order, errors raised in the writer, no thread left over."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest

from harness.emulator.clip_writer import VideoFrame, prefetched, write_clip


def _frames(count: int, fail_at: int | None = None) -> Iterator[VideoFrame]:
    for i in range(count):
        if i == fail_at:
            raise RuntimeError(f"sensor failed at frame {i}")
        yield VideoFrame(i / 30, np.full((16, 16), i % 256, np.uint8))


def _frame_threads() -> int:
    return sum(t.name == "bwc-clip-frames" for t in threading.enumerate())


@pytest.mark.parametrize("depth", [0, 1, 4])
def test_prefetched_keeps_order(depth: int) -> None:
    got = [int(f.gray[0, 0]) for f in prefetched(_frames(50), depth)]
    assert got == list(range(50))
    assert _frame_threads() == 0


def test_prefetched_raises_the_frame_threads_error() -> None:
    seen = []
    with pytest.raises(RuntimeError, match="frame 7"):
        for frame in prefetched(_frames(20, fail_at=7)):
            seen.append(frame)
    assert len(seen) == 7
    assert _frame_threads() == 0


def test_prefetched_stops_its_thread_when_the_caller_stops() -> None:
    gen = prefetched(_frames(10_000))
    next(gen)
    gen.close()
    assert _frame_threads() == 0


def test_write_clip_writes_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    assert write_clip(path, _frames(40), 30, 500, datetime(2026, 1, 1, tzinfo=UTC)) == 40
    with av.open(str(path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 40
