"""Rig file schema: display, clip source, distances and limits, with errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.config import ConfigError
from harness.rig.kinds import load_rig_spec
from tests.conftest import bench_rig_file

BENCH = """\
rig:
  kind: bench
  name: b
  camera: emulated
  serial: {url: /dev/ttyACM0}
  instrument: {resource: "TCPIP::192.0.2.10::5025::SOCKET"}
"""


def _load(tmp_path: Path, extra: str):
    """BENCH with the sections of ``extra``, each replacing BENCH's section of the same name (a key
    given twice is an error in a rig file)."""
    given = {line.split(":")[0] for line in extra.splitlines()}
    path = tmp_path / "rig.yaml"
    path.write_text(
        "".join(line for line in BENCH.splitlines(keepends=True) if line.split(":")[0] not in given) + extra
    )
    return load_rig_spec(path)[0]


def test_lab_bench_example_uses_every_section() -> None:
    """The shipped lab bench example shows the display, clip source, distances, limits, stimulus,
    solenoid latency and battery model settings."""
    bench, _ = load_rig_spec("scenarios/rigs/lab_bench.example.yaml")
    assert bench.display.kind == "screen" and bench.display.chosen_presenter == "gl" and bench.display.monitor >= 1
    assert bench.clips.path == Path("/media/bwc/DCIM") and bench.clips.recursive
    assert bench.distances.speaker_to_camera_m > 0
    assert bench.limits.max_sync_uncertainty_s > 0
    assert bench.serial.stimulus and bench.serial.press_latency_ms > 0 and bench.power.battery_model == "1"


@pytest.mark.parametrize(
    ("display", "presenter"),
    [
        ("{kind: screen}", "gl"),
        ("{kind: screen, presenter: opencv}", "opencv"),
        ("{kind: opencv}", "opencv"),  # the older name keeps its OpenCV window
        ("{kind: opencv, presenter: gl}", "gl"),
    ],
)
def test_the_rig_file_chooses_the_presenter(tmp_path: Path, display: str, presenter: str) -> None:
    spec = _load(tmp_path, f"  clips: /m\n  display: {display}\n")
    assert spec.display.chosen_presenter == presenter


def test_clips_may_be_a_plain_path(tmp_path: Path) -> None:
    spec = _load(tmp_path, "  clips: /media/cam\n")
    assert spec.clips.path == Path("/media/cam") and spec.clips.wait_s == 10.0 and spec.display.kind == "none"


@pytest.mark.parametrize(
    ("extra", "field", "expected"),
    [
        ("  clips: {path: /m, suffix: mp4}\n", "rig.bench.clips.suffix", "should match pattern"),
        ("  clips: /m\n  display: {kind: hdmi}\n", "rig.bench.display.kind", "'screen', 'opencv' or 'none'"),
        (
            "  clips: /m\n  display: {kind: screen, presenter: vulkan}\n",
            "rig.bench.display.presenter",
            "'gl' or 'opencv'",
        ),
        (
            "  clips: /m\n  display: {kind: opencv, monitor: 0}\n",
            "rig.bench.display.monitor",
            "greater than or equal to 1",
        ),
        (
            "  clips: /m\n  distances: {speaker_to_camera_m: -1}\n",
            "rig.bench.distances.speaker_to_camera_m",
            "greater than or equal to 0",
        ),
        (
            "  clips: /m\n  power: {voltage: 5.0, max_voltage: 4.4}\n",
            "rig.bench.power",
            "voltage 5 V is above max_voltage 4.4 V",
        ),
        (
            "  clips: /m\n  limits: {max_sync_uncertainty_s: 0}\n",
            "rig.bench.limits.max_sync_uncertainty_s",
            "greater than 0",
        ),
        (
            "  clips: /m\n  instrument: {resource: x, command_set: hp6632}\n",
            "rig.bench.instrument.command_set",
            "unknown command set 'hp6632'",
        ),
        ("", "rig.bench.clips", "Field required"),
        (
            "  clips: /m\n  serial: {url: /dev/ttyACM0, press_latency_ms: -3}\n",
            "rig.bench.serial.press_latency_ms",
            "expected a latency of 0..500 ms",
        ),
        (
            "  clips: /m\n  serial: {url: /dev/ttyACM0, press_latency_ms: {event: 12, power: 900}}\n",
            "rig.bench.serial.press_latency_ms",
            "button 'power': expected a latency of 0..500 ms, got 900",
        ),
        (
            "  clips: /m\n  serial: {url: /dev/ttyACM0, press_latency_ms: {Event: 12}}\n",
            "rig.bench.serial.press_latency_ms",
            "button 'Event': expected a lower-case button name",
        ),
        ("  clips: /m\n  serial: {url: /dev/ttyACM0, stimulus: maybe}\n", "rig.bench.serial.stimulus", "valid boolean"),
        ("  clips: /m\n  dock: {kind: usb}\n", "rig.bench.dock", "expected tags: 'uhubctl', 'relay'"),
        (
            "  clips: /m\n  dock: {kind: uhubctl, location: '1-1;reboot', ports: 2}\n",
            "rig.bench.dock.uhubctl.location",
            "should match pattern",
        ),
        (
            "  clips: /m\n  dock: {kind: uhubctl, location: 1-1, ports: [2, 0]}\n",
            "rig.bench.dock.uhubctl.ports",
            "port 0: expected a hub port number 1..255",
        ),
        (
            "  clips: /m\n  dock: {kind: uhubctl, location: 1-1, ports: 2, wait_ms: -5}\n",
            "rig.bench.dock.uhubctl.wait_ms",
            "greater than or equal to 0",
        ),
        ("  clips: /m\n  dock: {kind: relay, relay: Dock}\n", "rig.bench.dock.relay.relay", "should match pattern"),
    ],
)
def test_bad_sections_name_the_field(tmp_path: Path, extra: str, field: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, extra.replace("  instrument: {resource: x", "  instrument: {resource: x"))
    text = str(err.value)
    assert field in text and expected in text, text


@pytest.mark.parametrize(
    ("latency", "expected"),
    [
        (
            "{event: 12, flash: 3, power: 20}",
            "rig.bench.serial.press_latency_ms.flash: camera profile Emulated BWC-1 "
            "has no button 'flash' (its buttons: event, power)",
        ),
        (
            "{event: 12}",
            "rig.bench.serial.press_latency_ms: no latency for button 'power' of camera profile Emulated BWC",
        ),
    ],
)
def test_per_button_latency_must_match_the_camera_profile(tmp_path: Path, latency: str, expected: str) -> None:
    """Per-button solenoid latencies name exactly the camera profile's buttons; the error names the field."""
    from harness.core.paths import camera_profile_path
    from harness.plan.profile import CameraProfile
    from harness.rig.factory import open_rig
    from harness.rig.specs import press_latency_s

    spec = _load(tmp_path, f"  clips: /m\n  serial: {{url: /dev/ttyACM0, press_latency_ms: {latency}}}\n")
    profile = CameraProfile.load(camera_profile_path("emulated"))
    with pytest.raises(ValueError) as err:
        press_latency_s(spec, profile)
    assert expected in str(err.value)
    # refused before any port or instrument is opened
    with pytest.raises(ValueError, match="press_latency_ms"), open_rig(spec):
        pass
    spec = _load(tmp_path, "  clips: /m\n  serial: {url: /dev/ttyACM0, press_latency_ms: {event: 12, power: 20.5}}\n")
    assert press_latency_s(spec, profile) == {"event": 0.012, "power": 0.0205}
    assert spec.serial.stimulus is True  # a bench's controller fires the A/V stimulus unless told otherwise


def test_bench_rig_file_opens_real_transports_with_its_sections(tmp_path: Path) -> None:
    """A bench rig file pointing at a running emulator (as at a lab bench: a serial port, a VISA
    resource, a folder) opens through the bench path, with its clip source and distances applied."""
    from harness.core.clock import RealClock
    from harness.core.paths import camera_profile_path
    from harness.emulator.rig import EmulatedRig
    from harness.plan.profile import CameraProfile
    from harness.rig.factory import open_rig

    clock = RealClock()
    profile = CameraProfile.load(camera_profile_path("emulated"))
    try:
        with EmulatedRig(profile, clock, tmp_path / "cam") as emu:
            rig_file = bench_rig_file(
                tmp_path / "bench.yaml",
                "pty-bench",
                {"url": emu.serial_url, "press_latency_ms": 9.5, "stimulus": False},
                {"resource": emu.visa_resource},
                clips={"path": "cam", "recursive": True, "settle_s": 0.5, "wait_s": 1.0},
                distances={"speaker_to_camera_m": 0.686},
            )
            spec, base = load_rig_spec(rig_file)
            with open_rig(spec, base) as rig:
                assert rig.display is None and rig.instruments["display"] == "scene played by an external player"
                assert rig.speaker_distance_m == pytest.approx(0.686) and rig.clip_wait_s == 1.0
                assert rig.clips.folder == tmp_path / "cam" and rig.clips.recursive
                assert rig.instruments["rig_controller"].startswith("BWC-RIG-EMU")
                assert rig.controller.latency_for("event") == pytest.approx(0.0095) and rig.stimulus is False
                rig.power.set_voltage(3.85)
                rig.power.output(True)
                assert emu.supply.state.output is True
            assert emu.supply.state.output is False  # safe on the way out
    finally:
        clock.close()


@pytest.mark.parametrize(
    ("folder", "why"),
    [
        ("/", "far more than one camera's files"),
        ("/etc", "system folder"),
        ("/usr/share", "system folder"),
        ("/home", "far more than one camera's files"),
        ("/tmp", "far more than one camera's files"),
    ],
)
def test_system_clip_folders_are_refused_at_load(tmp_path: Path, folder: str, why: str) -> None:
    """A clip folder of '/' once made a run take in every video of the disk, another run's clip too."""
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, f"  clips: {folder}\n")
    assert "rig.bench.clips.path" in str(err.value) and why in str(err.value), str(err.value)


def test_a_clip_folder_inside_a_run_folder_or_through_a_link_to_root_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "out"
    (run / "evidence").mkdir(parents=True)
    (run / "record.json").write_text("{}")
    with pytest.raises(ConfigError, match="inside the harness run folder"):
        _load(tmp_path, f"  clips: {run / 'evidence'}\n")
    (tmp_path / "root").symlink_to("/")
    with pytest.raises(ConfigError, match="far more than one camera's files"):
        _load(tmp_path, f"  clips: {tmp_path / 'root'}\n")
    storage = tmp_path / "camera" / "DCIM"
    storage.mkdir(parents=True)
    assert _load(tmp_path, f"  clips: {storage}\n").clips.path == storage
