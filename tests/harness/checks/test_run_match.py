"""Placing an export's files by their time code: run id first, then the scenario's time; events with
no file and holes between an event's files are named; a file whose code cannot be read is kept."""

from __future__ import annotations

from harness.analysis.clip import ClipAnalysis
from harness.checks.run_match import match_to_scenario


def clip(name: str, first: float | None, last: float | None, run_id: int | None = 7) -> ClipAnalysis:
    return ClipAnalysis(path=f"/ev/{name}", first_ref_s=first, last_ref_s=last, run_id=run_id)


def test_other_scenarios_and_runs_are_ignored_and_unreadable_files_kept() -> None:
    clips = [
        clip("earlier.mp4", 10.0, 20.0),  # this run, an earlier scenario
        clip("mine.mp4", 105.0, 115.0),
        clip("other-run.mp4", 105.0, 115.0, run_id=8),
        clip("broken.mp4", None, None, run_id=None),
    ]
    match = match_to_scenario(clips, 7, (100.0, 130.0), [110.0], 1)
    assert match.kept == [1, 3] and match.missing == []
    assert match.ignored == {
        0: "its time code shows 10.0..20.0 s of run 7, outside this scenario (100.0..130.0 s); "
        "ignored as another scenario's footage",
        2: "from another run (its time code shows run 8, this run is 7); ignored, not this scenario's footage",
    }


def test_a_missing_event_and_a_missing_segment_are_named() -> None:
    clips = [clip("a1.mp4", 105.0, 135.0), clip("a3.mp4", 165.0, 170.0)]  # a2 (135..165) left out
    match = match_to_scenario(clips, 7, (100.0, 300.0), [110.0, 200.0], 2)
    assert match.kept == [0, 1]
    assert match.missing == [
        "event 2 (start gesture at 200.0 s of the run): no file in the export shows 200.0..300.0 s in its time "
        "code; the clip of the run is missing from the export",
        "event 1: no file in the export shows 135.0..165.0 s of the run between two of its files; "
        "a file of the event is missing from the export",
    ]


def test_a_start_the_camera_was_expected_to_ignore_is_not_missing() -> None:
    match = match_to_scenario([clip("a.mp4", 105.0, 120.0)], 7, (100.0, 300.0), [90.5, 110.0], 1)
    assert match.missing == []
