"""Docking check: a camera does not buffer while it is docked.

A docked camera charges and hands its footage over; it keeps no pre-event buffer (Axon documents
it for its cameras: no buffering while docked, off or asleep). So a clip started shortly after the
camera left its dock can hold at most the time since it left: its pre-roll (activation minus the
first frame, from the time code) must not reach back past the undock. The undock instant is the one
the dock reported (a relay's edge on the controller's clock, the middle of a uhubctl call), widened
by how well it is known; the tolerance comes from the requirement catalogue.
"""

from __future__ import annotations

from harness.checks.common import CheckInput
from harness.core.measurement import Declared, Measurement
from harness.core.timeline import Action, DockSwitched

UNDOCKED_PREROLL = Declared("undocked_preroll_s", "s", "BWC-PRE-03", "catalogue", ("event",))
MEASUREMENTS = (UNDOCKED_PREROLL,)


def last_undock(inp: CheckInput, t: float) -> Action | None:
    """The undock before ``t``, if the camera was out of its dock from then on (None: it never left
    its dock before ``t``, or was docked again)."""
    moves = [a for a in inp.timeline.actions if a.kind == "dock" and a.t <= t]
    return moves[-1] if moves and moves[-1].name == "undock" else None


def docked_buffer(inp: CheckInput) -> list[Measurement]:
    """Each activation after an undock: its pre-roll against the time since the undock."""
    frames = inp.limits.figure("BWC-PRE-03", "tolerance", "frames")
    out = []
    for ev in inp.events():
        undock = last_undock(inp, ev.start.t)
        if undock is None:
            continue
        known = undock.detail.uncertainty_s if isinstance(undock.detail, DockSwitched) else 0.0
        since = ev.start.t - undock.t
        high = since + frames * inp.period + known
        value = None if ev.recording is None else ev.start.t - ev.recording.first_ref_s
        how = undock.detail.method if isinstance(undock.detail, DockSwitched) else "dock"
        out.append(
            UNDOCKED_PREROLL(
                value,
                0.0,
                high,
                event=ev.index,
                note=f"activation {since:.3f} s after the undock ({how}, +/- {known:.4f} s); a camera keeps no "
                f"buffer while docked, so the pre-roll is at most that + {frames:g} frame"
                f"{'' if frames == 1 else 's'}" + ("" if ev.recording is not None else "; no recording"),
            )
        )
    if not out:
        out.append(
            UNDOCKED_PREROLL(None, 0.0, None, event=1, note="no activation follows an undock: nothing shows the buffer")
        )
    return out
