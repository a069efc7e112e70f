"""Tests for the audio pass: chirps located to a fraction of a millisecond through AAC, levels, silence."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from harness.analysis import audio as audio_mod
from harness.analysis.audio import FLOOR_DBFS, SEARCH_S, analyze_audio
from harness.emulator.clip_writer import AAC_FRAME, AudioTrack, VideoFrame, write_clip
from harness.scene.stimulus import CHIRP_AMPLITUDE, CHIRP_F0, CHIRP_F1, CHIRP_S, chirp

RATE = 48000
FPS = 30.0
DURATION_S = 10.0
OFFSET_S = 0.0234  # audio later than video by 23.4 ms: 1123.2 samples, deliberately not a whole sample
CHIRP_TIMES = [1.0, 3.7, 6.2]
ABSENT = 8.5  # an expected stimulus with no chirp in the audio
NOISE_RMS = 0.001  # -60 dBFS
CLIP_START = datetime(2026, 1, 1, tzinfo=UTC)
N = round(CHIRP_S * RATE)


def burst_at(start_s: float, idx: np.ndarray) -> np.ndarray:
    """The stimulus chirp starting at a continuous time ``start_s``, sampled at sample indices ``idx``.

    The same formula as harness.scene.stimulus.chirp with the sample grid shifted by a fraction of a sample.
    """
    tau = idx / RATE - start_s
    inside = (tau >= 0) & (tau <= (N - 1) / RATE)
    t = tau[inside]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * t * RATE / (N - 1))
    phase = 2 * np.pi * (CHIRP_F0 * t + (CHIRP_F1 - CHIRP_F0) * t**2 / (2 * CHIRP_S))
    out = np.zeros(idx.size)
    out[inside] = CHIRP_AMPLITUDE * window * np.sin(phase)
    return out


def track(chirp_times, silent_before: float | None = None) -> AudioTrack:
    def samples(first: int, count: int) -> np.ndarray:
        idx = first + np.arange(count)
        out = np.random.default_rng(first).normal(0.0, NOISE_RMS, count)
        for t in chirp_times:
            out += burst_at(t + OFFSET_S, idx)
        if silent_before is not None:
            out[idx / RATE < silent_before] = 0.0
        return out.astype(np.float32)

    return AudioTrack(RATE, samples)


def frames():
    gray = np.full((180, 320), 100, np.uint8)
    return (VideoFrame(k / FPS, gray) for k in range(round(DURATION_S * FPS)))


def write(path, audio):
    assert write_clip(path, frames(), FPS, 300, CLIP_START, audio=audio) == round(DURATION_S * FPS)
    return path


@pytest.fixture(scope="module")
def chirp_clip(tmp_path_factory):
    return write(tmp_path_factory.mktemp("audio") / "chirps.mp4", track(CHIRP_TIMES))


@pytest.fixture(scope="module")
def silent_start_clip(tmp_path_factory):
    return write(tmp_path_factory.mktemp("audio") / "silent.mp4", track([6.2], silent_before=4.0))


def expected():
    return [(t + 100.0, t) for t in CHIRP_TIMES + [ABSENT]]  # (scene time, video pts)


def test_fractional_sample_burst_matches_the_stimulus_chirp():
    """The test's own burst generator reproduces harness.scene.stimulus.chirp at a whole-sample start."""
    idx = np.arange(1000, 5000)
    assert np.abs(burst_at(1500 / RATE, idx)[500 : 500 + N] - chirp(RATE)).max() < 1e-6


def test_chirps_found_at_the_known_offset(chirp_clip):
    """Every chirp is found with audio - video pts within 0.2 ms of the +23.4 ms it was placed at."""
    a = analyze_audio(chirp_clip, expected())
    assert a.error is None
    assert a.sample_rate == RATE
    assert a.start_pts_s == pytest.approx(0.0, abs=1e-9)  # AAC priming removed by the container's edit list
    assert [c.video_pts_s for c in a.chirps] == CHIRP_TIMES + [ABSENT]
    assert [c.ref_s for c in a.chirps] == [t + 100.0 for t in CHIRP_TIMES + [ABSENT]]
    found = a.chirps[: len(CHIRP_TIMES)]
    for c in found:
        assert c.audio_pts_s is not None, c
        assert c.score > 0.9
        assert c.audio_pts_s - c.video_pts_s == pytest.approx(OFFSET_S, abs=0.2e-3), c


def test_absent_chirp_is_none(chirp_clip):
    """An expected stimulus with only -60 dBFS noise in its window has audio_pts_s None and a low score."""
    a = analyze_audio(chirp_clip, expected())
    absent = [c for c in a.chirps if c.video_pts_s == ABSENT]
    assert len(absent) == 1
    assert absent[0].audio_pts_s is None
    assert absent[0].score < 0.5


def test_chirps_reported_in_video_order(chirp_clip):
    """Expectations given out of order come back sorted by video pts, one result each."""
    a = analyze_audio(chirp_clip, list(reversed(expected())))
    assert [c.video_pts_s for c in a.chirps] == CHIRP_TIMES + [ABSENT]


def test_envelope_levels(chirp_clip):
    """10 ms blocks cover the clip; the chirp peak reads about -10.5 dBFS, noise about -50 dBFS, past the end None."""
    a = analyze_audio(chirp_clip, [])
    assert a.block_peak.size == pytest.approx(DURATION_S / 0.01, abs=2)
    for t in CHIRP_TIMES:  # AAC at 128 kbit/s overshoots by up to ~1 dB (measured: +1.04 dB on the first chirp)
        assert a.peak_dbfs(t - 0.1, t + 0.2) == pytest.approx(20 * np.log10(CHIRP_AMPLITUDE), abs=1.5)
    noise = a.peak_dbfs(8.0, 9.0)  # peaks of -60 dBFS rms Gaussian noise over 10 ms blocks
    assert -56.0 < noise < -44.0
    assert a.peak_dbfs(20.0, 30.0) is None


def test_digital_silence_reads_floor_and_sound_starts_on_time(silent_start_clip):
    """Zeros before 4 s read FLOOR_DBFS; the first non-silent block is within 30 ms of 4 s."""
    a = analyze_audio(silent_start_clip, [(6.2, 6.2)])
    assert a.error is None
    assert a.peak_dbfs(0.0, 3.9) == FLOOR_DBFS
    start = a.first_sound_after(4.0)
    assert start is not None and abs(start - 4.0) <= 0.03
    assert a.peak_dbfs(4.1, 6.0) > -70.0
    assert a.chirps[0].audio_pts_s == pytest.approx(6.2 + OFFSET_S, abs=0.2e-3)


def test_clip_without_audio_stream(tmp_path):
    """A clip with video only reports error 'no audio stream' and no chirps."""
    path = write(tmp_path / "mute.mp4", None)
    a = analyze_audio(path, [(1.0, 1.0)])
    assert a.error == "no audio stream"
    assert a.chirps == [] and a.block_peak.size == 0


def test_unreadable_file_sets_error(tmp_path):
    """A non-media file gives an error string, not an exception."""
    path = tmp_path / "junk.mp4"
    path.write_text("not a video\n" * 50)
    a = analyze_audio(path, [(1.0, 1.0)])
    assert a.error and a.chirps == []


def test_finder_buffer_stays_within_one_window(chirp_clip, monkeypatch):
    """While streaming 10 s of audio the chirp finder never holds more than one search window (+ a frame)."""
    sizes = []
    original = audio_mod._ChirpFinder.add

    def add(self, samples):
        original(self, samples)
        sizes.append(self.buffer.size)

    monkeypatch.setattr(audio_mod._ChirpFinder, "add", add)
    a = analyze_audio(chirp_clip, expected())
    assert sum(c.audio_pts_s is not None for c in a.chirps) == len(CHIRP_TIMES)
    window = round((2 * SEARCH_S + CHIRP_S) * RATE)
    assert len(sizes) > 400  # streamed in AAC frames, not read whole
    assert max(sizes) <= window + 2 * AAC_FRAME
    assert max(sizes) < DURATION_S * RATE / 10
    assert sizes[-1] <= 2 * AAC_FRAME  # nothing pending at the end: nothing kept
