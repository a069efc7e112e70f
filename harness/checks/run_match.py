"""Which files of a vendor export are this scenario's footage, read from the time code in their pictures.

An export from a vendor's evidence system holds whatever the operator selected: events of other
runs, of earlier scenarios of this run, files renamed by the vendor's scheme, and perhaps not
every event of this scenario. File names and file dates say nothing reliable about which is
which, so each clip is placed by what the scene's time code in its pixels says: the run id
(another run's file is ignored) and the scene time it shows (a file outside this scenario's time
is another scenario's). The scenario's start gestures then show which of its events have no
file in the export. Every file ignored and every event missing is one finding line that says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from harness.analysis.clip import ClipAnalysis
from harness.checks.common import SAME_EVENT_GAP_S


@dataclass
class RunMatch:
    """The outcome: which clips are the scenario's, why each other one was ignored, what is missing."""

    kept: list[int] = field(default_factory=list)  # indices into the clips given, in their order
    ignored: dict[int, str] = field(default_factory=dict)  # index -> why the file is not this scenario's
    missing: list[str] = field(default_factory=list)  # one line per event (or part) with no file


def _span(clip: ClipAnalysis) -> tuple[float, float] | None:
    if clip.first_ref_s is None or clip.last_ref_s is None:
        return None
    return clip.first_ref_s, clip.last_ref_s


def match_to_scenario(
    clips: list[ClipAnalysis],
    run_id: int | None,
    window: tuple[float, float],
    starts: list[float],
    expected_clips: int,
) -> RunMatch:
    """Sort the export's clips into this scenario's and the others, and name the events with no file.

    ``run_id``: the run id the rig's display shows (None: unknown, only time places a file);
    ``window``: the scenario's time on the run's clock, from its cold start to the collection;
    ``starts``: its start gestures (run time); ``expected_clips``: the recordings it expects.
    A clip whose time code cannot be read is kept: it is judged (and fails) as this scenario's,
    never dropped unseen.
    """
    out = RunMatch()
    low, high = window
    for i, clip in enumerate(clips):
        if run_id is not None and clip.run_id is not None and clip.run_id != run_id:
            out.ignored[i] = (
                f"from another run (its time code shows run {clip.run_id}, this run is {run_id}); "
                "ignored, not this scenario's footage"
            )
            continue
        span = _span(clip)
        if span is not None and (span[1] < low or span[0] > high):
            out.ignored[i] = (
                f"its time code shows {span[0]:.1f}..{span[1]:.1f} s of run "
                f"{run_id if run_id is not None else '(id unknown)'}, outside this scenario "
                f"({low:.1f}..{high:.1f} s); ignored as another scenario's footage"
            )
            continue
        out.kept.append(i)
    out.missing = _missing(clips, out.kept, sorted(starts), high, expected_clips)
    return out


def _missing(clips: list[ClipAnalysis], kept: list[int], starts: list[float], end: float, expected: int) -> list[str]:
    """Events with no file, and holes inside an event's files, as finding lines."""
    placed: dict[int, list[tuple[float, float]]] = {}
    for i in kept:
        span = _span(clips[i])
        if span is None:
            continue
        # a file belongs to the last start gesture before its last frame (segments and restarts too)
        event = max((n for n, s in enumerate(starts) if s <= span[1]), default=None)
        if event is not None:
            placed.setdefault(event, []).append(span)
    lines = []
    without = [n for n in range(len(starts)) if n not in placed]
    if len(placed) < expected:  # a start the camera was expected to ignore is not a missing clip
        for n in without:
            until = starts[n + 1] if n + 1 < len(starts) else end
            lines.append(
                f"event {n + 1} (start gesture at {starts[n]:.1f} s of the run): no file in the export shows "
                f"{starts[n]:.1f}..{until:.1f} s in its time code; the clip of the run is missing from the export"
            )
    for n, spans in sorted(placed.items()):
        spans.sort()
        for (_, end_a), (start_b, _) in pairwise(spans):
            if start_b - end_a > SAME_EVENT_GAP_S:
                lines.append(
                    f"event {n + 1}: no file in the export shows {end_a:.1f}..{start_b:.1f} s of the run "
                    "between two of its files; a file of the event is missing from the export"
                )
    return lines
