"""The emulated camera in and out of its dock.

What docking does to a real body-worn camera (Axon documents it for its cameras: no buffering
while docked, off or asleep) and therefore to the emulated one:

* **No buffering while docked.** Docking stops the pre-event buffer and empties it; undocking
  starts it again, so the first clip after an undock holds nothing from before the undock. A
  recording under way when the camera is docked is finished and saved first. The camera does not
  record while docked (its start gesture is ignored). Fault ``buffer-while-docked`` keeps the
  buffer running through the dock.
* **Charging instead of drawing.** While docked the dock powers the camera and charges its
  battery: a battery simulator sees a charge current (negative), a plain supply no draw at all.
* **Storage only while docked.** When the bench reaches the camera's storage through its dock
  (``view``), the storage is visible there only while the camera is docked, as a mass-storage
  volume or a dock's upload appears only then. Without a view the storage stays where it is
  written (a bench whose storage is reached another way).

The dock contacts are switched by the emulated rig controller's ``dock`` relay, or by the
automatic operator when it is asked to dock or undock the camera by hand (prompt keys
``dock_camera`` and ``undock_camera``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from harness.core.clock import Clock
from harness.devices.dock import DOCK_KEY, UNDOCK_KEY
from harness.devices.operator import Prompt
from harness.emulator.operator import register_auto_answer

log = logging.getLogger(__name__)

#: what the dock charges the battery with (A): a battery simulator reads it as a negative current
DOCK_CHARGE_A = 0.8


class DockableCamera(Protocol):
    """What docking reaches in the camera: its clock, storage and what it does on a dock or undock."""

    @property
    def clock(self) -> Clock: ...
    @property
    def storage(self) -> Path: ...

    def docking(self, docked: bool, now: float) -> None:
        """About to be docked or undocked at ``now`` (still in the old state)."""


class CameraDock:
    """The camera's dock contacts and, when the bench reaches the storage through the dock, the
    folder where the storage appears while docked (``view``: a link to the storage, present only
    while docked)."""

    def __init__(self, camera: DockableCamera, view: Path | None = None) -> None:
        self.cam = camera
        self.view = view
        self.docked = False
        #: ground truth: (clock time, docked) of every change
        self.changes: list[tuple[float, bool]] = []
        self._show(False)

    def set_docked(self, docked: bool) -> None:
        """The dock contacts are connected or released (the relay's edge, on the clock's thread)."""
        if docked == self.docked:
            return
        now = self.cam.clock.now()
        self.cam.docking(docked, now)  # before the change: the battery is settled at the old draw
        self.docked = docked
        self.changes.append((now, docked))
        log.info("camera %s at %.3f s", "docked" if docked else "undocked", now)
        self._show(docked)

    @property
    def undocked_at(self) -> float | None:
        """When the camera last left its dock (None: never docked and undocked)."""
        return next((t for t, on in reversed(self.changes) if not on), None)

    def _show(self, visible: bool) -> None:
        """Make the storage visible at ``view`` (a link), or take it away."""
        if self.view is None:
            return
        if visible:
            self.view.parent.mkdir(parents=True, exist_ok=True)
            if not self.view.is_symlink():
                os.symlink(self.cam.storage, self.view, target_is_directory=True)
        elif self.view.is_symlink():
            self.view.unlink()


def _by_hand(docked: bool) -> Callable[[Any, Prompt], str]:
    """The automatic operator's hand: docks or undocks the emulated bench's camera (on the clock's
    thread, as the relay would) and confirms."""

    def hook(bench: Any, prompt: Prompt) -> str:
        dock = bench.camera.dock
        bench.clock.call_at(bench.clock.now(), lambda: dock.set_docked(docked))
        return "y"

    return hook


register_auto_answer(DOCK_KEY, _by_hand(True))
register_auto_answer(UNDOCK_KEY, _by_hand(False))
