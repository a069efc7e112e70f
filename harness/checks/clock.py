"""Clock checks: the time the camera states (burned in, in its metadata, in the container)
against reference UTC, and its drift over the run.

Limits: the catalogue's figures when it gives them, else the camera profile's clock block.
"""

from __future__ import annotations

import statistics

from harness.analysis.clip import ClipAnalysis
from harness.checks.common import CheckInput, metadata, utc_seconds
from harness.core.measurement import Declared, Measurement

DRIFT_MIN_SPAN_S = 600.0  # drift is judged only over offsets at least this far apart

OFFSET = Declared("clock_offset_s", "s", "BWC-CLK-01", "catalogue, else profile", ("event",))
OFFSET_BY_SOURCE = Declared("clock_offset_s", "s", "BWC-CLK-01", "catalogue, else profile", ("event", "source"))
DRIFT = Declared("clock_drift_ppm", "ppm", "BWC-CLK-02", "catalogue, else profile")
MEASUREMENTS = (OFFSET, OFFSET_BY_SOURCE, DRIFT)


def clock_offsets(inp: CheckInput, clip: ClipAnalysis) -> dict[str, float]:
    """Camera clock minus reference UTC at the clip's first frame, from each source the camera has."""
    spec = inp.profile.clock
    out: dict[str, float] = {}
    if clip.camera_utc:
        diffs = [cam - inp.ref_utc(ref) for i, cam in clip.camera_utc if (ref := clip.ref_s[i]) is not None]
        if diffs:
            out["burned-in"] = statistics.median(diffs)
    meta = metadata(clip, spec.metadata_key)
    if meta and meta.get("camera_start_utc"):
        start = utc_seconds(str(meta["camera_start_utc"]))
        if start is not None:
            out["metadata"] = start - inp.ref_utc(clip.first_ref_s)  # type: ignore[arg-type]
    if spec.container_time and clip.creation_time:
        created = utc_seconds(clip.creation_time)
        if created is not None:
            out["container"] = created - inp.ref_utc(clip.first_ref_s)  # type: ignore[arg-type]
    return out


def max_offset_s(inp: CheckInput) -> float:
    """Largest offset either way: the catalogue's figure, else the profile's."""
    if inp.limits.limit("BWC-CLK-01", "offset") is not None:
        return inp.limits.figure("BWC-CLK-01", "offset", "s")
    return inp.profile.clock.max_offset_s


def max_drift_ppm(inp: CheckInput) -> float:
    """Largest drift: the catalogue's figure (seconds over a shift), else the profile's."""
    cat = inp.limits
    if cat.limit("BWC-CLK-02", "drift") is not None:
        return cat.figure("BWC-CLK-02", "drift", "s") / cat.figure("BWC-CLK-02", "shift", "s") * 1e6
    return inp.profile.clock.max_drift_ppm


def clock(inp: CheckInput) -> list[Measurement]:
    limit = max_offset_s(inp)
    out = []
    best: list[tuple[float, float, str]] = []  # (reference time, offset, source) per event
    for ev in inp.events():
        if ev.recording is None:
            out.append(OFFSET(None, -limit, limit, event=ev.index, note="no recording"))
            continue
        offsets = clock_offsets(inp, ev.recording.first)
        if not offsets:
            out.append(
                OFFSET(
                    None, -limit, limit, event=ev.index, note="the camera states its time nowhere the harness can read"
                )
            )
        for source, value in offsets.items():
            low = -limit - (1.0 if source == "container" else 0.0)  # whole seconds, truncated
            out.append(
                OFFSET_BY_SOURCE(
                    value,
                    low,
                    limit,
                    event=ev.index,
                    source=source,
                    note="camera clock minus reference UTC at the first frame",
                )
            )
        for source in ("burned-in", "metadata", "container"):
            if source in offsets:
                best.append((ev.recording.first_ref_s, offsets[source], source))
                break
    if len(best) >= 2 and best[-1][0] - best[0][0] >= DRIFT_MIN_SPAN_S:
        (t0, o0, s0), (t1, o1, s1) = best[0], best[-1]
        drift = (o1 - o0) / (t1 - t0) * 1e6
        ppm = max_drift_ppm(inp)
        out.append(
            DRIFT(
                drift,
                -ppm,
                ppm,
                note=f"offset {o0:+.3f} s -> {o1:+.3f} s over {(t1 - t0) / 3600:.2f} h ({s0}/{s1}); "
                f"{drift * 43200e-6:+.2f} s per 12 h",
            )
        )
    return out
