"""Device faults of the emulated bench: one part of the rig misbehaving once, in the middle of a test.

Camera faults (:mod:`harness.emulator.faults`) are recording defects a check must measure, each
proven in the fault matrix. Device faults are what a long campaign meets on a bench: a cable that
falls out, noise or silence on the serial line, an instrument that loses a reply or reports an
error, a camera that saves no clip, saves an event twice or hands over a file naming another
camera. What must hold is the harness's own conduct: the test they hit fails with a message that
names the device, the power output is left off, and the next test runs.

Each fault fires once, at a moment inside the device: the rig controller's next button action,
the supply's first exchange after its output is switched on, the camera's next saved event. So the
first test of a run is hit and the tests after it meet the device recovered (or gone for good,
for an unplugged port). They are switched on like camera faults: ``--fault NAME`` or a rig file's
``faults:`` list; ``bwc faults`` lists both kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from harness.emulator.camera_parts import NextEvent
from harness.emulator.rig_controller import EmulatedRigController, Misbehaviour
from harness.emulator.scpi import ScpiServer
from harness.scene.compose import Scene
from harness.scene.presentation import RealisticPresentation


class FaultyCamera(Protocol):
    """The camera's misbehaviour switch, all a device fault touches of it."""

    misbehave_next_event: NextEvent | None


class FaultTarget(Protocol):
    """The emulated bench as a device fault arms it: its controller, camera and supply."""

    @property
    def controller(self) -> EmulatedRigController: ...
    @property
    def camera(self) -> FaultyCamera: ...
    @property
    def supply(self) -> ScpiServer: ...
    @property
    def scene(self) -> Scene: ...


#: share of refreshes the display misses under fault ``display-drops-refresh`` (about one a second at 60 Hz)
DISPLAY_DROP_RATE = 0.015
#: The error the supply reports for fault ``instrument-error`` (SCPI standard error -240).
INSTRUMENT_ERROR = (-240, "Hardware error")


@dataclass(frozen=True)
class DeviceFault:
    name: str
    device: str
    does: str
    arm: Callable[[FaultTarget], None]


def _controller(kind: Misbehaviour) -> Callable[[FaultTarget], None]:
    def arm(rig: FaultTarget) -> None:
        rig.controller.misbehave_at_action = kind

    return arm


def _camera(kind: NextEvent) -> Callable[[FaultTarget], None]:
    def arm(rig: FaultTarget) -> None:
        rig.camera.misbehave_next_event = kind

    return arm


def _after_output_on(action: Callable[[ScpiServer], None]) -> Callable[[FaultTarget], None]:
    """Do ``action`` to the supply once, when its output is next switched on (the camera is powered)."""

    def arm(rig: FaultTarget) -> None:
        instrument = rig.supply.instrument
        before = instrument.on_output

        def on_output(on: bool) -> None:
            if before is not None:
                before(on)
            if on and instrument.on_output is on_output:
                instrument.on_output = before
                action(rig.supply)

        instrument.on_output = on_output

    return arm


def _display_drops(rig: FaultTarget) -> None:
    """The bench's display drops a refresh now and then, from the start (its model turns realistic)."""
    scene = rig.scene
    seed = scene.presentation.seed if isinstance(scene.presentation, RealisticPresentation) else 1
    scene.presentation = RealisticPresentation(scene.refresh_hz, seed, drop_rate=DISPLAY_DROP_RATE)


def _lose_reply(server: ScpiServer) -> None:
    server.drop_replies = 1


def _report_error(server: ScpiServer) -> None:
    server.error_on_next = INSTRUMENT_ERROR


DEVICE_FAULTS: dict[str, DeviceFault] = {
    f.name: f
    for f in (
        DeviceFault(
            "serial-vanish",
            "rig controller",
            "its serial port disappears at its next button action (cable out) and stays gone",
            _controller("vanish"),
        ),
        DeviceFault(
            "serial-garbage",
            "rig controller",
            "answers its next button action with a line of noise instead of acting",
            _controller("garbage"),
        ),
        DeviceFault(
            "serial-silence",
            "rig controller",
            "falls silent at its next button action, for 5 s (a hung firmware its watchdog restarts)",
            _controller("silence"),
        ),
        DeviceFault(
            "instrument-timeout",
            "power supply",
            "loses its reply to the first query after the output is switched on",
            _after_output_on(_lose_reply),
        ),
        DeviceFault(
            "instrument-error",
            "power supply",
            f"rejects the first command after the output is switched on with error "
            f"{INSTRUMENT_ERROR[0]} {INSTRUMENT_ERROR[1]}",
            _after_output_on(_report_error),
        ),
        DeviceFault(
            "display-drops-refresh",
            "display",
            "drops about one refresh a second (the frame before stays up twice): the present log must "
            "find each one, and the camera's measurements must not change",
            _display_drops,
        ),
        DeviceFault("no-clip", "camera", "saves no clip for its next event", _camera("no-clip")),
        DeviceFault("two-clips", "camera", "saves its next event twice, as two clips", _camera("two-clips")),
        DeviceFault(
            "foreign-serial",
            "camera",
            "writes its next clip under another camera's serial number",
            _camera("foreign-serial"),
        ),
    )
}
