"""The emulated camera's own recording reminder (Axon: two tones every two minutes) is in its
audio, and the A/V and audio checks do not take it for the stimulus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.analysis.mapping import ClipMapping
from harness.core.paths import SUITE_DIR
from harness.emulator.recorder import add_reminder_tones
from harness.execution.runner import ScenarioResult, run_scenario
from harness.plan.profile import ReminderTone
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec
from tests.conftest import camera_variant

RATE = 8000


def sounding(reminder: ReminderTone, since: float, until: float | None, span: tuple[float, float]) -> np.ndarray:
    """Scene times (rounded to 10 ms) at which the reminder sounds within ``span``."""
    t = np.arange(round((span[1] - span[0]) * RATE)) / RATE + span[0]
    out = np.zeros(t.size, np.float32)
    add_reminder_tones(out, t, reminder, since, until)
    return np.unique(np.round(t[np.abs(out) > 1e-3], 2))


def test_tones_every_period_while_recording_only() -> None:
    """Two 0.12 s tones 0.24 s apart, every 2 s after the activation at 10 s, none after the stop."""
    reminder = ReminderTone(every_s=2.0, tones=2, tone_s=0.12, gap_s=0.12)
    heard = sounding(reminder, since=10.0, until=15.0, span=(5.0, 20.0))
    starts = [t for t in heard if not np.any(np.isclose(heard, t - 0.01))]
    assert starts == pytest.approx([12.0, 12.24, 14.0, 14.24], abs=0.011)
    assert heard.min() >= 12.0 and heard.max() < 14.5


def test_a_tone_cut_by_the_chunk_boundary_continues_in_the_next_chunk() -> None:
    """Audio is made in chunks: a tone spanning two chunks is the same as one made whole."""
    reminder = ReminderTone(every_s=1.0, tones=1, tone_s=0.2, gap_s=0.1)
    t = np.arange(2 * RATE) / RATE
    whole = np.zeros(t.size, np.float32)
    add_reminder_tones(whole, t, reminder, 0.0, None)
    cut = round(1.1 * RATE)
    parts = [np.zeros(cut, np.float32), np.zeros(t.size - cut, np.float32)]
    add_reminder_tones(parts[0], t[:cut], reminder, 0.0, None)
    add_reminder_tones(parts[1], t[cut:], reminder, 0.0, None)
    assert np.array_equal(np.concatenate(parts), whole)


def av_run(tmp_path: Path, name: str, **changes: object) -> ScenarioResult:
    camera = camera_variant(tmp_path, name, **changes)
    with open_rig(EmulatedRigSpec(kind="emulated"), workdir=tmp_path / name, camera=str(camera)) as rig:
        return run_scenario(Scenario.load(SUITE_DIR / "av_sync.yaml"), rig, tmp_path / name / "evidence")


def test_av_sync_is_unchanged_by_the_cameras_reminder_tones(tmp_path: Path) -> None:
    """The same camera with and without a reminder every 3 s (13 reminders over the 40 s event):
    A/V sync passes and measures the same offset; the tones are in the recording."""
    plain = av_run(tmp_path, "plain")
    beeping = av_run(tmp_path, "beeping", audio={"reminder": {"every_s": 3.0, "tones": 2}})
    assert not plain.failed and not beeping.failed, [str(m) for m in beeping.failed]
    values = [{m.name: m.value for m in r.measurements} for r in (plain, beeping)]
    assert values[1]["av_offset_ms[event 1]"] == pytest.approx(values[0]["av_offset_ms[event 1]"], abs=0.5)
    assert values[1]["av_events_paired[event 1]"] >= values[0]["av_events_paired[event 1]"] - 1
    # the tones are there, in the live part only: loud at each reminder, where the plain camera is quiet
    for result, loud in ((beeping, True), (plain, False)):
        (clip,) = result.analyses
        assert clip.audio is not None and clip.audio.error is None
        press = result.timeline.gestures("start")[0].t
        for k in (1, 2, 3):
            pts = ClipMapping(clip).pts_at(press + 3.0 * k)
            level = clip.audio.peak_dbfs(pts - 0.02, pts + 0.3)
            assert (level > -14.0) if loud else (level < -40.0), (k, level)  # tones at 0.25 full scale: -12 dBFS
