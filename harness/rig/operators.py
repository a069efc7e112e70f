"""Who answers a scenario's operator prompts on a rig: a person at the terminal, or the emulated
rig's automatic operator (``bwc certify --operator terminal|auto``).

Without a choice: the automatic operator on an emulated rig (it knows what the emulated camera
shows, so the built-in suite runs unattended even from a terminal), a person at the terminal on a
bench; on a bench with no terminal nobody can answer, and a prompt then ends its scenario with that
reason (``bwc certify`` refuses such a run before it starts).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Literal

from harness.devices.operator import NoOperator, Operator, Suspend, TerminalOperator
from harness.devices.operator_relay import RelayOperator
from harness.devices.protocols import GroundTruth
from harness.emulator.operator import AutoOperator
from harness.plan.scenario import Scenario
from harness.rig.specs import RigSpecBase

OperatorChoice = Literal["terminal", "auto"]
OPERATOR_CHOICES: tuple[OperatorChoice, ...] = ("terminal", "auto")


def asks_operator(spec: RigSpecBase, scenario: Scenario) -> str | None:
    """Why running ``scenario`` on the rig of ``spec`` needs someone to answer (None: it does not):
    its own prompt steps, a dock worked by hand, or footage handed over by a person (an export
    from the vendor's system, a volume connected when asked)."""
    if any(step.prompt is not None for step in scenario.steps):
        return "its prompt steps"
    dock = getattr(spec, "dock", None)
    if dock is not None and dock.kind == "prompt" and (scenario.docks or dock.clips_while_docked):
        return "docking by hand"
    clips = getattr(spec, "clips", None)
    if clips is not None and clips.kind == "export":
        return "the export folder"
    if clips is not None and getattr(clips, "connect", "always") == "prompt":
        return "connecting the camera's volume"
    return None


def operator_problem(choice: str | None, emulated: bool, stdin_tty: bool) -> str | None:
    """Why no one could answer a prompt with this choice on this rig (None: someone can)."""
    if choice == "auto" and not emulated:
        return "--operator auto answers only on an emulated rig; at a bench a person answers (--operator terminal)"
    if choice is None and not stdin_tty and not emulated:
        return (
            "operator prompts need someone to answer: standard input is not a terminal and the rig is a "
            "bench; run from a terminal (or pass --operator terminal)"
        )
    return None


def choose_operator(
    choice: str | None,
    emulator: GroundTruth | None,
    stdin_tty: bool | None = None,
    suspend: Suspend = contextlib.nullcontext,
    relay: str | None = None,
) -> Operator:
    """The operator for a rig (``emulator``: the emulated bench behind it, None on a bench);
    ``relay``: the socket of a station whose operator answers (the suite runs as its child)."""
    if relay is not None:
        return RelayOperator(relay)
    tty = sys.stdin.isatty() if stdin_tty is None else stdin_tty
    problem = operator_problem(choice, emulator is not None, tty)
    if problem is not None:
        return NoOperator(problem)
    if choice == "terminal" or (choice is None and emulator is None):
        return TerminalOperator(suspend=suspend)
    return AutoOperator(emulator)
