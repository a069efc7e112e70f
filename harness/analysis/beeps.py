"""Tone beeps in a clip's audio: the camera's own low-battery warning, found by its pitch.

The audio is decoded once and cut into 10 ms blocks; in each block the energy at the beep's
pitch (a Goertzel filter, i.e. one DFT bin) is compared with the block's whole energy. A block
whose energy is mostly at the pitch, and loud enough, is "tone"; a beep is a run of tone blocks
at least half as long as the beep should be. The stimulus chirps sweep 1-4 kHz in 40 ms, so they
never hold one pitch for a block-run that long; noise has no pitch. Onsets are block-accurate
(10 ms), far finer than anything a warning lead is judged on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from harness.analysis.audio import NoAudioStream, mono_samples

BLOCK_S = 0.01
TONE_FRACTION = 0.5  # share of a block's energy at the pitch
MIN_LEVEL_DBFS = -45.0  # quieter blocks are not beeps


@dataclass
class BeepScan:
    onsets_pts_s: list[float] = field(default_factory=list)
    lengths_s: list[float] = field(default_factory=list)
    error: str | None = None


def _goertzel_power(blocks: np.ndarray, freq: float, rate: int) -> np.ndarray:
    """Power at ``freq`` of each row of ``blocks`` (normalised like the mean square)."""
    n = blocks.shape[1]
    t = np.arange(n) / rate
    c = np.cos(2 * np.pi * freq * t)
    s = np.sin(2 * np.pi * freq * t)
    re = blocks @ c
    im = blocks @ s
    return 2 * (re * re + im * im) / (n * n)


def find_beeps(path: Path | str, freq_hz: float, beep_s: float) -> BeepScan:
    """Onsets (audio pts, s) of beeps at ``freq_hz`` lasting about ``beep_s`` in ``path``'s audio."""
    scan = BeepScan()
    chunks: list[np.ndarray] = []
    rate, start = 0, 0.0
    try:
        for rate, start, samples in mono_samples(path):  # noqa: B007 (the last chunk's rate and start are used below)
            chunks.append(samples)
    except NoAudioStream as exc:
        scan.error = str(exc)
        return scan
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        scan.error = f"audio not readable: {exc}"
        return scan
    if not chunks:
        return scan
    samples = np.concatenate(chunks)
    block = max(8, round(BLOCK_S * rate))
    count = samples.size // block
    if count == 0:
        return scan
    blocks = samples[: count * block].reshape(count, block).astype(np.float64)
    total = np.mean(blocks * blocks, axis=1)
    tone = _goertzel_power(blocks, freq_hz, rate)
    loud = total > 10 ** (MIN_LEVEL_DBFS / 10)
    is_tone = loud & (tone > TONE_FRACTION * np.maximum(total, 1e-30))
    min_blocks = max(1, math.floor(0.5 * beep_s / (block / rate)))
    origin = start or 0.0
    i = 0
    while i < count:
        if not is_tone[i]:
            i += 1
            continue
        j = i
        while j < count and is_tone[j]:
            j += 1
        if j - i >= min_blocks:
            scan.onsets_pts_s.append(origin + i * block / rate)
            scan.lengths_s.append((j - i) * block / rate)
        i = j
    return scan
