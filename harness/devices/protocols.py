"""What the harness may know of an emulated bench behind a rig, without importing the emulator.

Each device kind has its own protocol next to its drivers (``PowerSupply`` in power,
``RigController`` in rig_controller, ``ClipSource`` in clip_source, ``Display`` in display).
An emulated rig carries one more object: the running emulator, whose ground truth (what the
camera really did) tests and benchmarks compare the harness's measurements with. The harness
itself reads only its run id and storage folder; the parts below are the emulator's own objects
and typed loosely on purpose, so nothing above the emulator depends on their classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class GroundTruth(Protocol):
    """The emulated bench behind an emulated rig (harness/emulator's ``EmulatedRig``)."""

    @property
    def run_id(self) -> int:
        """The run id the emulated scene shows in its time code."""

    @property
    def clip_folder(self) -> Path:
        """Where the emulated camera writes its clips."""

    @property
    def faults(self) -> tuple[str, ...]:
        """The camera and device faults switched on in the emulator."""

    @property
    def camera(self) -> Any:
        """The emulated camera: its events and power shutdowns are the ground truth of a run."""

    @property
    def controller(self) -> Any:
        """The emulated rig controller: the stimuli it fired, its port."""

    @property
    def supply(self) -> Any:
        """The emulated power supply (SCPI server): its output state."""
