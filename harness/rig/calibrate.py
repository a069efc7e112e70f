"""``bwc calibrate display|press|av``: measure the bench's time corrections and keep them, dated,
in the calibration file the rig file points to.

Each procedure asks the operator where a person must act (hold the light probe on the patch,
mount the camera under the solenoids, read the speaker distance off a tape) and measures what the
rig can measure itself:

* **display**: the display's present log against a light probe on the scene's patch (a
  photodiode timestamped on the harness clock): the latency is the mean of edge minus logged
  present time over every frame of a few seconds, its uncertainty the frames' scatter, the mean's
  standard error and the controller clock mapping's bound. A rig without a light probe asks for a
  value measured outside the harness (and says so in the record's method).
* **press**: every button of the camera profile pressed a few times through the rig controller;
  the latency is the controller's drive edge (its own EDGE timestamp) to the instant the camera
  registered the contact. Without a contact probe the operator enters each figure.
* **av**: the operator enters the speaker-to-microphone distance and the air temperature; the
  acoustic delay is the distance over the speed of sound at that temperature, with both readings'
  uncertainties carried through; the controller's stimulus firing is measured against the
  instants it was asked for.

Writing keeps history: a record a new calibration supersedes moves to the file's ``history``,
and the file is replaced atomically (a new file beside it, renamed over it), so a crash never
leaves half a calibration file.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml

from harness.devices.operator import Answer, Operator, Prompt, PromptUnanswered
from harness.devices.present_photodiode import PhotodiodePresentLog, use_photodiode
from harness.devices.rig_controller import RigControllerError
from harness.plan.profile import Gesture
from harness.rig.calibration import Calibration, CalibrationRecord, load_calibration

Procedure = Literal["display", "press", "av"]
PROCEDURES: tuple[Procedure, ...] = ("display", "press", "av")
NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)"
SQRT3 = math.sqrt(3.0)
#: a distance read off a tape measure: +/- this, rectangular (m)
TAPE_READING_M = 0.005
#: the air temperature at the bench: +/- this, rectangular (degrees C)
TEMPERATURE_READING_C = 3.0
#: how long after a drive edge the camera's contact is looked for (s)
CONTACT_WINDOW_S = 0.5
#: the rig controller's timestamp resolution (s)
TICK_S = 1e-6


class CalibrationError(RuntimeError):
    """A calibration could not be made; the message is one line naming what and why."""


class LightProbe(Protocol):
    """A photodiode on the scene's patch: the instant each presented frame's light reached it."""

    describe: str

    def edges(self, t0: float, t1: float) -> list[tuple[int, float]]:
        """``(display frame, harness time)`` of the frames presented in [t0, t1)."""
        ...


class ContactProbe(Protocol):
    """Where the camera registers a button's contact (the emulated camera's contacts)."""

    describe: str

    def downs(self, button: str, t0: float, t1: float) -> list[float]:
        """Harness times the camera saw ``button`` go down in [t0, t1)."""
        ...


@dataclass
class Calibrated:
    """What a procedure found: the new records by flat name and lines saying how."""

    records: dict[str, CalibrationRecord] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


class _Asker:
    """Asks the operator; remembers who answered (the records' ``by``); a missing answer or a
    value outside its range ends the calibration with one line."""

    def __init__(self, operator: Operator, by: str | None) -> None:
        self.operator = operator
        self.by = by

    def _ask(self, prompt: Prompt) -> Answer:
        answer = self.operator.ask(prompt)
        if not answer.ok:
            raise CalibrationError(str(PromptUnanswered(prompt, answer)))
        if self.by is None:
            self.by = answer.by
        return answer

    def confirm(self, text: str, key: str) -> None:
        self._ask(Prompt(text, "confirm", key=key))

    def number(self, text: str, key: str, low: float, high: float, unit: str) -> float:
        answer = self._ask(Prompt(text, "value", key=key, pattern=NUMBER))
        try:
            value = float(answer.value or "")
        except ValueError:
            raise CalibrationError(f"{key}: {answer.value!r} is not a number") from None
        if not low <= value <= high:
            raise CalibrationError(f"{key}: {value:g} {unit} is outside {low:g}..{high:g} {unit}")
        return value


def _record(value: float, u: float, today: dt.date, method: str, by: str) -> CalibrationRecord:
    """Value to 4 decimals; the uncertainty rounded up, never down."""
    return CalibrationRecord(
        value=round(value, 4) + 0.0, uncertainty=math.ceil(u * 1e4 - 1e-9) / 1e4, date=today, method=method, by=by
    )


def _timing_u(samples_sd: float, sem: float, sync_bound_s: float) -> float:
    """A timed figure's standard uncertainty (s): the samples' scatter, their mean's standard error,
    the controller clock mapping's bound (rectangular) and the controller's 1 us timestamp (rectangular)."""
    return math.sqrt(samples_sd**2 + sem**2 + (sync_bound_s / SQRT3) ** 2 + (TICK_S / math.sqrt(12.0)) ** 2)


def _sync_bound_s(rig: Any) -> float:
    """The controller clock mapping's bound now (s): how well a controller timestamp is on the harness clock."""
    return float(rig.controller.sync(8).uncertainty_s)


def _scatter(samples: list[float]) -> tuple[float, float, float]:
    """Mean, standard deviation and standard error of the mean."""
    mean = statistics.fmean(samples)
    sd = statistics.stdev(samples) if len(samples) > 1 else 0.0
    return mean, sd, sd / math.sqrt(len(samples))


# -- the probes an emulated rig has -------------------------------------------------------------


class _EmulatedContacts:
    describe = "emulated camera's button contacts"

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator

    def downs(self, button: str, t0: float, t1: float) -> list[float]:
        return [t for t, b, down in self.emulator.contacts if b == button and down and t0 <= t < t1]


class PhotodiodeProbe:
    """A bench's photodiode on the patch, wired to the rig controller (``LIGHT`` edges, BWC-RIG/1.1):
    each frame's measured light edge, decoded by the photodiode present log, against the time the
    display's own pacing log says it was presented (its ``software`` log)."""

    describe = "photodiode on the patch, edges stamped by the rig controller"

    def __init__(self, log: PhotodiodePresentLog) -> None:
        self.log = log

    def edges(self, t0: float, t1: float) -> list[tuple[int, float]]:
        self.log.update()
        out = []
        for n, logged in zip(self.log.software.n, self.log.software.present, strict=True):
            measured = self.log.present_time(n) if t0 <= logged < t1 else None
            if measured is not None:
                out.append((int(n), measured - self.log.latency_s))
        return out


def light_probe(rig: Any) -> LightProbe | None:
    """The rig's light probe on the patch (None: it has none; the operator enters the figure): the
    emulated one, or a bench's photodiode when the rig controller has a photodiode input."""
    if rig.display is None:
        return None
    if rig.emulator is not None:
        from harness.emulator.light_probe import EmulatedLightProbe

        return EmulatedLightProbe(rig.display.log, rig.emulator.panel_latency_s)
    log = rig.display.log
    if not isinstance(log, PhotodiodePresentLog):
        try:  # arm the controller's photodiode input (a controller without one refuses)
            log = use_photodiode(rig.display, rig.controller, latency_s=0.0)
        except RigControllerError:
            return None
    return PhotodiodeProbe(log)


def contact_probe(rig: Any) -> ContactProbe | None:
    """Where the rig sees the camera register a press (None: nowhere; the operator enters the figures)."""
    return _EmulatedContacts(rig.emulator) if rig.emulator is not None else None


# -- the procedures -------------------------------------------------------------------------------


def calibrate_display(rig: Any, ask: _Asker, today: dt.date, seconds: float = 2.0) -> Calibrated:
    out = Calibrated()
    probe = light_probe(rig)
    if probe is None or rig.display is None:
        ask.confirm(
            "This rig has no light probe the harness reads: measure the display latency (frame handed to "
            "the display -> light on the panel) with a photodiode and an oscilloscope, then confirm",
            "display_latency_measured",
        )
        ms = ask.number("Enter the measured display latency in ms", "display_latency_ms", 0, 500, "ms")
        u = ask.number("Enter its standard uncertainty in ms", "display_latency_u_ms", 0.001, 100, "ms")
        out.records["display_latency_ms"] = _record(
            ms, u, today, "entered: measured outside the harness (photodiode and oscilloscope)", ask.by or "operator"
        )
        out.lines.append(f"display latency {ms:g} ms +/- {u:g} ms (entered)")
        return out
    ask.confirm(
        "Hold the light probe (photodiode) on the scene's patch, in the corner of the display, and confirm",
        "light_probe_on_patch",
    )
    clock, log = rig.clock, rig.display.log
    if isinstance(log, PhotodiodePresentLog):  # measured times: compare with what the display itself logged
        log = log.software
    t0 = clock.now()
    clock.sleep(seconds)
    t1 = clock.now()
    edges = probe.edges(t0, t1)
    deltas = []
    for n, t in edges:
        present = log.present_time(n)
        if present is not None:  # the log's present time without the latency it already adds
            deltas.append(t - (present - log.latency_s))
    if len(deltas) < 10:
        raise CalibrationError(
            f"display: the light probe saw {len(edges)} frame(s) in {seconds:g} s: is it on the patch?"
        )
    mean, sd, sem = _scatter(deltas)
    u = _timing_u(sd, sem, _sync_bound_s(rig))
    method = (
        f"light probe on the patch vs the present log: {len(deltas)} frames over {seconds:g} s "
        f"({probe.describe}; {rig.display.describe()}); u: frame scatter, standard error, controller clock bound"
    )
    out.records["display_latency_ms"] = _record(mean * 1e3, u * 1e3, today, method, ask.by or "operator")
    out.lines.append(
        f"display latency {mean * 1e3:.3f} ms +/- {u * 1e3:.3f} ms (k=1) over {len(deltas)} frames, "
        f"scatter {sd * 1e3:.3f} ms"
    )
    return out


def calibrate_press(rig: Any, ask: _Asker, today: dt.date, presses: int = 5) -> Calibrated:
    out = Calibrated()
    buttons = list(rig.profile.buttons)
    probe = contact_probe(rig)
    if probe is None:
        ask.confirm(
            "This rig cannot see a button's contact: measure each solenoid's latency (drive edge -> "
            "button contact) with an oscilloscope on a contact wire, then confirm",
            "press_latency_measured",
        )
        for b in buttons:
            ms = ask.number(
                f"Enter the latency of the {b} button's solenoid in ms", f"press_latency_ms.{b}", 0, 500, "ms"
            )
            u = ask.number(f"Enter its standard uncertainty in ms ({b})", f"press_latency_u_ms.{b}", 0.001, 100, "ms")
            out.records[f"press_latency_ms.{b}"] = _record(
                ms, u, today, "entered: measured outside the harness (oscilloscope)", ask.by or "operator"
            )
            out.lines.append(f"press latency {b}: {ms:g} ms +/- {u:g} ms (entered)")
        return out
    ask.confirm(
        f"Mount the camera in its holder with a solenoid on each button ({', '.join(buttons)}); the harness "
        f"presses each {presses} times. Confirm when ready",
        "press_rig_ready",
    )
    sync = _sync_bound_s(rig)
    for b in buttons:
        samples = []
        for _ in range(presses):
            result = rig.controller.perform(f"calibrate {b}", Gesture(button=b, presses=1, press_s=0.1))
            drive = next(e.t for e in result.edges if e.button == b and e.down)
            rig.clock.sleep(0.3)  # the contact and the release have happened
            downs = probe.downs(b, drive - 0.001, drive + CONTACT_WINDOW_S)
            if not downs:
                raise CalibrationError(
                    f"press {b}: no contact within {CONTACT_WINDOW_S:g} s of the drive edge: is the solenoid on the button?"
                )
            samples.append(downs[0] - drive)
        mean, sd, sem = _scatter(samples)
        u = _timing_u(sd, sem, sync)
        method = (
            f"controller EDGE (drive) to the camera's contact, {presses} presses ({probe.describe}); "
            "u: press scatter, standard error, controller clock bound"
        )
        out.records[f"press_latency_ms.{b}"] = _record(mean * 1e3, u * 1e3, today, method, ask.by or "operator")
        out.lines.append(f"press latency {b}: {mean * 1e3:.3f} ms +/- {u * 1e3:.4f} ms (k=1) over {presses} presses")
    return out


def speed_of_sound(celsius: float) -> float:
    """In dry air (m/s): 331.3 sqrt(1 + T / 273.15)."""
    return 331.3 * math.sqrt(1.0 + celsius / 273.15)


def calibrate_av(rig: Any, ask: _Asker, today: dt.date, flashes: int = 5) -> Calibrated:
    out = Calibrated()
    d = ask.number(
        "Measure the distance from the stimulus speaker to the camera's microphone with a tape; enter it in m",
        "speaker_distance_m",
        0.01,
        20,
        "m",
    )
    celsius = ask.number("Enter the air temperature at the bench in degrees C", "air_temperature_c", -20, 50, "C")
    by = ask.by or "operator"
    u_d = TAPE_READING_M / SQRT3
    out.records["speaker_distance_m"] = _record(
        d, u_d, today, f"tape measure, read to +/-{TAPE_READING_M * 1000:g} mm (rectangular)", by
    )
    c = speed_of_sound(celsius)
    dc_dt = 331.3 / (2 * 273.15 * math.sqrt(1.0 + celsius / 273.15))
    u_t = TEMPERATURE_READING_C / SQRT3
    delay = d / c
    u_delay = math.hypot(u_d / c, delay / c * dc_dt * u_t)
    out.records["acoustic_delay_ms"] = _record(
        delay * 1e3,
        u_delay * 1e3,
        today,
        f"distance / speed of sound at {celsius:g} C ({c:.1f} m/s); u: tape +/-{TAPE_READING_M * 1000:g} mm, "
        f"temperature +/-{TEMPERATURE_READING_C:g} C",
        by,
    )
    out.lines.append(f"speaker distance {d:g} m; acoustic delay {delay * 1e3:.3f} ms +/- {u_delay * 1e3:.3f} ms (k=1)")
    if rig.stimulus or rig.emulator is not None:  # the controller fires the stimulus: how close to the asked instant
        offsets = []
        for i in range(flashes):
            at = rig.clock.now() + rig.controller.LEAD_S + 0.05 * i
            offsets.append(rig.controller.flash(0.02, at_t=at).on_t - at)
        mean, sd, sem = _scatter(offsets)
        u = _timing_u(sd, sem, _sync_bound_s(rig))
        out.records["stimulus_offset_ms"] = _record(
            mean * 1e3,
            u * 1e3,
            today,
            f"controller EDGE of {flashes} stimuli against the instants asked for; u: scatter, standard error, clock bound",
            by,
        )
        out.lines.append(f"stimulus fired {mean * 1e3:+.3f} ms from the instant asked, +/- {u * 1e3:.4f} ms (k=1)")
    return out


def run_calibration(
    procedure: Procedure,
    rig: Any,
    operator: Operator,
    by: str | None = None,
    today: dt.date | None = None,
    seconds: float = 2.0,
    presses: int = 5,
) -> Calibrated:
    """Run one procedure on an open rig (``seconds``: how long the display is measured; ``presses``:
    per button); raises :class:`CalibrationError` with one line."""
    today = today or dt.datetime.now(dt.UTC).date()
    ask = _Asker(operator, by)
    if procedure == "display":
        return calibrate_display(rig, ask, today, seconds)
    if procedure == "press":
        return calibrate_press(rig, ask, today, presses)
    return calibrate_av(rig, ask, today)


# -- the calibration file -------------------------------------------------------------------------


class _NoAliases(yaml.SafeDumper):
    """Every value written out in full (records of one run share their date object)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_records(path: Path, records: dict[str, CalibrationRecord]) -> Calibration:
    """Put ``records`` (flat names: ``press_latency_ms.event``) into the calibration file at
    ``path``: each record it replaces moves to ``history``; the leading comment lines stay; the
    file is replaced atomically. Returns the calibration as written (validated before writing)."""
    load_calibration(path)  # the file as it is must be valid: never build on a broken one
    text = path.read_text(encoding="utf-8")
    header = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    raw = yaml.safe_load(text)
    cal: dict[str, Any] = raw["calibration"]
    history: list[dict[str, Any]] = cal.setdefault("history", []) or []
    cal["history"] = history
    for name, record in records.items():
        section, _, key = name.partition(".")
        holder: dict[str, Any] = cal.setdefault(section, {}) if key else cal
        slot = key or section
        old = holder.get(slot)
        if isinstance(old, dict):
            history.append({"name": name, **old})
        holder[slot] = record.model_dump()  # the date stays a YAML date
    if not history:
        del cal["history"]
    written = Calibration.model_validate(cal)  # what goes to disk loads again
    body = yaml.dump(raw, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=120)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(header) + ("\n" if header else "") + body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written
