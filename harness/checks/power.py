"""Power checks: shift runtime, low-battery warning, graceful cut-off, hard power cut, draw per state.

They read the ``power`` actions the power steps put in the done-timeline (harness/power_steps.py:
``on``, ``battery``, ``shutdown`` seen by the power monitor, ``cut`` with the SHA-256 of the files
saved before it, ``current`` readings), the clips (last frames by time code, box layout, beeps
in the audio, the camera's power log in its metadata) and the camera profile's ``power`` block.
Registered into :data:`harness.checks.CHECKS` by importing this module (harness/checks.py does).

Figures from the requirement catalogue: runtime >= 12 h on the duty profile (and the vendor's
claim, if higher); warning 5-30 min before shutdown; at cut-off and at a hard cut, footage up to
2 s before the end.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from harness.analysis.beeps import find_beeps
from harness.analysis.clip import ClipAnalysis
from harness.analysis.container import finalisation
from harness.analysis.mapping import ClipMapping
from harness.checks import CheckInput, Event, Recording, check, metadata
from harness.core.measurement import Measurement
from harness.core.timeline import Action

SHIFT_H = 12.0  # BWC-PWR-01: a shift
WARNING_MIN = (5.0, 30.0)  # BWC-PWR-02: first warning this many minutes before shutdown
END_LOSS_S = 2.0  # BWC-PWR-03/04: footage must reach this close to the end
SOC_FULL = 99.5  # a runtime claim is judged from a full battery (percent)


# -- timeline helpers ------------------------------------------------------------------------
def _power(inp: CheckInput, name: str) -> list[Action]:
    return [a for a in inp.timeline.actions if a.kind == "power" and a.name == name]


def _first_after(actions: list[Action], t: float) -> Action | None:
    return next((a for a in sorted(actions, key=lambda a: a.t) if a.t >= t), None)


def _battery_on(inp: CheckInput) -> Action | None:
    """The first power-on from the battery simulator."""
    return next((a for a in _power(inp, "on") if "battery" in a.detail), None)


def _shutdown(inp: CheckInput) -> tuple[Action | None, Action | None]:
    """(the battery power-on, the first shutdown the monitor saw after it)."""
    on = _battery_on(inp)
    return on, None if on is None else _first_after(_power(inp, "shutdown"), on.t)


def _recording_at(inp: CheckInput, t: float) -> Event | None:
    """The event that was recording at ``t``: started before it and not stopped before it."""
    for ev in reversed(inp.events()):
        if ev.start.t < t and (ev.stop is None or ev.stop.t > t):
            return ev
        if ev.start.t < t:
            return None
    return None


def _monitor_note(shutdown: Action) -> str:
    d = shutdown.detail
    return (f"shutdown seen by the power monitor between {d.get('last_running_t', shutdown.t):.1f} s and "
            f"{d.get('first_off_t', shutdown.t):.1f} s (current {d.get('amps_before', 0):.3f} A -> "
            f"{d.get('amps_after', 0):.3f} A)")


# -- BWC-PWR-01: shift runtime ------------------------------------------------------------------
@check("shift_runtime")
def shift_runtime(inp: CheckInput) -> list[Measurement]:
    """Runtime from full charge on the duty profile, from the power monitor's shutdown."""
    p = inp.profile.power
    low = max(SHIFT_H, p.claimed_runtime_h)
    on, shutdown = _shutdown(inp)
    battery = next((a for a in _power(inp, "battery")), None)
    out = [Measurement("shift_start_soc", None if battery is None else float(battery.detail["soc"]), "%",
                       SOC_FULL, 100.0, "BWC-PWR-01", note="the runtime is judged from a full battery")]
    if on is None:
        return out + [Measurement("shift_runtime_h", None, "h", low, None, "BWC-PWR-01",
                                  note="the camera was never powered from the battery simulator")]
    end = shutdown.t if shutdown is not None else inp.timeline.actions[-1].t
    value = (end - on.t) / 3600
    if shutdown is not None:
        note = f"power-on to shutdown; {_monitor_note(shutdown)}; claim {p.claimed_runtime_h:g} h"
    elif value >= low:
        note = f"still running when the scenario ended: a lower bound; claim {p.claimed_runtime_h:g} h"
    else:
        value, note = None, f"no shutdown seen, and the scenario ended after {value:.2f} h"
    out.append(Measurement("shift_runtime_h", value, "h", low, None, "BWC-PWR-01", note=note))
    recording = _recording_hours(inp, on.t, end)
    out.append(Measurement("shift_recording_h", recording, "h", p.duty.recording_h * 0.99, None, "BWC-PWR-01",
                           note=f"recording hours of the duty profile ({p.duty.buffering_h:g} h buffering + "
                           f"{p.duty.recording_h:g} h recording) done before the end"))
    return out


def _recording_hours(inp: CheckInput, t0: float, t1: float) -> float:
    """Hours between start and stop gestures within [t0, t1] (an open recording ends at t1)."""
    total = 0.0
    for ev in inp.events():
        start = ev.start.t
        stop = ev.stop.t if ev.stop is not None else t1
        total += max(0.0, min(stop, t1) - max(start, t0))
    return total / 3600


# -- BWC-PWR-02: low-battery warning ----------------------------------------------------------
def _utc_s(text: str) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _camera_offset_s(inp: CheckInput, clip: ClipAnalysis) -> float | None:
    """Camera clock minus reference UTC, from the clip's own start time in its metadata."""
    meta = metadata(clip, inp.profile.clock.metadata_key or inp.profile.event_marker_key)
    if meta is None or inp.reference_utc is None or clip.first_ref_s is None:
        return None
    start = _utc_s(meta.get("camera_start_utc", ""))
    return None if start is None else start - inp.reference_utc(clip.first_ref_s).timestamp()


def logged_warnings(inp: CheckInput) -> list[tuple[float, str]]:
    """(reference time, file) of every low-battery entry in the clips' power logs, camera clock
    corrected by the offset the same file shows."""
    out: list[tuple[float, str]] = []
    key = inp.profile.event_marker_key or inp.profile.clock.metadata_key
    if inp.reference_utc is None:
        return out
    epoch = inp.reference_utc(0.0).timestamp()
    for clip in inp.clips:
        meta = metadata(clip, key)
        offset = _camera_offset_s(inp, clip)
        if not meta or offset is None or not isinstance(meta.get("power_log"), list):
            continue
        for entry in meta["power_log"]:
            if isinstance(entry, dict) and entry.get("event") == "low_battery":
                utc = _utc_s(entry.get("utc", ""))
                if utc is not None:
                    out.append((utc - offset - epoch, Path(clip.path).name))
    return sorted(set(out))


def heard_beeps(inp: CheckInput, recording: Recording) -> list[float]:
    """Reference times of the warning beeps heard in a recording's audio."""
    p = inp.profile.power
    out = []
    for clip in recording.clips:
        if clip.error or not clip.pts_s:
            continue
        scan = find_beeps(clip.path, p.warning_beep_hz, p.warning_beep_s)
        if not scan.onsets_pts_s:
            continue
        try:
            mapping = ClipMapping(clip)
        except ValueError:
            continue
        out += [mapping.ref_at(pts) for pts in scan.onsets_pts_s]
    return out


@check("warning_lead")
def warning_lead(inp: CheckInput) -> list[Measurement]:
    """First low-battery warning (camera's log in the file metadata, or the first beep heard)
    against the shutdown the power monitor saw; and the beeps in the recorded audio."""
    p = inp.profile.power
    on, shutdown = _shutdown(inp)
    start = on.t if on is not None else float("-inf")
    logged = [(t, name) for t, name in logged_warnings(inp) if start <= t and (shutdown is None or t <= shutdown.t)]
    beeps: list[tuple[float, Event]] = []
    for ev in inp.events():
        if ev.recording is not None:
            beeps += [(t, ev) for t in heard_beeps(inp, ev.recording) if t >= ev.start.t]
    first_beep = min((t for t, _ in beeps), default=None)
    if logged:
        warned, source = logged[0][0], f"camera log in {logged[0][1]}"
    elif first_beep is not None:
        warned, source = first_beep, "first beep heard (no log entry): an upper bound on the lead"
    else:
        warned, source = None, "no warning logged or heard"
    lead = None if warned is None or shutdown is None else (shutdown.t - warned) / 60
    note = source if shutdown is None else f"{source}; {_monitor_note(shutdown)}"
    out = [
        Measurement("warning_lead_min", lead, "min", *WARNING_MIN, "BWC-PWR-02",
                    note=note if shutdown is not None else f"{note}; no shutdown seen"),
        Measurement("warning_logged", 1 if logged else 0, "entries", 1, None, "BWC-PWR-02",
                    note="low-battery entry in the camera's log (file metadata)"),
    ]
    if warned is not None:  # beeps due while the camera recorded audio after the warning
        for ev in inp.events():
            if ev.recording is None:
                continue
            window = ev.recording.last_ref_s - max(ev.start.t, warned) - p.warning_beep_s
            due = max(0, int(window // p.warning_repeat_s))  # the fewest any beep phase gives
            if due == 0:
                continue
            heard = sum(1 for _, e in beeps if e.index == ev.index)
            out.append(Measurement(f"warning_beeps_heard{ev.tag}", heard, "beeps", due, None, "BWC-PWR-02",
                                   note=f"a {p.warning_beep_hz:g} Hz beep every {p.warning_repeat_s:g} s: at least "
                                   f"{due} in the {window + p.warning_beep_s:.0f} s recorded after the warning"))
    return out


# -- BWC-PWR-03: graceful cut-off ---------------------------------------------------------------
@check("cutoff")
def cutoff(inp: CheckInput) -> list[Measurement]:
    """The recording running when the battery gave out: last file finalised, last frame near shutdown."""
    _, shutdown = _shutdown(inp)
    if shutdown is None:
        return [Measurement("cutoff_file_finalised", None, "files", 1, 1, "BWC-PWR-03",
                            note="the camera never shut down on its battery")]
    ev = _recording_at(inp, shutdown.t)
    if ev is None or ev.recording is None:
        return [Measurement("cutoff_file_finalised", None, "files", 1, 1, "BWC-PWR-03",
                            note="no recording was running when the camera shut down" if ev is None
                            else f"no file of the recording started at {ev.start.t:.1f} s")]
    last = ev.recording.last
    done = finalisation(last.path)
    finalised = 1 if done.finalised and last.error is None else 0
    reason = done.reason if last.error is None else f"{done.reason}; {last.error}"
    end = ev.recording.last_ref_s + inp.period - shutdown.t
    return [
        Measurement("cutoff_file_finalised", finalised, "files", 1, 1, "BWC-PWR-03",
                    note=f"{Path(last.path).name}: {reason}"),
        Measurement(f"cutoff_last_frame_s{ev.tag}", end, "s", -END_LOSS_S, None, "BWC-PWR-03",
                    note=f"end of the last frame minus shutdown; {_monitor_note(shutdown)}"),
    ]


# -- BWC-PWR-04: hard power cut ---------------------------------------------------------------
@check("power_cut")
def power_cut(inp: CheckInput) -> list[Measurement]:
    """After a hard cut while recording: footage recoverable up to the cut, files readable, earlier
    files unchanged (the SHA-256 taken just before the cut against the evidence copy)."""
    cuts = _power(inp, "cut")
    if not cuts:
        return [Measurement("cut_recovered_s", None, "s", -END_LOSS_S, None, "BWC-PWR-04",
                            note="the scenario has no 'power: cut' step")]
    cut = cuts[0]
    out = []
    ev = _recording_at(inp, cut.t)
    if ev is None:
        out.append(Measurement("cut_recovered_s", None, "s", -END_LOSS_S, None, "BWC-PWR-04",
                               note="no recording was running at the cut"))
    elif ev.recording is None:
        out.append(Measurement(f"cut_recovered_s{ev.tag}", None, "s", -END_LOSS_S, None, "BWC-PWR-04",
                               note="nothing of the interrupted recording could be read"))
    else:
        last = ev.recording.last
        done = finalisation(last.path)
        out.append(Measurement(f"cut_recovered_s{ev.tag}", ev.recording.last_ref_s + inp.period - cut.t, "s",
                               -END_LOSS_S, None, "BWC-PWR-04",
                               note=f"end of the last recovered frame minus the cut ({Path(last.path).name}: "
                               f"{done.reason})"))
        broken = [c for c in ev.recording.clips if c.error]
        out.append(Measurement(f"cut_unreadable_files{ev.tag}", len(broken), "files", 0, 0, "BWC-PWR-04",
                               note="; ".join(f"{Path(c.path).name}: {c.error}" for c in broken)
                               or "every file of the interrupted recording reads to its last frame"))
    out += _rebuffered(inp, cut)
    before: dict[str, str] = cut.detail.get("files", {})
    by_name = {Path(c.path).name: c for c in inp.clips}
    damaged = []
    for name, sha in sorted(before.items()):
        clip = by_name.get(name)
        if clip is None:
            damaged.append(f"{name}: gone")
        elif clip.sha256 != sha:
            damaged.append(f"{name}: changed (SHA-256 {sha[:12]}... -> {str(clip.sha256)[:12]}...)")
        elif clip.error:
            damaged.append(f"{name}: {clip.error}")
    out.append(Measurement("earlier_files_damaged", len(damaged), "files", 0, 0, "BWC-PWR-04",
                           note="; ".join(damaged) or f"{len(before)} file(s) saved before the cut: unchanged, readable"))
    return out


def _rebuffered(inp: CheckInput, cut: Action) -> list[Measurement]:
    """After power returns the camera boots and buffers again: the first event's pre-roll is the
    time since buffering began (to half a second; BWC-PRE-02 judges pre-roll to a frame)."""
    on = _first_after(_power(inp, "on"), cut.t)
    if on is None:
        return []
    ev = next((e for e in inp.events() if e.start.t > on.t), None)
    if ev is None:
        return []
    p = inp.profile
    expected = min(p.pre_event_buffer_s, ev.start.t - (on.t + p.boot_s))
    value = None if ev.recording is None else ev.start.t - ev.recording.first_ref_s
    return [Measurement(f"rebuffered_preroll_s{ev.tag}", value, "s", expected - 0.5, expected + 0.5, "BWC-PWR-04",
                        note=f"first event after power returned: pre-roll {expected:.2f} s expected "
                        f"(power-on + {p.boot_s:g} s boot), +/- 0.5 s")]


# -- draw per state and runtime estimate (BWC-PWR-01) -------------------------------------------------
@check("current_profile")
def current_profile(inp: CheckInput) -> list[Measurement]:
    """Measured draw in each state against the profile, and the runtime the capacity gives on the duty
    profile (what a lab does when a 12-hour run is too long)."""
    p = inp.profile.power
    tol = p.draw_tolerance
    measured: dict[str, float] = {}
    out = []
    for reading in _power(inp, "current"):
        state = reading.detail["state"]
        amps = float(reading.detail["amps"])
        measured.setdefault(state, amps)
        nominal = p.draw_a.of(state)
        low = 0.0 if state == "off" else nominal * (1 - tol)
        high = max(nominal * (1 + tol), 0.01) if state == "off" else nominal * (1 + tol)
        out.append(Measurement(f"current_a[{state}]", amps, "A", low, high, "BWC-PWR-01",
                               note=f"profile {nominal:g} A +/- {tol:.0%}; mean of {reading.detail['samples']} "
                               f"readings ({reading.detail['min_a']:.4f}..{reading.detail['max_a']:.4f} A) at "
                               f"{reading.detail['volts']:.3f} V"))
    duty = p.duty
    if "buffering" in measured and "recording" in measured and duty.hours > 0:
        mean = (duty.buffering_h * measured["buffering"] + duty.recording_h * measured["recording"]) / duty.hours
        estimate, note = p.capacity_ah / mean, (f"{p.capacity_ah:g} Ah / {mean:.4f} A (mean draw of "
                                                f"{duty.buffering_h:g} h buffering + {duty.recording_h:g} h recording)")
    else:
        estimate, note = None, "needs the buffering and the recording draw"
    out.append(Measurement("runtime_estimate_h", estimate, "h", max(SHIFT_H, p.claimed_runtime_h), None, "BWC-PWR-01",
                           note=note))
    return out
