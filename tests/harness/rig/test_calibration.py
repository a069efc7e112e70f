"""Calibration records: the rig file's calibration file, validated, copied and aged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from harness.core.config import ConfigError
from harness.core.paths import RIGS_DIR
from harness.rig.calibration import calibration_entry, load_calibration
from harness.rig.factory import _calibration
from harness.rig.kinds import load_rig_spec

GOOD = """
calibration:
  present_time: software log
  display_latency_ms: {value: 12.0, uncertainty: 4.8, date: 2026-09-01, method: light sensor on the patch, by: A. Tech}
  press_latency_ms:
    event: {value: 18.0, uncertainty: 0.5, date: 2026-11-20, method: contact closure scope, by: A. Tech}
"""


def test_the_emulated_rig_has_a_calibration_file_that_loads() -> None:
    cal = load_calibration(RIGS_DIR / "emulated-calibration.yaml")
    assert cal.present_time == "software log"
    assert cal.display_latency_ms is not None and cal.press_latency("event") is not None
    spec, base = load_rig_spec(RIGS_DIR / "emulated.yaml")
    loaded, entry = _calibration(spec, base)
    assert loaded == cal and entry["records"]["press_latency_ms.event"]["by"] == "harness"
    default, _ = _calibration(load_rig_spec(None)[0], None)  # the built-in rig without a rig file
    assert default == cal


def test_a_record_older_than_the_validity_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text(GOOD)
    entry = calibration_entry(load_calibration(path), path, 90, today=dt.date(2026, 12, 5))
    assert entry["stale"] == ["display_latency_ms of 2026-09-01 is 95 days old (valid 90 days)"]
    assert entry["records"]["display_latency_ms"]["uncertainty"] == 4.8


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (GOOD.replace("uncertainty: 4.8", "uncertainty: -1"), "display_latency_ms.uncertainty"),
        (GOOD.replace("date: 2026-09-01", "date: yesterday"), "display_latency_ms.date"),
        (GOOD.replace(", by: A. Tech}", "}", 1), "display_latency_ms.by"),
        (GOOD.replace("software log", "webcam"), "present_time"),
        (GOOD.replace("event:", "Event Button:"), "press_latency_ms"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_calibration(path)
    assert named in str(err.value) and "\n" not in str(err.value)


def test_a_rig_file_naming_a_missing_calibration_file_says_so(tmp_path: Path) -> None:
    rig = tmp_path / "rig.yaml"
    rig.write_text("rig: {kind: emulated, calibration: nowhere.yaml}\n")
    spec, base = load_rig_spec(rig)
    with pytest.raises(ValueError, match=r"rig.emulated.calibration: no calibration file .*nowhere.yaml"):
        _calibration(spec, base)
