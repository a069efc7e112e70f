"""The step dispatcher: one table from a scenario step's kind to the code that does it.

Every step of a scenario, from a YAML file or from a Python scenario, goes through
:meth:`StepDispatcher.run`, so a step kind is handled in exactly one place: the power, battery
and measure steps and the waits for a shutdown by the scenario's power session
(:mod:`harness.execution.power_steps`), plain waits, gestures, operator prompts, docks and undocks
here (the rig's :class:`~harness.devices.operator.Operator` answers a prompt; an unanswered prompt
raises :class:`~harness.devices.operator.PromptUnanswered`, which ends the scenario as an error).
``wait: {since: buffering}`` counts from the buffering start the power session measured from the
supply current. A dock or undock is made the way the rig file says (harness/devices/dock.py) and
lands in the timeline at the instant the dock reports (a relay's edge, the middle of a uhubctl call).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.core import progress
from harness.core.timeline import Action, DockSwitched, Timeline
from harness.devices.operator import Prompt, ask
from harness.execution.gestures import perform_gesture
from harness.plan.scenario import StepKind

if TYPE_CHECKING:
    from harness.execution.power_steps import PowerSession
    from harness.plan.scenario import Step
    from harness.rig.factory import Rig

Handler = Callable[["Step"], None]


class StepDispatcher:
    """Does the steps of one scenario run on ``rig``; actions land in ``timeline``."""

    def __init__(self, rig: Rig, timeline: Timeline, power: PowerSession) -> None:
        self.rig = rig
        self.timeline = timeline
        self.power = power
        self.mark = rig.clock.now()  # when the previous step ended: the origin of 'wait since previous'
        self.handlers: dict[StepKind, Handler] = {
            "power": power.power,
            "battery": power.battery,
            "measure": power.measure,
            "wait": self._wait,
            "gesture": self._gesture,
            "prompt": self._prompt,
            "dock": self._dock,
            "undock": self._dock,
        }

    def run(self, step: Step) -> float:
        """Do ``step``; returns the clock time when it is done. A failure of the power monitor
        meanwhile is raised here, at the step it happened in."""
        self.power.raise_if_failed()
        self.handlers[step.kind](step)
        self.power.raise_if_failed()
        self.mark = self.rig.clock.now()
        return self.mark

    def _wait(self, step: Step) -> None:
        wait, clock = step.wait, self.rig.clock
        assert wait is not None
        if wait.until is not None:  # ends on an event the power monitor sees
            self.power.wait_until(step)
            return
        origin = self.mark
        if wait.since == "buffering":  # measured from the supply current (waits for it to be seen)
            origin = self.power.buffering_started()
        elif wait.since == "power_on":
            on = self.timeline.camera_on(clock.now())
            if on is None:
                raise ValueError(f"'wait since {wait.since}' needs an earlier 'power: on' step")
            origin = on.t
        progress.wait_until(clock, origin + wait.total_s(self.rig.profile), step.describe())

    def _gesture(self, step: Step) -> None:
        assert step.gesture is not None
        perform_gesture(self.rig, self.timeline, step.gesture)

    def _prompt(self, step: Step) -> None:
        assert step.prompt is not None
        ask(self.rig.the_operator(), Prompt.from_step(step.prompt, self.rig.profile), self.timeline, self.rig.clock)

    def _dock(self, step: Step) -> None:
        docking = step.dock or step.undock
        assert docking is not None
        switch_dock(self.rig, self.timeline, step.dock is not None)


def switch_dock(rig: Rig, timeline: Timeline, docked: bool, handover: str | None = None) -> Action:
    """Dock (``docked``) or undock the camera with the rig's dock and record it; ``handover`` says
    why when the run does it itself rather than a step (docked for the clips, say)."""
    if rig.dock is None:
        raise ValueError(
            f"rig {rig.name} has no dock: give its rig file a 'dock:' section (uhubctl or relay) to run a "
            "scenario that docks the camera"
        )
    done = rig.dock.dock() if docked else rig.dock.undock()
    action = Action(
        done.t,
        "dock",
        "dock" if docked else "undock",
        DockSwitched(done.method, done.command, done.uncertainty_s, handover),
    )
    timeline.add(action)
    return action
