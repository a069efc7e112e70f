"""Checks: turn clip timelines, the done-timeline, the camera profile and the requirement
catalogue into measurements.

One module per family (preroll, continuity, stop, clock, av, audio_policy, power), sharing the
check input, events and metadata helpers of :mod:`harness.checks.common`. Each check is a
function ``(CheckInput) -> list[Measurement]`` listed under the name scenario files use in the
explicit table of :mod:`harness.checks.registry`; each module declares the measurements it makes.
"""

from __future__ import annotations

from harness.checks.common import Check, CheckInput, Event, Recording, metadata, stitch
from harness.checks.continuity import hidden_missing_frames
from harness.checks.preroll import expected_preroll
from harness.checks.registry import CHECKS, DECLARED, run_checks

__all__ = [
    "CHECKS",
    "DECLARED",
    "Check",
    "CheckInput",
    "Event",
    "Recording",
    "expected_preroll",
    "hidden_missing_frames",
    "metadata",
    "run_checks",
    "stitch",
]
