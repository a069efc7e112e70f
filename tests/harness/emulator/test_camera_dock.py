"""The emulated camera in its dock: no buffering, charging instead of drawing, storage only while docked."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from harness.core.clock import VirtualClock
from harness.devices.power import BatterySetup, PowerLimits, ScpiPowerSupply
from harness.emulator.camera_dock import DOCK_CHARGE_A
from harness.emulator.camera_parts import CameraState
from harness.emulator.rig import EmulatedRig
from tests.harness.emulator.test_camera import BOOT, HALF, double_press, make_camera, stop
from tests.harness.emulator.test_camera_power import small_profile


def test_undock_starts_an_empty_buffer(tmp_path) -> None:
    """A clip started 2 s after an undock begins at the undock, not a full 5 s buffer before."""
    cam = make_camera(tmp_path)
    cam.set_power(True)
    cam.clock.sleep(BOOT + 20)  # the 5 s buffer is full
    cam.dock.set_docked(True)
    cam.clock.sleep(30)
    cam.dock.set_docked(False)
    undocked = cam.clock.now()
    cam.clock.sleep(2.0)
    activation = double_press(cam)
    cam.clock.sleep(1.0)
    stop(cam)
    event = cam.events[-1]
    assert event.activation_t == activation
    assert undocked <= event.first_frame_t < undocked + 2 * HALF
    assert cam.dock.undocked_at == undocked and [on for _, on in cam.dock.changes] == [True, False]


def test_the_fault_keeps_buffering_in_the_dock(tmp_path) -> None:
    """buffer-while-docked: the clip after the undock holds the full buffer, from inside the dock."""
    cam = make_camera(tmp_path, faults=("buffer-while-docked",))
    cam.set_power(True)
    cam.clock.sleep(BOOT + 20)
    cam.dock.set_docked(True)
    cam.clock.sleep(30)
    cam.dock.set_docked(False)
    cam.clock.sleep(2.0)
    activation = double_press(cam)
    cam.clock.sleep(1.0)
    stop(cam)
    assert activation - cam.events[-1].first_frame_t == pytest.approx(5.0, abs=HALF + 1e-9)


def test_no_recording_in_the_dock_and_a_recording_is_saved_when_docked(tmp_path) -> None:
    cam = make_camera(tmp_path)
    cam.set_power(True)
    cam.clock.sleep(BOOT + 6)
    double_press(cam)
    assert cam.state is CameraState.RECORDING
    cam.clock.sleep(2.0)
    docked = cam.clock.now()
    cam.dock.set_docked(True)  # the recording under way is finished and saved first
    assert cam.state is CameraState.BUFFERING and len(cam.events) == 1
    assert cam.events[0].stop_t == docked and cam.events[0].path is not None and cam.events[0].path.exists()
    double_press(cam)  # the start gesture does nothing in the dock
    cam.clock.sleep(1.0)
    assert cam.state is CameraState.BUFFERING and len(cam.events) == 1


class Bench:
    """An emulated rig (storage seen through the dock) and the driver on its supply, one VirtualClock."""

    def __init__(self, tmp_path) -> None:
        self.clock = VirtualClock()
        self._stack = ExitStack()
        self.rig = self._stack.enter_context(
            EmulatedRig(small_profile(), self.clock, tmp_path / "storage", storage_through_dock=True)
        )
        self.psu = self._stack.enter_context(
            ScpiPowerSupply.open(self.rig.visa_resource, PowerLimits(max_voltage=4.4, max_current=3.0))
        )
        self.cam = self.rig.camera

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def bench(tmp_path):
    b = Bench(tmp_path)
    yield b
    b.close()


def test_the_battery_simulator_sees_a_charge_current_while_docked(bench) -> None:
    b = bench
    b.psu.select_battery(BatterySetup("1", 50, capacity_ah=b.cam.profile.power.capacity_ah))
    b.psu.output(True)
    b.clock.sleep(BOOT + 1)
    buffering = b.cam.profile.power.draw_a.buffering
    assert b.psu.measure_current() == pytest.approx(buffering, abs=0.01)
    soc = b.psu.state_of_charge()
    b.cam.dock.set_docked(True)
    assert b.psu.measure_current() == pytest.approx(-DOCK_CHARGE_A, abs=0.01)
    b.clock.sleep(600)
    assert b.psu.state_of_charge() > soc  # charged, not drained
    assert b.cam.state is CameraState.BUFFERING and not b.cam.power.shutdowns  # no brown-out on a negative draw
    b.cam.dock.set_docked(False)
    assert b.psu.measure_current() == pytest.approx(buffering, abs=0.01)


def test_a_plain_supply_sees_no_draw_while_docked(bench) -> None:
    b = bench
    b.psu.set_voltage(3.85)
    b.psu.output(True)
    b.clock.sleep(BOOT + 1)
    b.cam.dock.set_docked(True)
    assert b.psu.measure_current() == pytest.approx(0.0, abs=0.003)  # the dock powers the camera


def test_storage_is_visible_only_while_docked(bench) -> None:
    b = bench
    folder = b.rig.clip_folder
    assert folder != b.cam.storage and not folder.exists()
    b.psu.set_voltage(3.85)
    b.psu.output(True)
    b.clock.sleep(BOOT + 6)
    double_press(b.cam)
    b.clock.sleep(1.0)
    stop(b.cam)
    written = b.cam.events[-1].path
    assert written is not None and written.exists() and not folder.exists()
    b.cam.dock.set_docked(True)
    assert sorted(p.name for p in folder.iterdir()) == [written.name]
    b.cam.dock.set_docked(False)
    assert not folder.exists() and written.exists()
