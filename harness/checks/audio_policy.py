"""Audio policy: audio in the pre-roll as the camera profile says (absent or silent, or present),
and sound from activation on. Levels come from the catalogue, the start tolerance from the profile."""

from __future__ import annotations

from harness.analysis.audio import FLOOR_DBFS
from harness.analysis.mapping import ClipMapping
from harness.checks.av import clip_audio
from harness.checks.common import CheckInput
from harness.core.measurement import Declared, Measurement

LIVE_PEAK = Declared("audio_after_press_peak_dbfs", "dBFS", "BWC-AUD-01", "catalogue", ("event",))
BUFFER_HEARD = Declared("preroll_chirps_found", "fraction", "BWC-AUD-01", "catalogue", ("event",))
BUFFER_PEAK = Declared("preroll_audio_peak_dbfs", "dBFS", "BWC-AUD-01", "catalogue", ("event",))
AUDIO_START = Declared("audio_start_s", "s", "BWC-AUD-01", "profile", ("event",))
MEASUREMENTS = (LIVE_PEAK, BUFFER_HEARD, BUFFER_PEAK, AUDIO_START)


def audio_policy(inp: CheckInput) -> list[Measurement]:
    """Audio in the pre-roll as the profile says (absent or silent, or present), and audio after the press."""
    spec = inp.profile.audio
    cat = inp.limits
    live_low, live_high = cat.bounds("BWC-AUD-01", "live_sound", "dBFS")
    out = []
    for ev in inp.events():
        n = ev.index
        clip = ev.recording.first if ev.recording else None
        audio = clip_audio(clip) if clip else None
        if clip is None or audio is None:
            out.append(LIVE_PEAK(None, live_low, live_high, event=n, note="no recording with a readable audio track"))
            continue
        press_pts = ClipMapping(clip).pts_at(ev.start.t)
        end = clip.pts_s[-1]
        after = audio.peak_dbfs(press_pts + 0.05, end)
        out.append(
            LIVE_PEAK(after, live_low, live_high, event=n, note="audio is recorded once the camera is activated")
        )
        if spec.in_buffer:
            before = [c for c in audio.chirps if c.ref_s < ev.start.t - 0.1]
            found = sum(c.audio_pts_s is not None for c in before)
            out.append(
                BUFFER_HEARD(
                    found / len(before) if before else None,
                    *cat.bounds("BWC-AUD-01", "buffer_heard", "fraction"),
                    event=n,
                    note=f"{found} of {len(before)} pre-roll stimuli heard",
                )
            )
        else:
            level = audio.peak_dbfs(clip.pts_s[0], press_pts - 0.1)
            out.append(
                BUFFER_PEAK(
                    FLOOR_DBFS if level is None else level,
                    *cat.bounds("BWC-AUD-01", "buffer_silence", "dBFS"),
                    event=n,
                    note="the profile keeps no audio in the buffer: absent or digital silence"
                    + (" (absent)" if level is None else ""),
                )
            )
            start = audio.first_sound_after(press_pts)
            out.append(
                AUDIO_START(
                    None if start is None else start - press_pts,
                    -spec.start_tolerance_s,
                    spec.start_tolerance_s,
                    event=n,
                    note="first non-silent audio relative to the press",
                )
            )
    return out
