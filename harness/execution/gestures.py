"""Performing a camera gesture on the rig and recording it in the done-timeline.

The scenario's ``gesture`` steps and the power steps of a camera with a power button
(``switch_on: button``: the ``power_on`` and ``power_off`` gestures) go through
:func:`perform_gesture`, so every gesture lands in the timeline the same way: at the instant the
camera should act, with the edges the rig controller stamped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.core.timeline import Action, GestureDone, Timeline

if TYPE_CHECKING:
    from harness.rig.factory import Rig


def perform_gesture(rig: Rig, timeline: Timeline, name: str) -> Action:
    """Make the profile's gesture ``name`` with the rig's solenoids; returns its timeline action."""
    gesture = rig.profile.gestures.get(name)
    if gesture is None:
        raise ValueError(f"gesture '{name}' is not in camera profile {rig.profile.model}")
    done = rig.controller.perform(name, gesture)
    action = Action(
        done.effective_t,
        "gesture",
        name,
        GestureDone(tuple((e.button, "down" if e.down else "up", e.t) for e in done.edges)),
    )
    timeline.add(action)
    return action
