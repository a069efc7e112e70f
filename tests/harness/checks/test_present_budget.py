"""The budget's present-time line adds the presenter's own scatter (swap jitter, refresh phase) to
the calibrated display latency's uncertainty; the ideal emulated display adds nothing."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace
from typing import cast

import pytest

from harness.checks.common import CheckInput
from harness.checks.uncertainty import present_time
from harness.devices.display import PresentUncertainty
from harness.rig.calibration import Calibration, CalibrationRecord


def _inp(present: PresentUncertainty | None, calibrated: bool = True) -> CheckInput:
    record = CalibrationRecord(value=12.0, uncertainty=0.4, date=dt.date(2026, 12, 1), method="camera", by="lab")
    cal = Calibration(display_latency_ms=record) if calibrated else None
    return cast(CheckInput, SimpleNamespace(calibration=cal, refresh_hz=60.0, present=present))


def test_the_presenter_adds_its_scatter_to_the_calibrated_latency() -> None:
    assert present_time(_inp(None)).u == pytest.approx(0.0004)
    gl = present_time(_inp(PresentUncertainty("gl (vsync)", 0.0003, "stamp jitter")))
    assert gl.u == pytest.approx(0.0005) and "presenter gl (vsync): 0.30 ms" in gl.note
    opencv = present_time(_inp(PresentUncertainty("opencv", 2 / 60 / math.sqrt(12), "two refreshes")))
    assert opencv.u > gl.u * 10, "the OpenCV fallback states a far larger present-time uncertainty"


def test_uncalibrated_presenter_keeps_the_one_refresh_default() -> None:
    item = present_time(_inp(PresentUncertainty("gl (paced)", 1 / 60 / math.sqrt(12), "paced"), calibrated=False))
    assert item.u == pytest.approx(math.hypot(1 / 60 / math.sqrt(3), 1 / 60 / math.sqrt(12)))
    assert "not calibrated" in item.note
