"""Stop checks: the clip ends at the stop gesture plus the post-record time (never earlier: a
camera that records less post-record than configured fails), and every file is finalised and
readable to its last frame."""

from __future__ import annotations

from pathlib import Path

from harness.checks.common import CheckInput
from harness.core.measurement import Declared, Measurement

STOP_LAG = Declared("stop_lag_s", "s", "BWC-STOP-01", "catalogue, else profile", ("event",))  # slack + post-record
UNPLAYABLE = Declared("unplayable_files", "files", "BWC-STOP-02", "catalogue")
MEASUREMENTS = (STOP_LAG, UNPLAYABLE)


def stop(inp: CheckInput) -> list[Measurement]:
    out = []
    post = inp.profile.post_record_s
    slack = inp.limits.figure("BWC-STOP-01", "slack", "s")
    for ev in inp.events():
        if ev.stop is None:
            continue
        value = None
        if ev.recording is not None:
            value = ev.recording.last_ref_s + inp.period - ev.stop.t
        out.append(
            STOP_LAG(
                value,
                post - inp.period,
                post + slack,
                event=ev.index,
                note=f"clip end after the stop gesture (post-record {post:g} s: no earlier than it less one "
                f"frame; slack {slack:g} s)",
            )
        )
    broken = [c for c in inp.clips if c.error]
    low, high = inp.limits.bounds("BWC-STOP-02", "unplayable", "files")
    out.append(
        UNPLAYABLE(
            len(broken),
            low or 0,
            high,
            note="; ".join(f"{Path(c.path).name}: {c.error}" for c in broken)
            or "every file finalised and readable to its last frame",
        )
    )
    return out
