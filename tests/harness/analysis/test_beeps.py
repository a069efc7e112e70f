"""Warning beeps found by pitch in a clip's audio, and the stimulus chirps never taken for one."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from harness.analysis.beeps import find_beeps
from harness.emulator.clip_writer import AudioTrack, VideoFrame, write_clip
from harness.scene.stimulus import chirp

RATE = 48000


def clip_with(tmp_path, events: list[tuple[float, str]], seconds: float = 10.0):
    """A clip whose audio holds 5 kHz beeps (0.2 s) and chirps at the given times, over faint noise."""
    total = np.random.default_rng(3).normal(0, 0.001, int(RATE * (seconds + 1))).astype(np.float32)
    for t, kind in events:
        i = int(t * RATE)
        if kind == "beep":
            n = int(0.2 * RATE)
            total[i : i + n] += 0.25 * np.sin(2 * np.pi * 5000 * np.arange(n) / RATE).astype(np.float32)
        else:
            burst = chirp(RATE)
            total[i : i + burst.size] += burst
    frames = (VideoFrame(i / 30, np.zeros((64, 96), np.uint8)) for i in range(int(seconds * 30)))
    path = tmp_path / "beeps.mp4"
    write_clip(
        path,
        frames,
        30,
        300,
        datetime(2026, 1, 1, tzinfo=UTC),
        audio=AudioTrack(RATE, lambda start, count: total[start : start + count]),
    )
    return path


def test_beeps_are_found_at_their_onsets(tmp_path) -> None:
    path = clip_with(tmp_path, [(1.0, "beep"), (3.5, "chirp"), (5.0, "beep"), (7.25, "beep")])
    scan = find_beeps(path, 5000, 0.2)
    assert scan.error is None
    assert scan.onsets_pts_s == pytest.approx([1.0, 5.0, 7.25], abs=0.03)  # AAC priming and 10 ms blocks
    assert all(0.15 <= length <= 0.25 for length in scan.lengths_s)


def test_chirps_and_other_pitches_are_not_beeps(tmp_path) -> None:
    path = clip_with(tmp_path, [(1.0, "chirp"), (2.0, "chirp"), (4.0, "chirp")])
    assert find_beeps(path, 5000, 0.2).onsets_pts_s == []
    beeping = clip_with(tmp_path, [(1.0, "beep")])
    assert find_beeps(beeping, 3000, 0.2).onsets_pts_s == []


def test_a_clip_without_audio_says_so(tmp_path) -> None:
    path = tmp_path / "silent.mp4"
    write_clip(
        path,
        (VideoFrame(i / 30, np.zeros((64, 96), np.uint8)) for i in range(30)),
        30,
        300,
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert find_beeps(path, 5000, 0.2).error == "no audio stream"
    (tmp_path / "junk.mp4").write_bytes(b"junk")
    assert find_beeps(tmp_path / "junk.mp4", 5000, 0.2).error.startswith("audio not readable")
