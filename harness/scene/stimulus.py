"""The A/V stimulus: a flash on the display and a chirp from a speaker, fired at the same instant.

Events come at irregular intervals (so a periodic error cannot alias onto them) but are a pure
function of time: slot k of ``SLOT_S`` seconds holds one event at a jitter derived from k. The
emulated camera renders flashes and records chirps from this schedule, the analysis looks for them
at the same instants. A lab's rig controller fires the same schedule.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

SLOT_S = 3.0
JITTER_S = 1.6  # events fall 0.2 .. 1.8 s into their slot
FLASH_S = 0.1  # flash duration on the display
CHIRP_S = 0.04  # chirp duration
CHIRP_F0, CHIRP_F1 = 1000.0, 4000.0
CHIRP_AMPLITUDE = 0.3
SPEED_OF_SOUND_M_S = 343.0


def _jitter(slot: int) -> float:
    """A fixed pseudo-random fraction in [0, 1) for each slot (integer hash, no RNG state)."""
    x = (slot * 0x9E3779B1 + 0x7F4A7C15) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    return x / 2**32


def event_times(t0: float, t1: float, refresh_hz: float = 60.0) -> list[float]:
    """Stimulus instants in [t0, t1), each on a display refresh so the flash starts with a frame."""
    out = []
    for slot in range(math.floor(t0 / SLOT_S), math.floor(t1 / SLOT_S) + 1):
        t = slot * SLOT_S + 0.2 + JITTER_S * _jitter(slot)
        t = math.ceil(t * refresh_hz - 1e-9) / refresh_hz
        if t0 <= t < t1:
            out.append(t)
    return out


def flash_on(t: float, refresh_hz: float = 60.0) -> bool:
    """Whether the display shows the flash at reference time ``t``.

    Counted in whole display frames (an event starts on a refresh and lasts FLASH_S worth of
    frames), so float rounding can never light one frame more or less.
    """
    frame = math.floor(t * refresh_hz + 1e-9)
    length = round(FLASH_S * refresh_hz)
    return any(
        frame - length < round(e * refresh_hz) <= frame
        for e in event_times(t - FLASH_S - 1 / refresh_hz, t + 1e-9, refresh_hz)
    )


@lru_cache(maxsize=4)
def chirp(sample_rate: int) -> np.ndarray:
    """The known burst: a Hann-windowed linear chirp, sharp under cross-correlation."""
    n = round(CHIRP_S * sample_rate)
    t = np.arange(n) / sample_rate
    phase = 2 * np.pi * (CHIRP_F0 * t + (CHIRP_F1 - CHIRP_F0) * t**2 / (2 * CHIRP_S))
    return (CHIRP_AMPLITUDE * np.hanning(n) * np.sin(phase)).astype(np.float32)


def acoustic_delay_s(distance_m: float) -> float:
    return distance_m / SPEED_OF_SOUND_M_S
