"""The emulated bench: camera, rig controller on a pty and power supply on a TCP SCPI socket.

The harness reaches these parts exactly as it reaches a lab bench: a serial port path, a VISA
resource string and a storage folder. Only the Clock is shared, so virtual time can run a
12-hour shift in seconds.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from harness.core.clock import Clock
from harness.emulator.camera import EmulatedCamera
from harness.emulator.device_faults import DEVICE_FAULTS
from harness.emulator.evidence_system import EmulatedEvidenceSystem
from harness.emulator.faults import Behaviour, apply_faults
from harness.emulator.photodiode import EmulatedPhotodiode
from harness.emulator.rig_controller import EmulatedRigController
from harness.emulator.scpi import ScpiServer
from harness.emulator.scpi.instrument import ReadingNoise
from harness.emulator.usb_volume import EmulatedUsbVolume
from harness.plan.profile import CameraProfile
from harness.plan.scenario import SceneVariant
from harness.scene.compose import Scene
from harness.scene.presentation import RealisticPresentation
from harness.scene.timecode import RUN_ID_MODULUS


class EmulatedRig:
    #: the emulated panel's true latency, frame presented -> light at the patch (s): what the
    #: emulated light probe sees and ``bwc calibrate display`` measures
    panel_latency_s: float = 0.0
    #: the emulated solenoids' true latency, drive edge -> button contact (s), one figure or per
    #: button: ``bwc calibrate press`` measures it from the contacts in :attr:`contacts`
    solenoid_latency_s: float | dict[str, float] = 0.0

    def __init__(
        self,
        profile: CameraProfile,
        clock: Clock,
        storage: Path | None = None,
        faults: tuple[str, ...] = (),
        refresh_hz: float = 60.0,
        seed: int = 1,
        run_id: int | None = None,
        storage_through_dock: bool = False,
        display_model: str = "ideal",
    ) -> None:
        """``faults``: camera faults and device faults by name; ``run_id``: the run id the scene
        shows (default: a fresh one, so a clip filmed in another run is recognised);
        ``storage_through_dock``: the bench sees the camera's storage only while the camera is
        docked (at :attr:`clip_folder`), as a lab whose dock is under the run's control;
        ``display_model``: ``ideal`` (frame n on the panel at n / refresh) or ``realistic`` (refresh
        phase, compositor delay, an occasional late or dropped refresh, seeded: harness/scene/presentation.py)."""
        self.profile = profile
        self.clock = clock
        self.faults = tuple(faults)
        behaviour = apply_faults(Behaviour.from_profile(profile), [f for f in self.faults if f not in DEVICE_FAULTS])
        self._tmp = None
        if storage is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="bwc-camera-")
            storage = Path(self._tmp.name)
        self.storage = storage
        self.run_id = secrets.randbelow(RUN_ID_MODULUS) if run_id is None else run_id
        # the display of this bench: the run id and the clock's UTC in the code's coarse slots
        self.scene = Scene(
            *profile.written_size,  # the camera films at the size it writes (an economy size in CI)
            refresh_hz,
            run_id=self.run_id,
            utc_origin=clock.utc(0.0).timestamp(),
        )
        if display_model == "realistic":
            self.scene.presentation = RealisticPresentation(refresh_hz, seed)
        # the photodiode on the display's patch, wired to the controller's light input
        self.photodiode = EmulatedPhotodiode(self.scene, seed=seed)
        view = storage / "docked" / "DCIM" if storage_through_dock else None
        self.camera = EmulatedCamera(profile, behaviour, clock, self.scene, storage / "DCIM", seed=seed, dock_view=view)
        # the controller's solenoids press the camera's buttons; its relay connects the dock's contacts
        self.contacts: list[tuple[float, str, bool]] = []  # (instant, button, down): each solenoid's contact
        self.controller = EmulatedRigController(
            clock,
            profile.buttons,
            self._solenoid,
            relays={"dock": self.camera.dock.set_docked},
            light=self.photodiode.edges,
        )
        # the supply's load is the camera's draw; the camera reads its supply (voltage, fuel gauge)
        self.supply = ScpiServer(
            on_output=self.camera.set_power,
            load_current=self.camera.power.draw,
            clock=clock,
            on_change=self.camera.power.supply_changed,
        )
        self.camera.power.attach(self.supply.instrument)
        self.supply.instrument.reading_noise = ReadingNoise(seed=seed)  # a real supply's readback is not exact
        self.supply.start()
        # how the footage leaves the camera, when the rig kind emulates its model's way (else its folder)
        self.usb_volume: EmulatedUsbVolume | None = None
        self.evidence_system: EmulatedEvidenceSystem | None = None
        for name in self.faults:
            if name in DEVICE_FAULTS:
                DEVICE_FAULTS[name].arm(self)

    def _solenoid(self, button: str, down: bool) -> None:
        """A drive edge from the controller: the plunger reaches (or leaves) the button after the
        solenoid's latency; the camera sees the contact then."""
        lat = self.solenoid_latency_s
        delay = lat if isinstance(lat, float) else lat.get(button, 0.0)

        def contact() -> None:
            self.contacts.append((self.clock.now(), button, down))
            self.camera.button(button, down)

        if delay > 0:
            self.clock.call_at(self.clock.now() + delay, contact)
        else:
            contact()

    def show_scene(self, variant: SceneVariant) -> None:
        """What the bench's display shows from now on: the standard scene or a variant (busy)."""
        self.scene.variant = variant

    @property
    def serial_url(self) -> str:
        return self.controller.url

    @property
    def visa_resource(self) -> str:
        return self.supply.resource

    @property
    def clip_folder(self) -> Path:
        """Where the bench sees the camera's storage (only while docked, when it sees it through the dock)."""
        return self.camera.dock.view or self.camera.storage

    def close(self) -> None:
        self.controller.close()
        self.supply.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> EmulatedRig:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
