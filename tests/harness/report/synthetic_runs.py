"""Synthetic run folders for the report tests: a record.json with clips on disk, no rig needed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def measurement(
    name: str, value: float | None, low: float | None, high: float | None, requirement: str, unit: str = "s"
) -> dict:
    inside = value is not None and (low is None or value >= low) and (high is None or value <= high)
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "low": low,
        "high": high,
        "outcome": "pass" if inside else "fail",
        "requirement": requirement,
        "note": "",
    }


def write_run(
    folder: Path, tests: list[dict], phase: str = "Phase 1", status: str = "complete", firmware: str = "2.0.1"
) -> Path:
    """Write clips (a few bytes each, hashed like ingest does) and record.json; return the record path."""
    folder.mkdir(parents=True, exist_ok=True)
    for test in tests:
        clips = []
        for i in range(test.pop("n_clips", 1)):
            clip = folder / "evidence" / test["scenario"] / f"CAM_{i + 1:04d}.mp4"
            clip.parent.mkdir(parents=True, exist_ok=True)
            clip.write_bytes(f"{test['scenario']} clip {i} {phase}".encode() * 100)
            clips.append({"path": str(clip), "sha256": hashlib.sha256(clip.read_bytes()).hexdigest()})
        test.setdefault("clips", clips)
        test.setdefault("title", test["scenario"].replace("-", " "))
        test.setdefault("error", None)
    record = {
        "phase": phase,
        "status": status,
        "start_utc": "2026-01-01T00:00:00+00:00",
        "end_utc": "2026-01-01T01:00:00+00:00",
        "rig": {"name": "lab-bench-1", "clock": "RealClock", "kind": "bench"},
        "camera": {"vendor": "Acme", "model": "BWC-9", "serial": "SN-42", "firmware": firmware},
        "instruments": {"power": "KEITHLEY INSTRUMENTS,MODEL 2281S-20-6,1,1.0", "rig_controller": "RIG,1.0,R-1"},
        "faults": [],
        "tests": tests,
    }
    path = folder / "record.json"
    path.write_text(json.dumps(record, indent=2))
    return path


def two_scenarios(preroll: float = 120.0, join_missing: int = 0, second_verdict: str = "pass") -> list[dict]:
    """A pre-roll scenario and a stop scenario; arguments move values or break things."""
    pre = [
        measurement("preroll_s[event 1]", preroll, 119.9667, 120.0333, "BWC-PRE-01"),
        measurement("join_missing_frames[event 1]", join_missing, 0, 0, "BWC-CONT-01", "frames"),
        measurement("clips_saved", 1, 1, 1, "BWC-EVT-01", "clips"),
    ]
    stop = [measurement("stop_lag_s[event 1]", 0.02, -0.0333, 1.0, "BWC-STOP-01")]
    return [
        {
            "scenario": "preroll-full-buffer",
            "requirements": ["BWC-PRE-01", "BWC-CONT-01", "BWC-EVT-01"],
            "verdict": "pass" if preroll == 120.0 and join_missing == 0 else "fail",
            "measurements": pre,
        },
        {
            "scenario": "stop",
            "requirements": ["BWC-STOP-01", "BWC-STOP-02"],
            "verdict": second_verdict,
            "measurements": stop if second_verdict != "error" else [],
            **({"error": "ConnectionError: rig controller did not answer"} if second_verdict == "error" else {}),
        },
    ]
