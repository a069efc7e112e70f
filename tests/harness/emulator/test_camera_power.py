"""The emulated camera's power behaviour on the emulated battery simulator, driven by the production
driver over TCP: draw per state, exact discharge, warning, graceful shutdown, brown-out, hard cut."""

from __future__ import annotations

import json
from collections import Counter
from contextlib import ExitStack
from itertools import pairwise

import av
import pytest

from harness.analysis.beeps import find_beeps
from harness.analysis.clip import analyze_clip
from harness.analysis.container import finalisation
from harness.core.clock import VirtualClock
from harness.core.paths import CAMERAS_DIR
from harness.devices.power import BatterySetup, PowerLimits, ScpiPowerSupply
from harness.emulator.camera_parts import CameraState
from harness.emulator.camera_power import file_edge_frames
from harness.emulator.rig import EmulatedRig
from harness.plan.profile import CameraProfile

LIMITS = PowerLimits(max_voltage=4.4, max_current=3.0)
BOOT = 8.0
PERIOD = 1 / 30


def small_profile(**power_update) -> CameraProfile:
    """The built-in emulated camera at 320x180 without capture realism (power is what is tested)."""
    base = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    video = base.video.model_copy(update={"width": 320, "height": 180})
    emulation = base.emulation.model_copy(
        update={"capture": base.emulation.capture.model_copy(update={"level": "off"})}
    )
    power = base.power.model_copy(update=power_update)
    return base.model_copy(update={"video": video, "emulation": emulation, "power": power})


class Bench:
    """An emulated rig and the driver connected to its supply, on one VirtualClock."""

    def __init__(self, tmp_path, faults=(), segment_s: float | None = None, **power_update) -> None:
        self.clock = VirtualClock()
        self._stack = ExitStack()
        profile = small_profile(**power_update).model_copy(update={"segment_s": segment_s})
        self.rig = self._stack.enter_context(EmulatedRig(profile, self.clock, tmp_path / "storage", tuple(faults)))
        self.psu = self._stack.enter_context(ScpiPowerSupply.open(self.rig.visa_resource, LIMITS))
        self.cam = self.rig.camera

    def battery(self, soc: float) -> None:
        self.psu.select_battery(BatterySetup("1", soc, capacity_ah=self.cam.profile.power.capacity_ah))
        self.psu.output(True)

    def supply(self, volts: float = 3.85) -> None:
        self.psu.set_voltage(volts)
        self.psu.output(True)

    def start(self) -> float:
        """The start gesture (double press) as the rig controller makes it; returns the activation."""
        for i in range(2):
            if i:
                self.clock.sleep(0.25)
            t = self.clock.now()
            self.cam.button("event", True)
            self.clock.sleep(0.15)
            self.cam.button("event", False)
        return t

    def stop(self) -> float:
        t = self.clock.now()
        self.cam.button("event", True)
        self.clock.sleep(3.5)
        self.cam.button("event", False)
        return t + 3.0

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def bench(tmp_path):
    made: list[Bench] = []

    def make(faults=(), segment_s: float | None = None, **power_update) -> Bench:
        made.append(Bench(tmp_path, faults, segment_s, **power_update))
        return made[-1]

    yield make
    for b in made:
        b.close()


def reads(amps: float):
    """A current reading of the emulated supply: the draw, within its readback noise (5 sigma)."""
    return pytest.approx(amps, abs=5 * (0.0005 + 0.001 * amps))


def test_draw_follows_the_state_and_the_supply_reads_it(bench) -> None:
    b = bench()
    draw = b.cam.profile.power.draw_a
    b.supply()
    assert b.cam.state is CameraState.BOOTING and b.psu.measure_current() == reads(draw.booting)
    b.clock.sleep(BOOT + 1)
    assert b.psu.measure_current() == reads(draw.buffering)
    b.start()
    assert b.psu.measure_current() == reads(draw.recording)
    b.stop()  # the file is finished for finalise_s after the stop
    assert b.cam.state is CameraState.BUFFERING and b.psu.measure_current() == reads(draw.writing)
    b.clock.sleep(b.cam.profile.power.finalise_s)
    assert b.psu.measure_current() == reads(draw.buffering)
    b.psu.output(False)
    assert b.psu.measure_current() == 0.0


def test_the_battery_is_drained_by_exactly_what_the_camera_drew(bench) -> None:
    """Charge booked by the simulator = sum of draw x time over the camera's states (ground truth)."""
    b = bench()
    b.battery(90)
    b.clock.sleep(BOOT + 5)
    activation = b.start()
    b.clock.sleep(20)
    stop = b.stop()
    b.clock.sleep(3000)
    now = b.clock.now()
    b.rig.supply.instrument.settle()
    d = b.cam.profile.power.draw_a
    f = b.cam.profile.power.finalise_s
    t_on = 0.0
    expected = (
        BOOT * d.booting
        + (activation - t_on - BOOT) * d.buffering
        + (stop - activation) * d.recording
        + f * d.writing
        + (now - stop - f) * d.buffering
    ) / 3600
    assert b.rig.supply.state.battery.drawn_ah == pytest.approx(expected, rel=1e-9)
    assert b.psu.state_of_charge() == pytest.approx(90 - expected / 5.0 * 100, abs=1e-4)


def test_warning_then_graceful_shutdown_at_the_configured_times(bench) -> None:
    """Buffering down to empty: the warning comes warning_lead_s before the shutdown, to the microsecond."""
    b = bench()
    b.battery(5.0)
    b.clock.sleep(3600)
    power = b.cam.power
    assert b.cam.state is CameraState.OFF
    (shutdown,) = power.shutdowns
    assert shutdown.kind == "graceful"
    warned = power.warning_periods[0][0]
    assert shutdown.t - warned == pytest.approx(b.cam.profile.power.warning_lead_s, abs=1e-3)
    assert [e.event for e in power.log] == ["power_on", "low_battery", "shutdown"]
    # the supply stays on; the switched-off camera draws its off current, above the cut-off
    assert b.rig.supply.state.output is True and b.psu.measure_current() == reads(b.cam.profile.power.draw_a.off)
    assert b.psu.measure_voltage() > b.cam.profile.power.cutoff_v


def test_recording_into_the_cutoff_finalises_the_file_with_beeps_and_the_log(bench) -> None:
    b = bench()
    b.battery(3.9)  # a little over a minute of recording left
    b.clock.sleep(BOOT + 5)
    activation = b.start()
    b.clock.sleep(600)
    (shutdown,) = b.cam.power.shutdowns
    assert shutdown.kind == "graceful" and shutdown.t > activation + 60
    (event,) = b.cam.events
    last = event.segments[-1]
    assert event.cut_t is None and event.stop_t == pytest.approx(shutdown.t)
    assert shutdown.t - PERIOD <= last.last_frame_t <= shutdown.t
    assert finalisation(last.path).finalised
    spec = b.cam.profile.power
    scan = find_beeps(last.path, spec.warning_beep_hz, spec.warning_beep_s)
    steps = [round(y - x, 2) for x, y in zip(scan.onsets_pts_s, scan.onsets_pts_s[1:])]
    assert len(scan.onsets_pts_s) >= 2 and set(steps) == {spec.warning_repeat_s}
    with av.open(str(last.path)) as c:
        meta = json.loads(c.metadata["comment"])
    events = [e["event"] for e in meta["power_log"]]
    assert events[-2:] == ["low_battery", "shutdown"] and meta["power_log"][-1]["utc"].endswith("Z")


def test_a_sudden_drop_browns_the_camera_out_and_leaves_only_durable_fragments(bench) -> None:
    b = bench()
    b.battery(80)
    b.clock.sleep(BOOT + 10)
    b.start()
    b.clock.sleep(12.4)
    dropped_at = b.clock.now()
    b.rig.supply.instrument.execute_line(":BATT:SIM:SOC 0")  # the lab yanks the charge away
    b.clock.sleep(1)
    (shutdown,) = b.cam.power.shutdowns
    assert shutdown.kind == "brown-out" and shutdown.t == pytest.approx(dropped_at)
    (event,) = b.cam.events
    assert event.cut_t == pytest.approx(dropped_at)
    done = finalisation(event.path)
    assert not done.finalised and done.layout == "fragmented"
    assert dropped_at - b.cam.profile.power.fragment_s - PERIOD <= event.last_frame_t < dropped_at
    a = analyze_clip(event.path)
    assert a.error is None and a.frames == event.frames


def test_a_camera_that_skips_the_graceful_shutdown_browns_out_at_the_cutoff(bench) -> None:
    b = bench(faults=("no-cutoff-finalise",))
    b.battery(3.9)
    b.clock.sleep(BOOT + 5)
    b.start()
    b.clock.sleep(600)
    (shutdown,) = b.cam.power.shutdowns
    assert shutdown.kind == "brown-out" and shutdown.voltage == pytest.approx(b.cam.profile.power.cutoff_v, abs=1e-6)
    assert not finalisation(b.cam.events[0].segments[-1].path).finalised


def test_the_power_loss_fault_keeps_30_s_less(bench) -> None:
    b = bench(faults=("power-cut-loss",))
    b.battery(100)
    b.clock.sleep(BOOT + 5)
    b.start()
    b.clock.sleep(45)
    cut = b.clock.now()
    b.psu.output(False)
    b.clock.sleep(0.1)
    (event,) = b.cam.events
    assert cut - 30 - b.cam.profile.power.fragment_s - PERIOD <= event.last_frame_t < cut - 30


def test_a_camera_without_fragments_loses_the_open_file_to_a_cut(bench) -> None:
    b = bench(fragment_s=None)
    b.supply()
    b.clock.sleep(BOOT + 5)
    b.start()
    b.clock.sleep(10)
    b.psu.output(False)
    b.clock.sleep(0.1)
    (event,) = b.cam.events
    assert event.segments == []  # nothing durable
    (path,) = list(b.cam.storage.iterdir())
    assert finalisation(path).reason.startswith("no moov")
    assert analyze_clip(path).error is not None


def test_footage_economy_only_on_the_battery_simulator(bench) -> None:
    b = bench()
    times = [i * PERIOD for i in range(3000)]
    b.supply()
    assert b.cam.power.thin(times) == times  # a bench supply: every frame
    b.battery(100)
    thin = b.cam.power.thin(times)
    budget = b.cam.profile.emulation.battery_footage_frames
    edge = min(60, budget * 2 // 5)
    assert len(thin) <= budget and thin[:edge] == times[:edge] and thin[-edge:] == times[-edge:]
    assert set(thin) <= set(times)  # still on the sensor grid


def test_footage_economy_keeps_each_files_first_and_last_frames(bench) -> None:
    """An event split into files keeps at least three frames on each side of every join, so each
    thinned file (and its audio, written up to its last frame) spans its whole length and shows its
    frame period."""
    b = bench()
    times = [i * PERIOD for i in range(round(400 / PERIOD))]  # 400 s: four 100 s files
    b.battery(100)
    thin = b.cam.power.thin(times, 100.0)
    for k in (1, 2, 3):
        join = round(k * 100 / PERIOD)
        assert set(times[join - 3 : join + 3]) <= set(thin)
    assert set(thin) <= set(times) and thin == sorted(thin)
    edge = file_edge_frames(Counter(int((t + 1e-9) // 100.0) for t in thin))  # at most what it kept
    assert len(thin) <= b.cam.profile.emulation.battery_footage_frames + 3 * 2 * edge


def test_footage_economy_keeps_the_frame_period_the_median_step_of_every_file(bench) -> None:
    """However many strided frames a file of a long split event holds, most of its pts steps are
    the frame period: the analysis reads the file's frame rate from their median."""
    b = bench()
    times = [i * PERIOD for i in range(round(1500 / PERIOD))]  # 25 min in 5-minute files
    b.battery(100)
    thin = b.cam.power.thin(times, 300.0)
    files: dict[int, list[float]] = {}
    for t in thin:
        files.setdefault(int((t + 1e-9) // 300.0), []).append(t)
    assert len(files) == 5
    for kept in files.values():
        steps = [y - x for x, y in pairwise(kept)]
        assert sorted(steps)[len(steps) // 2] == pytest.approx(PERIOD), kept


def test_footage_economy_keeps_every_frame_before_the_end_of_the_durable_footage(bench) -> None:
    """A recording cut by a power loss is recoverable up to its last durable fragment: the two
    fragments before that end keep every frame, so the recovered footage ends where the camera made
    it durable, not up to a stride of the economy earlier (a 30 s loss read as 31.6 s)."""
    b = bench()
    times = [i * PERIOD for i in range(round(45 / PERIOD))]
    b.battery(100)
    durable_until = 15.0 + 0.4 * PERIOD  # 30 s before a cut at the end, off the frame grid
    thin = b.cam.power.thin(times, None, durable_until)
    assert {t for t in times if durable_until - 2.0 <= t <= durable_until} <= set(thin)
    assert len(thin) < len(times) // 3 and thin == sorted(thin)


def test_a_split_event_on_the_battery_simulator_reads_exactly_in_every_file(bench) -> None:
    """Each thinned file of an event split into 100 s files is fitted on the camera's frame grid:
    its first and last frames read where the camera took them (a 5-minute middle file with three
    frames at each end once read 15 s long, and the cut-off check took the wrong file as the last)."""
    b = bench(segment_s=100.0)
    b.battery(100)
    b.clock.sleep(BOOT + 15)
    b.start()
    b.clock.sleep(430)
    b.stop()
    b.clock.sleep(1)
    (event,) = b.cam.events
    assert len(event.segments) == 5
    for seg in event.segments:
        a = analyze_clip(seg.path)
        assert a.first_ref_s == pytest.approx(seg.first_frame_t, abs=PERIOD / 2), seg.path.name
        assert a.last_ref_s == pytest.approx(seg.last_frame_t, abs=PERIOD / 2), seg.path.name


def test_an_event_on_the_battery_simulator_is_thinned_but_ends_exactly(bench) -> None:
    b = bench()
    b.battery(100)
    b.clock.sleep(BOOT + 15)
    b.start()
    b.clock.sleep(30)
    stop = b.stop()
    b.clock.sleep(1)
    (event,) = b.cam.events
    a = analyze_clip(event.path)
    assert a.frames == event.frames <= b.cam.profile.emulation.battery_footage_frames
    assert a.first_ref_s == pytest.approx(event.first_frame_t, abs=PERIOD / 2)
    assert a.last_ref_s == pytest.approx(event.last_frame_t, abs=PERIOD / 2)
    assert stop - PERIOD <= event.last_frame_t <= stop
