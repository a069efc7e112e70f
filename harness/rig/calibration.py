"""The bench's calibration records: what each time correction is worth, when and how it was found.

A rig file points to a calibration file (``calibration: bench-calibration.yaml``, relative to the
rig file). Every figure in it is one :class:`CalibrationRecord`: the value, its standard
uncertainty (k=1, in the value's unit), the date, the method and who did it. The uncertainty
budget of every time measurement takes its figures from here (harness/checks/uncertainty.py), the
run record keeps a copy, and the report names every record older than the rig file's validity.

``present_time`` says where the display's present times come from: ``software log`` (when the
window process returned from showing a frame, paced by the PC clock) or ``photodiode`` (light edges
timestamped by the rig controller). The display-latency record is the uncertainty of that source.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from harness.core.config import load_model
from harness.plan.profile import Strict

PresentTimeSource = Literal["software log", "photodiode"]
DEFAULT_VALID_DAYS = 90


class CalibrationRecord(Strict):
    """One calibrated figure: value and standard uncertainty (k=1) in the unit its name gives."""

    value: float
    uncertainty: float = Field(ge=0, description="standard uncertainty (k=1), in the value's unit")
    date: dt.date
    method: str = Field(min_length=1, max_length=300)
    by: str = Field(min_length=1, max_length=80, description="who made the calibration")

    def record(self) -> dict[str, Any]:
        return {**self.model_dump(), "date": self.date.isoformat()}


class HistoryEntry(CalibrationRecord):
    """A record a newer calibration superseded (``bwc calibrate`` keeps every one)."""

    name: str = Field(min_length=1, max_length=80, description="the record's flat name (press_latency_ms.event)")


class Calibration(Strict):
    """The records of one bench (every one optional: a missing record leaves its budget line at
    the harness's conservative default, and the budget says so)."""

    present_time: PresentTimeSource = "software log"
    display_latency_ms: CalibrationRecord | None = None
    press_latency_ms: dict[str, CalibrationRecord] = Field(
        default_factory=dict, description="solenoid drive edge to button contact, per button"
    )
    speaker_distance_m: CalibrationRecord | None = None
    acoustic_delay_ms: CalibrationRecord | None = None
    controller_clock_ms: CalibrationRecord | None = Field(
        None, description="residual of the rig controller's clock mapping onto the harness clock"
    )
    photodiode_threshold: CalibrationRecord | None = Field(
        None, description="light level (fraction of full scale) the photodiode input switches at"
    )
    stimulus_offset_ms: CalibrationRecord | None = Field(
        None, description="the controller's A/V stimulus: when it fired against the instant asked for"
    )
    history: list[HistoryEntry] = Field(
        default_factory=list, description="superseded records, oldest first (the budget uses only the current ones)"
    )

    @field_validator("press_latency_ms")
    @classmethod
    def _buttons(cls, value: dict[str, CalibrationRecord]) -> dict[str, CalibrationRecord]:
        for button in value:
            if not button.isidentifier() or button.lower() != button:
                raise ValueError(f"button {button!r}: expected a lower-case button name of the camera profile")
        return value

    def records(self) -> dict[str, CalibrationRecord]:
        """Every record by a flat name (``press_latency_ms.event``)."""
        out: dict[str, CalibrationRecord] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, CalibrationRecord):
                out[name] = value
            elif isinstance(value, dict):
                out.update({f"{name}.{k}": v for k, v in value.items()})
        return out

    def stale(self, today: dt.date, valid_days: int) -> list[str]:
        """Names of the records older than ``valid_days`` on ``today``, with their age."""
        return [
            f"{name} of {r.date.isoformat()} is {(today - r.date).days} days old (valid {valid_days} days)"
            for name, r in self.records().items()
            if (today - r.date).days > valid_days
        ]

    def press_latency(self, button: str | None = None) -> CalibrationRecord | None:
        """The record of ``button``'s solenoid, or the worst-uncertainty one when no button is named."""
        if button is not None and button in self.press_latency_ms:
            return self.press_latency_ms[button]
        records = list(self.press_latency_ms.values())
        return max(records, key=lambda r: r.uncertainty) if records else None


class _CalibrationFile(Strict):
    calibration: Calibration


def load_calibration(path: Path | str) -> Calibration:
    """The calibration file at ``path``; a bad file raises one ConfigError naming the field."""
    return load_model(path, _CalibrationFile).calibration


def calibration_entry(
    calibration: Calibration, source: Path | str, valid_days: int, today: dt.date | None = None
) -> dict[str, Any]:
    """What the run record keeps of the calibration: the file, every record, and the stale ones."""
    today = today or dt.datetime.now(dt.UTC).date()
    return {
        "file": str(source),
        "present_time": calibration.present_time,
        "valid_days": valid_days,
        "records": {name: r.record() for name, r in calibration.records().items()},
        "stale": calibration.stale(today, valid_days),
    }
