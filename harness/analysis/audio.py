"""The audio track of a clip in one streaming pass: level envelope and the stimulus chirps.

Chirps are looked for only where the video says a stimulus happened (the scene's schedule mapped
to pts through the time code), in a window wide enough for any A/V offset worth measuring. Each
is located by normalised cross-correlation with the known burst and refined to a fraction of a
sample by a parabola through the peak.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from harness.scene.stimulus import chirp

BLOCK_S = 0.01  # envelope resolution
SEARCH_S = 0.4  # a chirp is looked for this far either side of its video instant
MIN_SCORE = 0.5  # normalised correlation needed to call a chirp found
MONO_FLOAT = ("flt", "fltp")  # sample formats whose mono frames are float32 samples as they are
SILENCE = 10 ** (-90 / 20)  # digital silence: below -90 dBFS
FLOOR_DBFS = -200.0  # what an all-zero stretch reads as (a number, so records stay valid JSON)


@dataclass
class Chirp:
    """A stimulus: its scene time, where the video shows it, where the audio has it (None if absent)."""

    ref_s: float
    video_pts_s: float
    audio_pts_s: float | None
    score: float


@dataclass
class AudioAnalysis:
    sample_rate: int = 0
    start_pts_s: float = 0.0
    block_peak: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    chirps: list[Chirp] = field(default_factory=list)
    error: str | None = None

    def block_times(self) -> np.ndarray:
        return self.start_pts_s + np.arange(self.block_peak.size) * BLOCK_S

    def peak_dbfs(self, t0: float, t1: float) -> float | None:
        """Largest sample level between pts t0 and t1 in dBFS (FLOOR_DBFS for digital silence);
        None when the track holds no audio there at all."""
        times = self.block_times()
        sel = self.block_peak[(times >= t0) & (times + BLOCK_S <= t1)]
        if sel.size == 0:
            return None
        return max(FLOOR_DBFS, 20 * float(np.log10(max(float(sel.max()), 1e-30))))

    def first_sound_after(self, t0: float, threshold: float = SILENCE) -> float | None:
        """Pts of the first 10 ms block at or after ``t0 - 1 s`` that is not digital silence."""
        times = self.block_times()
        idx = np.nonzero((times >= t0 - 1.0) & (self.block_peak > threshold))[0]
        return float(times[idx[0]]) if idx.size else None


class NoAudioStream(ValueError):
    """The file has no audio stream at all (as opposed to one that cannot be read)."""


def mono_samples(path: Path | str) -> Iterator[tuple[int, float, np.ndarray]]:
    """Decode the first audio stream as mono float32 chunks: (sample rate, pts of the first sample,
    chunk). One place decodes audio, so every analysis sees the same samples and start time."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise NoAudioStream("no audio stream")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        start: float | None = None
        for frame in container.decode(stream):
            # mono float at the stream's rate (what an AAC decoder gives for a mono track) is already
            # what the resampler would return, sample for sample: taken as it is, at half the cost
            as_is = frame.format.name in MONO_FLOAT and frame.layout.nb_channels == 1 and frame.sample_rate == rate
            for out in [frame] if as_is else resampler.resample(frame):
                if start is None:
                    base = out.time_base
                    start = float(out.pts * base) if out.pts is not None and base is not None else 0.0
                yield rate, start, out.to_ndarray().reshape(-1).astype(np.float32, copy=False)


def analyze_audio(path: Path | str, expected: list[tuple[float, float]]) -> AudioAnalysis:
    """Envelope and chirps of ``path``'s first audio stream; ``expected`` = [(ref_s, video_pts_s)]."""
    result = AudioAnalysis()
    finder: _ChirpFinder | None = None
    envelope: _Envelope | None = None
    try:
        for rate, start, samples in mono_samples(path):
            if finder is None:
                result.sample_rate, result.start_pts_s = rate, start
                finder = _ChirpFinder(rate, sorted(expected, key=lambda e: e[1]))
                finder.start(start)
                envelope = _Envelope(round(BLOCK_S * rate))
            envelope.add(samples)  # type: ignore[union-attr]
            finder.add(samples)
    except NoAudioStream as exc:
        result.error = str(exc)
        return result
    except (av.FFmpegError, OSError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    if finder is not None and envelope is not None:
        result.block_peak = envelope.finish()
        result.chirps = finder.finish()
    return result


class _Envelope:
    def __init__(self, block: int) -> None:
        self.block = block
        self.rest = np.zeros(0, np.float32)
        self.peaks: list[np.ndarray] = []

    def add(self, samples: np.ndarray) -> None:
        data = np.concatenate([self.rest, samples])
        whole = data.size // self.block * self.block
        if whole:
            self.peaks.append(np.abs(data[:whole]).reshape(-1, self.block).max(axis=1))
        self.rest = data[whole:]

    def finish(self) -> np.ndarray:
        return np.concatenate(self.peaks).astype(np.float32) if self.peaks else np.zeros(0, np.float32)


class _ChirpFinder:
    """Keeps only the samples a pending search window still needs (memory stays flat)."""

    def __init__(self, rate: int, expected: list[tuple[float, float]]) -> None:
        self.rate = rate
        self.pending = expected
        self.found: list[Chirp] = []
        self.template = chirp(rate).astype(np.float64)
        self.buffer = np.zeros(0, np.float32)
        self.buffer_start = 0  # sample index of buffer[0]
        self.t0 = 0.0

    def start(self, t0: float) -> None:
        self.t0 = t0

    def _index(self, pts_s: float) -> int:
        return round((pts_s - self.t0) * self.rate)

    def add(self, samples: np.ndarray) -> None:
        self.buffer = np.concatenate([self.buffer, samples])
        end = self.buffer_start + self.buffer.size
        while self.pending and self._index(self.pending[0][1] + SEARCH_S) + self.template.size <= end:
            self._search(*self.pending.pop(0))
        keep_from = self._index(self.pending[0][1] - SEARCH_S) if self.pending else end
        drop = max(0, min(keep_from - self.buffer_start, self.buffer.size))
        self.buffer = self.buffer[drop:]
        self.buffer_start += drop

    def _search(self, ref_s: float, video_pts: float) -> None:
        lo = max(self._index(video_pts - SEARCH_S), self.buffer_start)
        hi = self._index(video_pts + SEARCH_S) + self.template.size
        window = self.buffer[lo - self.buffer_start : hi - self.buffer_start].astype(np.float64)
        n = self.template.size
        if window.size < n + 2:
            self.found.append(Chirp(ref_s, video_pts, None, 0.0))
            return
        size = 1 << int(np.ceil(np.log2(window.size + n)))
        corr = np.fft.irfft(np.fft.rfft(window, size) * np.conj(np.fft.rfft(self.template, size)), size)
        corr = corr[: window.size - n + 1]
        # energy of each n-sample stretch, from a running sum (a direct convolution costs n times
        # more); the running sum's rounding is relative to the window's whole energy, so a stretch
        # quieter than 1e-9 of it (-90 dB: silence beside the chirps) counts at that floor
        running = np.concatenate(([0.0], np.cumsum(window**2)))
        energy = np.maximum(running[n:] - running[:-n], 1e-9 * running[-1])
        score = corr / (np.sqrt(np.maximum(energy, 1e-20)) * np.linalg.norm(self.template))
        k = int(np.argmax(score))
        best = float(score[k])
        if best < MIN_SCORE:
            self.found.append(Chirp(ref_s, video_pts, None, best))
            return
        shift = 0.0
        if 0 < k < corr.size - 1:  # parabola through the raw correlation peak: sub-sample position
            a, b, c = corr[k - 1], corr[k], corr[k + 1]
            denom = a - 2 * b + c
            shift = 0.5 * (a - c) / denom if denom else 0.0
        pts = self.t0 + (lo + k + shift) / self.rate
        self.found.append(Chirp(ref_s, video_pts, pts, best))

    def finish(self) -> list[Chirp]:
        while self.pending:  # windows that ran past the end of the audio
            self._search(*self.pending.pop(0))
        return self.found
