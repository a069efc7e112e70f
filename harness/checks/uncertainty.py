"""The uncertainty budget of every time measurement, built in one place from the bench's calibration
records and from what the analysis says about each clip.

Each source is a standard uncertainty (k=1) in the measurement's unit; they are independent and
combine by root sum of squares; the measurement carries ``U = 2 u_c`` and the budget itself, so
the report shows where U comes from. Sources:

* **present time**: when a display frame was really on the panel. ``software log`` (the window
  process's return from showing the frame) or ``photodiode`` (light edges on the controller's
  clock, harness/devices/present_photodiode.py): the calibration's display-latency record gives
  its uncertainty; without one, a software-logged frame is taken to be up to one refresh late
  and a photodiode edge within :data:`UNCALIBRATED_PHOTODIODE_S` of the light, both rectangular.
  The budget line names the source.
* **camera frame quantisation**: the time-code fit brackets where each frame's exposure midpoint
  lies (clean frames inside one display frame, blended ones around a switch; with the camera's
  phase sweeping the refresh the bracket narrows). A camera whose frame rate is locked to the
  refresh (30 fps on 60 Hz) never sweeps: every frame sits at the same unknown phase and the
  bracket stays about a refresh wide. The truth lies anywhere in it: rectangular, ``u = w / sqrt(3)``
  for half-width ``w``. Without a fit bracket: one frame period, ``u = T / sqrt(12)``.
* **rolling-shutter readout**: the time code is read from the rows of the display's middle, a
  frame's time is its centre row's. Readout takes at most a frame period per frame height and
  the code rows lie within ``ROLLING_ROWS`` frame heights of the centre on an aimed bench.
* **controller clock sync**: the residual of the controller clock's mapping onto the harness clock.
* **press latency**: the solenoid's drive edge to contact, per button (calibration).
* **acoustic delay**: the speaker distance's uncertainty, through the speed of sound.
* **reading interval**, **chirp location**, **audio block**, **camera clock resolution**: the
  resolution of the reading a measurement rests on, rectangular.

The decision rule (simple or guarded acceptance) is the catalogue's, or the run's override.
"""

from __future__ import annotations

import math
from dataclasses import replace

from harness.analysis.clip import ClipAnalysis
from harness.checks.common import CheckInput, Event
from harness.core.measurement import BudgetItem, Measurement
from harness.core.timeline import BufferingStarted
from harness.rig.calibration import CalibrationRecord
from harness.scene.stimulus import SPEED_OF_SOUND_M_S

SQRT3 = math.sqrt(3.0)
SQRT12 = math.sqrt(12.0)
K = 2.0  # coverage factor: about 95 % for a budget of a few comparable sources
#: the code rows' distance from the frame's centre row, in frame heights, on an aimed bench
ROLLING_ROWS = 0.1
#: uncalibrated controller clock mapping: the bound ``bwc rig check`` accepts by default (s)
UNCALIBRATED_SYNC_S = 0.001
#: uncalibrated photodiode: light on the patch to the comparator's edge, and patch to code rows (s)
UNCALIBRATED_PHOTODIODE_S = 0.002
#: uncalibrated solenoid: its latency is known to within this bound (s)
UNCALIBRATED_PRESS_S = 0.005
AUDIO_BLOCK_S = 0.01  # the audio envelope's block (harness.analysis.audio.BLOCK_S)

_SCALE = {"s": 1.0, "ms": 1000.0}


def _cal_u(record: CalibrationRecord | None, unit_s: float) -> float | None:
    """A record's standard uncertainty in seconds (``unit_s``: seconds per unit of its value)."""
    return None if record is None else record.uncertainty * unit_s


def present_time(inp: CheckInput) -> BudgetItem:
    """The photodiode's uncertainty when the bench times its display with one, else the software log's."""
    item = _present_latency(inp)
    p = inp.present
    if p is None or p.u_s <= 0 or item.source == "present time (photodiode)":
        return item  # the photodiode measures what the presenter's scatter would add
    # the presenter's own scatter about its calibrated latency (swap jitter, refresh phase)
    u = math.hypot(item.u, p.u_s)
    return BudgetItem(item.source, u, f"{item.note}; presenter {p.presenter}: {p.u_s * 1000:.2f} ms ({p.note})")


def _present_latency(inp: CheckInput) -> BudgetItem:
    """The calibrated latency's uncertainty, or the source's conservative default."""
    cal = inp.calibration
    source = cal.present_time if cal is not None else "software log"
    u = _cal_u(cal.display_latency_ms if cal is not None else None, 1e-3)
    if u is not None:
        assert cal is not None and cal.display_latency_ms is not None
        return BudgetItem(f"present time ({source})", u, f"calibration of {cal.display_latency_ms.date}")
    if source == "photodiode":
        return BudgetItem(
            "present time (photodiode)",
            UNCALIBRATED_PHOTODIODE_S / SQRT3,
            f"not calibrated: panel response and comparator within {UNCALIBRATED_PHOTODIODE_S * 1000:g} ms",
        )
    refresh = 1.0 / inp.refresh_hz
    return BudgetItem(
        f"present time ({source})", refresh / SQRT3, "not calibrated: up to one refresh late, rectangular"
    )


def frame_quantisation(inp: CheckInput, clip: ClipAnalysis | None) -> BudgetItem:
    half = clip.first_ref_uncertainty_s if clip is not None else None
    if half is not None and half > 0:
        note = f"time-code bracket +/-{half * 1000:.2f} ms (clean and blended frames), rectangular"
        if half * inp.refresh_hz > 0.4:
            note += (
                "; about a refresh wide: the frame phase swept too little of the refresh to place the frame "
                "closer (a frame rate locked to the refresh never sweeps)"
            )
        return BudgetItem("camera frame quantisation", half / SQRT3, note)
    return BudgetItem("camera frame quantisation", inp.period / SQRT12, "one frame period, rectangular")


def rolling_shutter(inp: CheckInput) -> BudgetItem:
    w = ROLLING_ROWS * inp.period
    return BudgetItem(
        "rolling-shutter readout",
        w / SQRT3,
        f"code rows within {ROLLING_ROWS:g} frame heights of the centre row, readout <= one frame period",
    )


def controller_sync(inp: CheckInput) -> BudgetItem:
    cal = inp.calibration
    u = _cal_u(cal.controller_clock_ms if cal is not None else None, 1e-3)
    if u is not None:
        return BudgetItem("controller clock sync", u, "residual of the clock mapping (calibration)")
    return BudgetItem(
        "controller clock sync", UNCALIBRATED_SYNC_S / SQRT3, f"not calibrated: {UNCALIBRATED_SYNC_S * 1000:g} ms bound"
    )


def press_latency(inp: CheckInput, gesture: str) -> BudgetItem:
    spec = inp.profile.gestures.get(gesture)
    button = spec.presses_made()[-1].button if spec is not None else None
    cal = inp.calibration
    record = cal.press_latency(button) if cal is not None else None
    if record is not None:
        return BudgetItem("press latency", record.uncertainty * 1e-3, f"{button or 'any'} button, {record.date}")
    return BudgetItem(
        "press latency", UNCALIBRATED_PRESS_S / SQRT3, f"not calibrated: {UNCALIBRATED_PRESS_S * 1000:g} ms bound"
    )


def acoustic_delay(inp: CheckInput) -> BudgetItem:
    cal = inp.calibration
    if cal is not None and cal.acoustic_delay_ms is not None:
        return BudgetItem("acoustic delay", cal.acoustic_delay_ms.uncertainty * 1e-3, "calibration")
    if cal is not None and cal.speaker_distance_m is not None:
        return BudgetItem(
            "acoustic delay", cal.speaker_distance_m.uncertainty / SPEED_OF_SOUND_M_S, "speaker distance calibration"
        )
    # uncalibrated: the distance known to 5 cm
    return BudgetItem("acoustic delay", 0.05 / SPEED_OF_SOUND_M_S / SQRT3, "not calibrated: distance +/-5 cm")


def _event(inp: CheckInput, m: Measurement) -> Event | None:
    n = m.dimensions.get("event")
    events = inp.events()
    return events[n - 1] if isinstance(n, int) and 0 < n <= len(events) else None


def _clip(ev: Event | None, last: bool = False) -> ClipAnalysis | None:
    if ev is None or ev.recording is None:
        return None
    return ev.recording.last if last else ev.recording.first


def budget_for(inp: CheckInput, m: Measurement) -> list[BudgetItem] | None:
    """The budget of ``m`` in seconds (None: not a time measurement this module budgets)."""
    q = m.quantity
    ev = _event(inp, m)
    if q in ("preroll_s", "rebuffered_preroll_s"):
        return [
            present_time(inp),
            frame_quantisation(inp, _clip(ev)),
            rolling_shutter(inp),
            controller_sync(inp),
            press_latency(inp, "start"),
        ]
    if q == "activation_latency_s":
        items = [controller_sync(inp), press_latency(inp, "start")]
        if inp.profile.event_marker_key:  # the marker's pts mapped to scene time through the time code
            return [present_time(inp), frame_quantisation(inp, _clip(ev)), rolling_shutter(inp), *items]
        return [*items, BudgetItem("audio block", AUDIO_BLOCK_S / SQRT12, "onset found to a 10 ms block")]
    if q == "stop_lag_s":
        return [
            present_time(inp),
            frame_quantisation(inp, _clip(ev, last=True)),
            rolling_shutter(inp),
            controller_sync(inp),
            press_latency(inp, "stop"),
        ]
    if q == "clock_offset_s":
        source = str(m.dimensions.get("source", ""))
        items = [present_time(inp), frame_quantisation(inp, _clip(ev)), rolling_shutter(inp)]
        if source == "container":
            items.append(BudgetItem("camera clock resolution", 1.0 / SQRT12, "container time in whole seconds"))
        elif source == "burned-in" and inp.profile.clock.burned_in == "text":
            items.append(BudgetItem("camera clock resolution", inp.period / SQRT12, "seconds' change found to a frame"))
        else:
            items.append(BudgetItem("camera clock resolution", 0.001 / SQRT12, "milliseconds"))
        return items
    if q in ("av_offset_ms", "av_offset_extreme_ms"):
        clip = _clip(ev)
        rate = clip.audio.sample_rate if clip is not None and clip.audio is not None else 0
        items = [present_time(inp), frame_quantisation(inp, clip), rolling_shutter(inp), acoustic_delay(inp)]
        if rate:
            items.append(BudgetItem("chirp location", 1.0 / rate / SQRT12, f"correlation peak at {rate} Hz"))
        return items
    if q == "boot_s":
        interval = _reading_interval(inp)
        if interval is None:
            return None
        return [BudgetItem("supply reading interval", interval / SQRT3, f"current read every {interval:g} s")]
    return None


def _reading_interval(inp: CheckInput) -> float | None:
    for action in inp.timeline.power("buffering"):
        if isinstance(action.detail, BufferingStarted):
            return action.detail.interval_s
    return None


def with_uncertainty(m: Measurement, items: list[BudgetItem], scale: float = 1.0) -> Measurement:
    """``m`` with its budget and U: ``items`` in a base unit (seconds), ``scale`` converts to the
    measurement's unit (1000 for ms)."""
    budget = tuple(BudgetItem(b.source, b.u * scale, b.note) for b in items)
    u = K * math.sqrt(sum(b.u**2 for b in budget))
    return replace(m, uncertainty=u, coverage_k=K, budget=budget)


def attach(inp: CheckInput, measurements: list[Measurement]) -> list[Measurement]:
    """Every measurement under the catalogue's decision rule; each time measurement with its budget
    and U (one that already carries a budget, made by its check, keeps it)."""
    rule = inp.limits.decision_rule
    out = []
    for m in measurements:
        if m.kind == "limit":
            m = replace(m, decision_rule=rule)
        if m.uncertainty is None and m.value is not None and m.unit in _SCALE:
            items = budget_for(inp, m)
            if items is not None:
                m = with_uncertainty(m, items, _SCALE[m.unit])
        out.append(m)
    return out


def drift_budget(fit_se_ppm: float, video_se_ppm: float) -> list[BudgetItem]:
    """A/V drift (ppm): the offsets' scatter about their fitted slope, and the video frame grid's
    rate error every video instant inherits (both standard errors, in ppm)."""
    return [
        BudgetItem("offset scatter about the slope", fit_se_ppm, "least-squares standard error"),
        BudgetItem("frame grid rate", video_se_ppm, "time-code fit standard error"),
    ]
