"""Power checks: shift runtime, low-battery warning, graceful cut-off, hard power cut, draw per state.

They read the typed ``power`` actions the power steps put in the done-timeline
(:mod:`harness.core.timeline`: power-on, battery set-up, the shutdown the power monitor saw, the
cut with the SHA-256 of the files saved before it, current readings), the clips (last frames by
time code, box layout, beeps in the audio, the camera's power log in its metadata) and the camera
profile's ``power`` block. Figures come from the requirement catalogue: the shift length, the
warning lead window, how close to the end footage must reach, the full-charge start.
"""

from __future__ import annotations

from pathlib import Path

from harness.analysis.beeps import find_beeps
from harness.analysis.clip import ClipAnalysis
from harness.analysis.container import finalisation
from harness.analysis.mapping import ClipMapping
from harness.checks.common import CheckInput, Event, Recording, metadata, utc_seconds
from harness.checks.preroll import boot_measurement, preroll_expectation
from harness.core.measurement import Declared, Measurement
from harness.core.timeline import Action, BatterySelected, CurrentReading, PowerCut, PowerOn, Shutdown

START_CHARGE = Declared("shift_start_soc", "%", "BWC-PWR-01", "catalogue")
RUNTIME = Declared("shift_runtime_h", "h", "BWC-PWR-01", "catalogue")  # or the profile's claim, if higher
RECORDING_H = Declared("shift_recording_h", "h", "BWC-PWR-01", "profile")
WARNING_LEAD = Declared("warning_lead_min", "min", "BWC-PWR-02", "catalogue")
WARNING_LOGGED = Declared("warning_logged", "entries", "BWC-PWR-02", "catalogue")
BEEPS_HEARD = Declared("warning_beeps_heard", "beeps", "BWC-PWR-02", "profile", ("event",))
CUTOFF_FINALISED = Declared("cutoff_file_finalised", "files", "BWC-PWR-03", "catalogue")
CUTOFF_LAST_FRAME = Declared("cutoff_last_frame_s", "s", "BWC-PWR-03", "catalogue", ("event",))
CUT_NO_RECORDING = Declared("cut_recovered_s", "s", "BWC-PWR-04", "catalogue")
CUT_RECOVERED = Declared("cut_recovered_s", "s", "BWC-PWR-04", "catalogue", ("event",))
CUT_UNREADABLE = Declared("cut_unreadable_files", "files", "BWC-PWR-04", "catalogue", ("event",))
EARLIER_DAMAGED = Declared("earlier_files_damaged", "files", "BWC-PWR-04", "catalogue")
REBUFFERED = Declared("rebuffered_preroll_s", "s", "BWC-PWR-04", "catalogue", ("event",))
CURRENT = Declared("current_a", "A", "BWC-PWR-01", "profile", ("state",))
RUNTIME_ESTIMATE = Declared("runtime_estimate_h", "h", "BWC-PWR-01", "catalogue")
MEASUREMENTS = (
    START_CHARGE,
    RUNTIME,
    RECORDING_H,
    WARNING_LEAD,
    WARNING_LOGGED,
    BEEPS_HEARD,
    CUTOFF_FINALISED,
    CUTOFF_LAST_FRAME,
    CUT_NO_RECORDING,
    CUT_RECOVERED,
    CUT_UNREADABLE,
    EARLIER_DAMAGED,
    REBUFFERED,
    CURRENT,
    RUNTIME_ESTIMATE,
)


# -- timeline helpers ------------------------------------------------------------------------
def _first_after(actions: list[Action], t: float) -> Action | None:
    return next((a for a in sorted(actions, key=lambda a: a.t) if a.t >= t), None)


def _battery_on(inp: CheckInput) -> Action | None:
    """The first power-on from the battery simulator."""
    return next((a for a in inp.timeline.power("on") if isinstance(a.detail, PowerOn) and a.detail.battery), None)


def _shutdown(inp: CheckInput) -> tuple[Action | None, Action | None]:
    """(the battery power-on, the first shutdown the monitor saw after it)."""
    on = _battery_on(inp)
    return on, None if on is None else _first_after(inp.timeline.power("shutdown"), on.t)


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
    if not isinstance(d, Shutdown):
        return f"shutdown at {shutdown.t:.1f} s"
    return (
        f"shutdown seen by the power monitor between {d.last_running_t:.1f} s and "
        f"{d.first_off_t:.1f} s (current {d.amps_before:.3f} A -> {d.amps_after:.3f} A)"
    )


def _shift_h(inp: CheckInput) -> float:
    """The shortest runtime accepted: the catalogue's shift, or the vendor's claim if higher."""
    low, _ = inp.limits.bounds("BWC-PWR-01", "shift", "h")
    return max(low or 0.0, inp.profile.power.claimed_runtime_h)


# -- BWC-PWR-01: shift runtime ------------------------------------------------------------------
def shift_runtime(inp: CheckInput) -> list[Measurement]:
    """Runtime from full charge on the duty profile, from the power monitor's shutdown."""
    p = inp.profile.power
    low = _shift_h(inp)
    on, shutdown = _shutdown(inp)
    battery = next((a.detail for a in inp.timeline.power("battery") if isinstance(a.detail, BatterySelected)), None)
    out = [
        START_CHARGE(
            None if battery is None else float(battery.soc),
            *inp.limits.bounds("BWC-PWR-01", "start_charge", "%"),
            note="the runtime is judged from a full battery",
        )
    ]
    if on is None:
        return [*out, RUNTIME(None, low, None, note="the camera was never powered from the battery simulator")]
    end = shutdown.t if shutdown is not None else inp.timeline.actions[-1].t
    hours = (end - on.t) / 3600
    value: float | None = hours
    if shutdown is not None:
        note = f"power-on to shutdown; {_monitor_note(shutdown)}; claim {p.claimed_runtime_h:g} h"
    elif hours >= low:
        note = f"still running when the scenario ended: a lower bound; claim {p.claimed_runtime_h:g} h"
    else:
        value, note = None, f"no shutdown seen, and the scenario ended after {hours:.2f} h"
    out.append(RUNTIME(value, low, None, note=note))
    recording = _recording_hours(inp, on.t, end)
    out.append(
        RECORDING_H(
            recording,
            p.duty.recording_h * 0.99,
            None,
            note=f"recording hours of the duty profile ({p.duty.buffering_h:g} h buffering + "
            f"{p.duty.recording_h:g} h recording) done before the end",
        )
    )
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
def _camera_offset_s(inp: CheckInput, clip: ClipAnalysis) -> float | None:
    """Camera clock minus reference UTC, from the clip's own start time in its metadata."""
    meta = metadata(clip, inp.profile.clock.metadata_key or inp.profile.event_marker_key)
    if meta is None or inp.reference_utc is None or clip.first_ref_s is None:
        return None
    start = utc_seconds(meta.get("camera_start_utc", ""))
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
                utc = utc_seconds(entry.get("utc", ""))
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
    first_beep = min(beeps, default=None, key=lambda b: b[0])
    unknown_start: str | None = None  # why a lead from the beeps is only a lower bound
    if logged:
        warned, source = logged[0][0], f"camera log in {logged[0][1]}"
    elif first_beep is not None:
        warned, source = first_beep[0], "first beep heard (no log entry): a lower bound on the lead"
        rec = first_beep[1].recording
        heard_from = rec.first_ref_s if inp.profile.audio.in_buffer and rec is not None else first_beep[1].start.t
        if first_beep[0] - heard_from < p.warning_repeat_s + p.warning_beep_s:
            unknown_start = (
                "the first beep heard came within one beep interval of the start of the recorded audio, so "
                "the warning may have begun before it; with no log entry the lead cannot be timed (record "
                "across the warning's start to time it from its beeps)"
            )
    else:
        warned, source = None, "no warning logged or heard"
    lead = None if warned is None or shutdown is None else (shutdown.t - warned) / 60
    note = source if shutdown is None else f"{source}; {_monitor_note(shutdown)}"
    low, high = inp.limits.bounds("BWC-PWR-02", "lead", "min")
    if unknown_start is not None and lead is not None and low is not None and lead < low:
        lead_m = WARNING_LEAD(None, low, high, note=note, not_measurable=unknown_start)
    else:
        lead_m = WARNING_LEAD(lead, low, high, note=note if shutdown is not None else f"{note}; no shutdown seen")
    if inp.profile.event_marker_key is None and inp.profile.clock.metadata_key is None:
        logged_m = WARNING_LOGGED(
            None, 1, None, not_measurable="the camera writes no log into its files (no metadata tag in its profile)"
        )
    else:
        logged_m = WARNING_LOGGED(
            1 if logged else 0, 1, None, note="low-battery entry in the camera's log (file metadata)"
        )
    out = [lead_m, logged_m]
    if warned is not None:  # beeps due while the camera recorded audio after the warning
        for ev in inp.events():
            if ev.recording is None:
                continue
            window = ev.recording.last_ref_s - max(ev.start.t, warned) - p.warning_beep_s
            due = max(0, int(window // p.warning_repeat_s))  # the fewest any beep phase gives
            if due == 0:
                continue
            heard = sum(1 for _, e in beeps if e.index == ev.index)
            out.append(
                BEEPS_HEARD(
                    heard,
                    due,
                    None,
                    event=ev.index,
                    note=f"a {p.warning_beep_hz:g} Hz beep every {p.warning_repeat_s:g} s: at least "
                    f"{due} in the {window + p.warning_beep_s:.0f} s recorded after the warning",
                )
            )
    return out


# -- BWC-PWR-03: graceful cut-off ---------------------------------------------------------------
def cutoff(inp: CheckInput) -> list[Measurement]:
    """The recording running when the battery gave out: last file finalised, last frame near shutdown."""
    _, shutdown = _shutdown(inp)
    if shutdown is None:
        return [CUTOFF_FINALISED(None, 1, 1, note="the camera never shut down on its battery")]
    ev = _recording_at(inp, shutdown.t)
    if ev is None or ev.recording is None:
        return [
            CUTOFF_FINALISED(
                None,
                1,
                1,
                note="no recording was running when the camera shut down"
                if ev is None
                else f"no file of the recording started at {ev.start.t:.1f} s",
            )
        ]
    last = ev.recording.last
    done = finalisation(last.path)
    finalised = 1 if done.finalised and last.error is None else 0
    reason = done.reason if last.error is None else f"{done.reason}; {last.error}"
    end = ev.recording.last_ref_s + inp.period - shutdown.t
    return [
        CUTOFF_FINALISED(finalised, 1, 1, note=f"{Path(last.path).name}: {reason}"),
        CUTOFF_LAST_FRAME(
            end,
            -inp.limits.figure("BWC-PWR-03", "end_loss", "s"),
            None,
            event=ev.index,
            note=f"end of the last frame minus shutdown; {_monitor_note(shutdown)}",
        ),
    ]


# -- BWC-PWR-04: hard power cut ---------------------------------------------------------------
def power_cut(inp: CheckInput) -> list[Measurement]:
    """After a hard cut while recording: footage recoverable up to the cut, files readable, earlier
    files unchanged (the SHA-256 taken just before the cut against the evidence copy)."""
    cuts = inp.timeline.power("cut")
    end_loss = inp.limits.figure("BWC-PWR-04", "end_loss", "s")
    if not cuts:
        return [CUT_NO_RECORDING(None, -end_loss, None, note="the scenario has no 'power: cut' step")]
    cut = cuts[0]
    out = []
    ev = _recording_at(inp, cut.t)
    if ev is None:
        out.append(CUT_NO_RECORDING(None, -end_loss, None, note="no recording was running at the cut"))
    elif ev.recording is None:
        out.append(
            CUT_RECOVERED(
                None, -end_loss, None, event=ev.index, note="nothing of the interrupted recording could be read"
            )
        )
    else:
        last = ev.recording.last
        done = finalisation(last.path)
        out.append(
            CUT_RECOVERED(
                ev.recording.last_ref_s + inp.period - cut.t,
                -end_loss,
                None,
                event=ev.index,
                note=f"end of the last recovered frame minus the cut ({Path(last.path).name}: {done.reason})",
            )
        )
        broken = [c for c in ev.recording.clips if c.error]
        out.append(
            CUT_UNREADABLE(
                len(broken),
                0,
                0,
                event=ev.index,
                note="; ".join(f"{Path(c.path).name}: {c.error}" for c in broken)
                or "every file of the interrupted recording reads to its last frame",
            )
        )
    out += _rebuffered(inp, cut)
    before: dict[str, str] = cut.detail.files if isinstance(cut.detail, PowerCut) else {}
    low, high = inp.limits.bounds("BWC-PWR-04", "damaged", "files")
    if isinstance(cut.detail, PowerCut) and cut.detail.unreachable is not None:
        why = f"{cut.detail.unreachable}: the files saved before the cut could not be hashed at the cut"
        out.append(EARLIER_DAMAGED(None, low or 0, high, not_measurable=why))
        return out
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
    out.append(
        EARLIER_DAMAGED(
            len(damaged),
            low or 0,
            high,
            note="; ".join(damaged) or f"{len(before)} file(s) saved before the cut: unchanged, readable",
        )
    )
    return out


def _rebuffered(inp: CheckInput, cut: Action) -> list[Measurement]:
    """After power returns the camera boots and buffers again: the first event's pre-roll is the
    time since buffering began (measured from the supply current; to half a second here, BWC-PRE-02
    judges pre-roll to a frame), and the measured boot behind it is judged as well."""
    on = _first_after(inp.timeline.power("on"), cut.t)
    if on is None:
        return []
    ev = next((e for e in inp.events() if e.start.t > on.t), None)
    if ev is None:
        return []
    e = preroll_expectation(inp, ev.start.t)
    tol = inp.limits.figure("BWC-PWR-04", "rebuffer_tolerance", "s") + e.uncertainty_s
    value = None if ev.recording is None else ev.start.t - ev.recording.first_ref_s
    origin = e.boot.describe(inp.profile) if e.boot is not None else "full buffer"
    out = [
        REBUFFERED(
            value,
            e.value - tol,
            e.value + tol,
            event=ev.index,
            note=f"first event after power returned: pre-roll {e.value:.2f} s expected ({origin}), +/- {tol:g} s",
        )
    ]
    if e.boot is not None:
        out.append(boot_measurement(inp, e.boot, ev.index))
    return out


# -- draw per state and runtime estimate (BWC-PWR-01) -------------------------------------------------
def current_profile(inp: CheckInput) -> list[Measurement]:
    """Measured draw in each state against the profile, and the runtime the capacity gives on the duty
    profile (what a lab does when a 12-hour run is too long)."""
    p = inp.profile.power
    tol = p.draw_tolerance
    measured: dict[str, float] = {}
    out = []
    for action in inp.timeline.power("current"):
        reading = action.detail
        if not isinstance(reading, CurrentReading):
            continue
        state = reading.state
        amps = float(reading.amps)
        measured.setdefault(state, amps)
        nominal = p.draw_a.of(state)
        low = 0.0 if state == "off" else nominal * (1 - tol)
        high = max(nominal * (1 + tol), 0.01) if state == "off" else nominal * (1 + tol)
        out.append(
            CURRENT(
                amps,
                low,
                high,
                state=state,
                note=f"profile {nominal:g} A +/- {tol:.0%}; mean of {reading.samples} "
                f"readings ({reading.min_a:.4f}..{reading.max_a:.4f} A) at {reading.volts:.3f} V",
            )
        )
    duty = p.duty
    if "buffering" in measured and "recording" in measured and duty.hours > 0:
        mean = (duty.buffering_h * measured["buffering"] + duty.recording_h * measured["recording"]) / duty.hours
        estimate, note = (
            p.capacity_ah / mean,
            (
                f"{p.capacity_ah:g} Ah / {mean:.4f} A (mean draw of "
                f"{duty.buffering_h:g} h buffering + {duty.recording_h:g} h recording)"
            ),
        )
    else:
        estimate, note = None, "needs the buffering and the recording draw"
    out.append(RUNTIME_ESTIMATE(estimate, _shift_h(inp), None, note=note))
    return out
