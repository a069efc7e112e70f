"""The rig file's ``clips:`` kinds (folder, mass_storage, mtp, export) and the unit's identity:
read and checked at load, resolved into the part that opens the source, and a camera that states
another serial than the rig file declares stops the rig before anything is switched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.core.clock import RealClock
from harness.core.config import ConfigError
from harness.core.paths import camera_profile_path
from harness.devices.clip_source import DeviceIdentity
from harness.devices.clip_source_export import ExportManifest
from harness.plan.profile import CameraProfile
from harness.rig.check import check_rig
from harness.rig.factory import open_rig
from harness.rig.identity import UnitMismatch, check_unit
from harness.rig.kinds import BuildContext, clip_settings, load_rig_spec
from harness.rig.parts import ClipSettings, ExportSettings, MassStorageSettings, MtpSettings
from harness.rig.specs import BenchRigSpec
from tests.conftest import REPO, bench_rig_file


def _load(tmp_path: Path, clips: str, extra: str = "") -> BenchRigSpec:
    path = tmp_path / "rig.yaml"
    path.write_text(
        "rig:\n  kind: bench\n  name: b\n  camera: emulated\n  serial: {url: /dev/ttyACM0}\n"
        f"  instrument: {{resource: x}}\n  clips: {clips}\n{extra}"
    )
    spec, _ = load_rig_spec(path)
    assert isinstance(spec, BenchRigSpec)
    return spec


def _settings(spec: BenchRigSpec, base: Path) -> object:
    profile = CameraProfile.load(camera_profile_path("emulated"))
    return clip_settings(spec.clips, BuildContext(profile, RealClock(), base))


def test_each_kind_becomes_its_settings(tmp_path: Path) -> None:
    folder = _settings(_load(tmp_path, "cam"), tmp_path)
    assert folder == ClipSettings(tmp_path / "cam", ".mp4")
    mass = _settings(
        _load(tmp_path, "{kind: mass_storage, label: BC200, subfolder: DCIM, mount_point: mnt/cam, wait_s: 30}"),
        tmp_path,
    )
    naming = CameraProfile.load(camera_profile_path("emulated")).naming  # a disk without a USB serial: the names
    assert mass == MassStorageSettings(
        "BC200", None, None, ".mp4", "DCIM", tmp_path / "mnt/cam", 2.0, 30.0, naming=naming
    )
    on_request = _settings(_load(tmp_path, "{kind: mass_storage, label: BC200, connect: prompt}"), tmp_path)
    assert isinstance(on_request, MassStorageSettings) and on_request.connect_on_request
    mtp = _settings(_load(tmp_path, "{kind: mtp, serial: BC400-0071234, suffix: .MOV}"), tmp_path)
    assert mtp == MtpSettings("BC400-0071234", "DCIM", ".MOV")
    export = _settings(_load(tmp_path, "{kind: export, path: exports/run1, manifest: SHA256SUMS}"), tmp_path)
    assert export == ExportSettings(tmp_path / "exports/run1", ".mp4", ExportManifest("SHA256SUMS", "sha256sum"))
    csv = _settings(_load(tmp_path, "{kind: export, path: e, manifest: {name: '*.csv', format: csv}}"), tmp_path)
    assert isinstance(csv, ExportSettings) and csv.manifest == ExportManifest("*.csv", "csv")


@pytest.mark.parametrize(
    ("clips", "expected"),
    [
        (
            "{kind: mass_storage}",
            "rig.bench.clips.mass_storage: Value error, give the volume's label, uuid or usb_serial",
        ),
        ("{kind: mass_storage, label: A, subfolder: ../x}", "subfolder '../x': a folder on the volume"),
        ("{kind: mass_storage, label: A, mount_point: /etc}", "mount_point /etc cannot hold the camera's volume"),
        (
            "{kind: export, path: /usr/share}",
            "rig.bench.clips.export.path: Value error, /usr/share cannot be a clip folder",
        ),
        ("{kind: export, path: e, manifest: {format: md5}}", "rig.bench.clips.export.manifest.format"),
        ("{kind: usb, label: A}", "rig.bench.clips: Input tag 'usb' found using 'kind' does not match"),
        ("{path: /m, suffix: mp4}", "rig.bench.clips.suffix: String should match pattern"),
        ("{kind: mtp, serial: ''}", "rig.bench.clips.mtp.serial"),
        ("{kind: mass_storage, label: A, connect: docked}", "rig.bench.clips.mass_storage.connect"),
    ],
)
def test_mistakes_name_the_field(tmp_path: Path, clips: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, clips)
    assert expected in str(err.value), str(err.value)


def test_unit_serial_is_read(tmp_path: Path) -> None:
    assert _load(tmp_path, "cam", "  unit_serial: BC200-00731\n").unit_serial == "BC200-00731"


def test_check_unit() -> None:
    stated = DeviceIdentity("BC200-00731", "USB serial of the disk holding /dev/sdc1")
    assert check_unit("bc200-00731", "the rig file", stated).startswith("bc200-00731 (stated by the USB serial")
    assert "does not state a serial" in check_unit("EMU-0001", "the camera profile", None)
    with pytest.raises(UnitMismatch) as err:
        check_unit("BC200-00999", "the rig file (rig.bench.unit_serial)", stated)
    assert str(err.value) == (
        "camera identity: the USB serial of the disk holding /dev/sdc1 is 'BC200-00731', but the rig file "
        "(rig.bench.unit_serial) declares 'BC200-00999': put the declared unit on the bench, or correct the rig file"
    )


# -- a mounted camera volume, as a fake lsblk on PATH describes it -------------------------------------

FAKE_LSBLK = "#!{python}\nimport sys\nsys.stdout.write(open({listing!r}).read())\n"


@pytest.fixture
def camera_lsblk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """PATH has an ``lsblk`` that shows a USB camera (serial BC200-00731) mounted at the returned folder."""
    mount = tmp_path / "media" / "BC200"
    (mount / "DCIM").mkdir(parents=True)
    listing = tmp_path / "lsblk.json"
    part = {
        "name": "sdc1",
        "path": "/dev/sdc1",
        "type": "part",
        "fstype": "vfat",
        "label": "BC200",
        "uuid": "6A3F-11C2",
    }
    part["mountpoint"] = str(mount)
    disk = {
        "name": "sdc",
        "path": "/dev/sdc",
        "type": "disk",
        "serial": "BC200-00731",
        "tran": "usb",
        "children": [part],
    }
    listing.write_text(json.dumps({"blockdevices": [disk]}))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "lsblk").write_text(FAKE_LSBLK.format(python=sys.executable, listing=str(listing)))
    (bin_dir / "lsblk").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    yield mount


@pytest.fixture
def emulated_bench() -> Iterator[tuple[str, str]]:
    """A running emulated bench: its rig controller's port and its supply's VISA resource."""
    from harness.emulator.rig import EmulatedRig

    clock = RealClock()
    profile = CameraProfile.load(camera_profile_path("emulated"))
    try:
        with EmulatedRig(profile, clock, None) as emu:
            yield emu.serial_url, emu.visa_resource
    finally:
        clock.close()


def _bench(tmp_path: Path, bench: tuple[str, str], unit_serial: str | None) -> Path:
    extra = {"unit_serial": unit_serial} if unit_serial else {}
    return bench_rig_file(
        tmp_path / "bench.yaml",
        "usb-bench",
        {"url": bench[0]},
        {"resource": bench[1]},
        clips={"kind": "mass_storage", "label": "BC200", "subfolder": "DCIM"},
        **extra,
    )


def test_the_wrong_unit_stops_the_rig_before_the_supply_is_opened(
    tmp_path: Path, camera_lsblk: Path, emulated_bench: tuple[str, str]
) -> None:
    spec, base = load_rig_spec(_bench(tmp_path, emulated_bench, "BC200-00999"))
    with pytest.raises(
        UnitMismatch, match="is 'BC200-00731', but the rig file \\(rig.bench.unit_serial\\) declares 'BC200-00999'"
    ):
        with open_rig(spec, base):
            pytest.fail("the rig opened")


def test_the_camera_profile_serial_is_the_declared_unit_by_default(
    tmp_path: Path, camera_lsblk: Path, emulated_bench: tuple[str, str]
) -> None:
    spec, base = load_rig_spec(_bench(tmp_path, emulated_bench, None))
    with pytest.raises(
        UnitMismatch, match="but the camera profile emulated.yaml \\(serial; or set rig.bench.unit_serial\\)"
    ):
        with open_rig(spec, base):
            pass


def test_the_right_unit_opens_and_is_recorded(
    tmp_path: Path, camera_lsblk: Path, emulated_bench: tuple[str, str]
) -> None:
    spec, base = load_rig_spec(_bench(tmp_path, emulated_bench, "BC200-00731"))
    with open_rig(spec, base) as rig:
        assert rig.profile.serial == "BC200-00731"  # the report names the unit on the bench
        assert rig.instruments["camera_unit"].startswith(
            "BC200-00731 (stated by the USB serial of the disk holding /dev/sdc1"
        )
        assert (
            rig.instruments["clip_source"]
            == f"mass storage sdc1 vfat label=BC200 uuid=6A3F-11C2 serial=BC200-00731 mounted at {camera_lsblk}; clips in {camera_lsblk / 'DCIM'}"
        )
    _, rows = check_rig(tmp_path / "bench.yaml")
    parts = {r.part: r for r in rows}
    assert parts["camera storage"].status == "ok" and "sdc1 vfat label=BC200" in parts["camera storage"].detail
    assert parts["camera identity"].status == "ok"


def test_certify_stops_before_any_scenario_with_one_line(
    tmp_path: Path, camera_lsblk: Path, emulated_bench: tuple[str, str]
) -> None:
    rig = _bench(tmp_path, emulated_bench, "BC200-00999")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "certify",
            "--rig",
            str(rig),
            "--out",
            str(tmp_path / "out"),
            "--no-pdf",
            "--operator",
            "terminal",  # the scenario asks for READY: someone could answer, so the run gets to the identity
            "scenarios/preroll_full_buffer.yaml",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    lines = [line for line in out.splitlines() if "camera identity:" in line]
    assert len(lines) == 1, out
    assert "'BC200-00731', but the rig file (rig.bench.unit_serial) declares 'BC200-00999'" in lines[0]
    assert "Traceback" not in out
    assert not list((tmp_path / "out").glob("evidence/*/*"))  # no scenario ran
