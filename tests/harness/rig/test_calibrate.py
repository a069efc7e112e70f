"""``bwc calibrate``: on the emulated bench each procedure measures what the emulator was set to
(panel latency, solenoid latency per button) within its stated uncertainty, a figure typed at a
prompt lands in the calibration file, earlier entries stay in its history, a bad value is one
clear line, and an entry older than the validity makes the record say so."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.cli import main
from harness.core.paths import RIGS_DIR
from harness.devices.operator import TerminalOperator
from harness.emulator import operator as auto_operator
from harness.emulator.operator import AutoOperator
from harness.rig.calibrate import CalibrationError, run_calibration, speed_of_sound, write_records
from harness.rig.calibration import load_calibration
from harness.rig.factory import open_rig
from harness.rig.kinds import load_rig_spec

PANEL_MS = 12.0
SOLENOID_MS = {"event": 9.5, "power": 14.0}


@pytest.fixture
def rig_file(tmp_path: Path) -> Path:
    """An emulated bench with a slow panel and slow solenoids, and a calibration file of its own."""
    shutil.copy(RIGS_DIR / "emulated-calibration.yaml", tmp_path / "cal.yaml")
    path = tmp_path / "rig.yaml"
    path.write_text(
        "rig:\n  kind: emulated\n  camera: emulated\n"
        f"  panel_latency_ms: {PANEL_MS}\n  solenoid_latency_ms: {SOLENOID_MS}\n  calibration: cal.yaml\n"
    )
    return path


def _calibrate(rig_file: Path, procedure: str, operator=None, today: dt.date | None = None):
    spec, base = load_rig_spec(rig_file)
    with open_rig(spec, base, workdir=rig_file.parent / "work") as rig:
        found = run_calibration(procedure, rig, operator or AutoOperator(rig.emulator), today=today)
    return found, write_records(rig_file.parent / "cal.yaml", found.records)


def test_display_latency_measured_matches_the_emulated_panel_within_its_uncertainty(rig_file: Path) -> None:
    found, cal = _calibrate(rig_file, "display")
    record = cal.display_latency_ms
    assert record is not None and record.by == "auto" and "light probe" in record.method
    assert 0 < record.uncertainty < 1.0
    assert abs(record.value - PANEL_MS) <= 2 * record.uncertainty, (record.value, record.uncertainty)
    # the figure it replaced is kept, and the file on disk loads as written
    assert [h.name for h in cal.history] == ["display_latency_ms"] and cal.history[0].value == 0.0
    assert load_calibration(rig_file.parent / "cal.yaml") == cal
    assert found.lines and "display latency" in found.lines[0]


def test_press_latency_per_button_is_the_controller_edge_to_the_camera_contact(rig_file: Path) -> None:
    _, cal = _calibrate(rig_file, "press")
    for button, ms in SOLENOID_MS.items():
        record = cal.press_latency_ms[button]
        assert abs(record.value - ms) <= 2 * record.uncertainty + 1e-3, (button, record)
        assert record.uncertainty > 0, "never stated as exact"
    assert {h.name for h in cal.history} == {"press_latency_ms.event", "press_latency_ms.power"}


class _Typist:
    """The terminal a person reads: types the next answer whenever a prompt (or a refusal) shows."""

    def __init__(self, fd: int, answers: list[str]) -> None:
        self.fd, self.answers, self.shown = fd, list(answers), []

    def write(self, text: str) -> int:
        self.shown.append(text)
        if (">>> OPERATOR" in text or "not accepted" in text) and self.answers:
            os.write(self.fd, (self.answers.pop(0) + "\n").encode())
        return len(text)

    def flush(self) -> None:
        pass


def test_a_distance_typed_at_the_prompt_lands_in_the_file_and_history_grows(rig_file: Path) -> None:
    read_fd, write_fd = os.pipe()
    typist = _Typist(write_fd, ["half a metre", "0.62", "21.5"])
    person = TerminalOperator(input_fd=read_fd, output=typist, name="j.doe")  # type: ignore[arg-type]
    try:
        _, cal = _calibrate(rig_file, "av", person)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    shown = "".join(typist.shown)
    assert "speaker" in shown and "not accepted" in shown, "the first answer was refused and asked again"
    assert cal.speaker_distance_m is not None and cal.speaker_distance_m.value == 0.62
    assert cal.speaker_distance_m.by == "j.doe"
    delay = cal.acoustic_delay_ms
    assert delay is not None and delay.value == pytest.approx(620 / speed_of_sound(21.5), abs=1e-3)
    assert delay.uncertainty > 0 and cal.stimulus_offset_ms is not None
    # a second calibration supersedes the first, which moves to the history
    _, again = _calibrate(rig_file, "av")
    assert again.speaker_distance_m is not None and again.speaker_distance_m.value == 0.5
    kept = [h for h in again.history if h.name == "speaker_distance_m"]
    assert [h.value for h in kept] == [0.5, 0.62] and kept[1].by == "j.doe"
    assert sorted(p.name for p in rig_file.parent.iterdir() if p.name.startswith(".cal.yaml")) == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("45", "bwc calibrate av: speaker_distance_m: 45 m is outside 0.01..20 m"),
        ("abc", "bwc calibrate av: operator prompt declined by auto"),
    ],
)
def test_a_bad_value_is_one_clear_line_and_the_file_stays(
    rig_file: Path, capsys, monkeypatch, typed: str, expected: str
) -> None:
    monkeypatch.setitem(auto_operator._HOOKS, "speaker_distance_m", lambda bench, prompt: typed)
    before = (rig_file.parent / "cal.yaml").read_text()
    assert main(["calibrate", "av", "--rig", str(rig_file), "--operator", "auto"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), lines
    assert (rig_file.parent / "cal.yaml").read_text() == before


def test_the_cli_writes_the_file_the_rig_points_to_and_refuses_the_built_in_one(rig_file: Path, capsys) -> None:
    assert main(["calibrate", "display", "--rig", str(rig_file), "--operator", "auto", "--by", "lab tech"]) == 0
    assert "written to" in capsys.readouterr().out
    cal = load_calibration(rig_file.parent / "cal.yaml")
    assert cal.display_latency_ms is not None and cal.display_latency_ms.by == "lab tech"
    assert main(["calibrate", "press", "--rig", str(RIGS_DIR / "emulated.yaml"), "--operator", "auto"]) == 1
    assert "is the harness's own" in capsys.readouterr().out


def _stale(rig_file: Path) -> list[str]:
    """What the run record (and so the report) says of the rig's calibration when the rig opens."""
    spec, base = load_rig_spec(rig_file)
    with open_rig(spec, base, workdir=rig_file.parent / "work") as rig:
        return rig.calibration_record["stale"]


def test_a_calibration_older_than_the_validity_is_named_stale(rig_file: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    _calibrate(rig_file, "display", today=today - dt.timedelta(days=100))
    assert any(s.startswith("display_latency_ms of ") and "100 days old (valid 90 days)" in s for s in _stale(rig_file))
    _calibrate(rig_file, "display", today=today)
    stale = _stale(rig_file)
    assert not any(s.startswith("display_latency_ms ") for s in stale), "history is not judged, only the current record"


def test_a_bench_without_probes_takes_the_figures_the_operator_measured() -> None:
    """No light probe, no contact probe: the operator enters each figure and its uncertainty."""
    operator = AutoOperator(bench=object())
    answers = {"display_latency_ms": "11.2", "display_latency_u_ms": "0.8"}
    for key, value in answers.items():
        operator.answer_with(key, lambda bench, prompt, v=value: v)
    rig = SimpleNamespace(emulator=None, display=None, profile=SimpleNamespace(buttons=("event",)))
    found = run_calibration("display", rig, operator)
    record = found.records["display_latency_ms"]
    assert (record.value, record.uncertainty) == (11.2, 0.8) and record.method.startswith("entered")
    with pytest.raises(CalibrationError, match="press_latency_ms.event"):
        run_calibration("press", rig, operator)  # no figure for the event button's solenoid


def test_a_benchs_photodiode_measures_the_display_latency_through_the_rig_controller() -> None:
    """A bench (no emulator behind the rig) whose controller has a photodiode input: the latency
    is the photodiode's edges (real pty, emulated controller and diode) against the window's own
    pacing log, and matches the display pipeline's true mean delay within the stated uncertainty."""
    import numpy as np

    from harness.core.clock import VirtualClock
    from harness.devices.display import EmulatedDisplay
    from harness.devices.rig_controller import SerialRigController
    from harness.emulator.photodiode import RESPONSE_S, EmulatedPhotodiode
    from harness.emulator.rig_controller import EmulatedRigController
    from harness.rig.calibrate import PhotodiodeProbe, _Asker, calibrate_display, light_probe
    from harness.scene.compose import Scene
    from harness.scene.presentation import RealisticPresentation

    clock = VirtualClock(start=50.0)
    scene = Scene(640, 360, 59.94)
    truth = scene.presentation = RealisticPresentation(59.94, seed=3)
    diode = EmulatedPhotodiode(scene, seed=3)
    emu = EmulatedRigController(clock, ("event",), lambda b, d: None, light=diode.edges)
    driver = SerialRigController(emu.url, clock, timeout_s=1.0)
    try:
        display = EmulatedDisplay(clock, 59.94)
        rig = SimpleNamespace(emulator=None, display=display, controller=driver, clock=clock)
        probe = light_probe(rig)
        assert isinstance(probe, PhotodiodeProbe)
        log = display.log  # the photodiode log now; the window would log its own pacing into .software
        start = clock.now()
        frames = range(int(np.ceil(start * 59.94)) + 1, int((start + 3.0) * 59.94))
        for n in frames:  # the window's pacing log: it hands frame n over when it is due
            log.record(n, n / 59.94, n / 59.94)
        found = calibrate_display(rig, _Asker(AutoOperator(None), "test"), dt.date(2026, 12, 6), seconds=2.0)
    finally:
        driver.close()
        emu.close()
    record = found.records["display_latency_ms"]
    delays = [truth.on_panel(n) - n / 59.94 for n in frames if truth.on_panel(n) is not None]
    true_ms = (float(np.mean(delays)) + RESPONSE_S) * 1e3  # the diode's response is part of what it sees
    assert abs(record.value - true_ms) <= 2 * record.uncertainty, (record, true_ms)  # 6.2635 +/- 0.031 vs 6.2650
    assert "photodiode on the patch" in record.method
