"""Mass-storage clip source end to end: a FAT32 or exFAT image with a label, attached with losetup,
stands in for the camera's volume. The source finds it by label, mounts it read-only (a write
fails), takes the clips with their provenance and unmounts it on every way out.

Needs root, loop devices and the mkfs tools (Debian dosfstools, exfatprogs); skipped with the
reason otherwise. The lookup and the messages without a volume are tested on recorded lsblk
output in test_block_devices.py.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.devices.block_devices import FUSE_DRIVERS, BlockDevices, VolumeSelector, is_read_only
from harness.devices.clip_source import ClipSourceError
from harness.devices.clip_source_mass_storage import MassStorageClipSource
from harness.plan.naming import FileNaming

MKFS = {"vfat": ["mkfs.vfat", "-F", "32", "-n"], "exfat": ["mkfs.exfat", "-L"]}


def _loop_problem(fstype: str) -> str | None:
    if os.geteuid() != 0:
        return "needs root (losetup and mount)"
    for tool in ("losetup", "mount", "umount", "blkid", MKFS[fstype][0]):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/dev/loop-control").exists():
        return "no loop devices on this machine (/dev/loop-control missing)"
    return None


@dataclass
class CameraVolume:
    label: str
    device: str
    fstype: str
    clips: dict[str, bytes]


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def _system_mount(device: str, fstype: str, target: Path, *options: str) -> None:
    """Mount as a lab's system would: the kernel's driver, or the FUSE one where the kernel has none."""
    opts = ["-o", ",".join(options)] if options else []
    done = subprocess.run(["mount", *opts, "-t", fstype, device, str(target)], capture_output=True, text=True)
    if done.returncode != 0 and "unknown filesystem type" in done.stderr and fstype in FUSE_DRIVERS:
        fuse_type, helper = FUSE_DRIVERS[fstype]
        if shutil.which(helper) is None:
            pytest.skip(f"this kernel cannot mount {fstype} and {helper} (FUSE) is not installed")
        done = subprocess.run(["mount", *opts, "-t", fuse_type, device, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount {fstype} here: {done.stderr.strip()}")


def _fill(image: Path, device: str, fstype: str, files: dict[str, bytes], work: Path) -> None:
    """Write the camera's files into the image: mtools for FAT (no mount needed), a mount for exFAT."""
    if fstype == "vfat":
        if shutil.which("mcopy") is None:
            pytest.skip("mtools is not installed (writes the FAT image)")
        for rel, data in files.items():
            local = work / rel.replace("/", "_")
            local.write_bytes(data)
            parts = rel.split("/")
            for i in range(1, len(parts)):
                subprocess.run(["mmd", "-D", "s", "-i", str(image), "::" + "/".join(parts[:i])], capture_output=True)
            _run("mcopy", "-i", str(image), str(local), "::" + rel)
        return
    fill = work / "fill"
    fill.mkdir()
    _system_mount(device, fstype, fill)
    try:
        for rel, data in files.items():
            (fill / rel).parent.mkdir(parents=True, exist_ok=True)
            (fill / rel).write_bytes(data)
    finally:
        _run("umount", str(fill))


@pytest.fixture(params=["vfat", "exfat"])
def camera_volume(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CameraVolume]:
    """A labelled image on a loop device, holding a camera's DCIM folder, not mounted."""
    fstype = request.param
    problem = _loop_problem(fstype)
    if problem is not None:
        pytest.skip(problem)
    label = f"BWC{secrets.token_hex(3).upper()}"
    image = tmp_path / f"camera.{fstype}.img"
    with open(image, "wb") as fh:
        fh.truncate(48 << 20)
    try:
        _run(*MKFS[fstype], label, str(image))
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot make the {fstype} image: {exc.stderr.strip()}")
    clips = {
        "DCIM/100MEDIA/CLIP0001.MP4": b"first clip " * 1000,
        "DCIM/100MEDIA/CLIP0002.MP4": b"second clip " * 900,
    }
    extra = {"DCIM/100MEDIA/CLIP0003.MP4.partial": b"still writing", "MISC/NOTCLIP.MP4": b"outside DCIM"}
    work = tmp_path / "work"
    work.mkdir()
    device = ""
    try:
        if fstype == "vfat":
            _fill(image, "", fstype, {**clips, **extra}, work)
        try:
            device = _run("losetup", "--find", "--show", str(image))
        except subprocess.CalledProcessError as exc:
            pytest.skip(f"cannot attach a loop device: {exc.stderr.strip()}")
        if fstype != "vfat":
            _fill(image, device, fstype, {**clips, **extra}, work)
        yield CameraVolume(label, device, fstype, clips)
    finally:
        if device:
            subprocess.run(["losetup", "-d", device], capture_output=True)


def _mounted(path: Path) -> bool:
    return os.path.ismount(path)


def test_found_by_label_mounted_read_only_clips_taken_and_unmounted(
    camera_volume: CameraVolume, tmp_path: Path
) -> None:
    source = MassStorageClipSource(VolumeSelector(label=camera_volume.label), ".mp4", subfolder="DCIM", settle_s=0)
    mount_point = source.mount_point
    assert mount_point is not None and _mounted(mount_point) and is_read_only(mount_point)
    assert source.volume is not None and source.volume.path == camera_volume.device
    # the read-only mount is proven by writes that fail: a new file, and an existing clip opened for writing
    with pytest.raises(OSError) as err:
        (mount_point / "DCIM" / "NEW.MP4").write_bytes(b"x")
    assert err.value.errno == errno.EROFS
    with pytest.raises(OSError) as err, open(mount_point / "DCIM" / "100MEDIA" / "CLIP0001.MP4", "r+b"):
        pass
    assert err.value.errno == errno.EROFS
    taken = source.take_new(frozenset(), tmp_path / "evidence")
    assert [e.camera_path for e in taken] == [
        "100MEDIA/CLIP0001.MP4",
        "100MEDIA/CLIP0002.MP4",
    ]  # no partial file, nothing outside DCIM
    for e in taken:
        data = camera_volume.clips[f"DCIM/{e.camera_path}"]
        assert e.path.read_bytes() == data and e.sha256 == hashlib.sha256(data).hexdigest()
        assert e.origin is not None
        rec = e.origin.record()
        assert rec["kind"] == "mass_storage" and rec["path"] == f"DCIM/{e.camera_path}"
        assert rec["device"] == camera_volume.device and rec["label"] == camera_volume.label
        assert rec["fstype"] == camera_volume.fstype and rec["uuid"] and rec["mounted_by"] == "harness (read-only)"
        assert rec["mount_point"] == str(mount_point) and rec["taken_utc"]
    assert source.device_identity() is None  # a loop device has no USB serial
    assert camera_volume.label in source.describe()
    source.close()
    assert not _mounted(mount_point) and not mount_point.exists()
    source.close()  # a second close does nothing


def test_unmounted_on_an_error_and_when_dropped_without_close(camera_volume: CameraVolume, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="scenario broke"):
        with MassStorageClipSource(VolumeSelector(label=camera_volume.label), ".mp4") as source:
            mount_point = source.mount_point
            assert mount_point is not None and _mounted(mount_point)
            raise RuntimeError("scenario broke")
    assert not _mounted(mount_point)
    dropped = MassStorageClipSource(VolumeSelector(label=camera_volume.label), ".mp4", mount_point=tmp_path / "cam")
    assert _mounted(tmp_path / "cam")
    del dropped
    gc.collect()
    assert not _mounted(tmp_path / "cam") and not (tmp_path / "cam").exists()


def test_an_existing_mount_is_used_and_left_mounted(camera_volume: CameraVolume, tmp_path: Path) -> None:
    system = tmp_path / "system-mount"
    system.mkdir()
    _system_mount(camera_volume.device, camera_volume.fstype, system, "ro")
    try:
        if not BlockDevices().find(VolumeSelector(label=camera_volume.label)).mountpoints:
            pytest.skip(f"lsblk does not show this {camera_volume.fstype} FUSE mount as the device's")
        source = MassStorageClipSource(VolumeSelector(label=camera_volume.label), ".mp4", subfolder="DCIM")
        assert source.mount_point == system and not source.mounted_here
        (clip,) = source.take_new(frozenset(), tmp_path / "ev")[:1]
        assert clip.origin is not None and dict(clip.origin.details)["mounted_by"] == "system"
        source.close()
        assert _mounted(system)
    finally:
        _run("umount", str(system))


def test_a_mount_point_that_is_not_empty_is_refused(camera_volume: CameraVolume, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    with pytest.raises(ClipSourceError, match=f"mount point {busy} is not an empty folder"):
        MassStorageClipSource(VolumeSelector(label=camera_volume.label), mount_point=busy)


def test_no_volume_is_one_line_naming_the_label_and_what_lsblk_saw() -> None:
    """On this machine's real lsblk (no volume has this label)."""
    if shutil.which("lsblk") is None:
        pytest.skip("lsblk is not installed")
    with pytest.raises(ClipSourceError) as err:
        MassStorageClipSource(VolumeSelector(label="NO_SUCH_CAM"))
    assert str(err.value).startswith("camera volume with label 'NO_SUCH_CAM' not found (lsblk saw: ")
    assert "\n" not in str(err.value)


def test_the_usb_serial_is_the_cameras_identity(tmp_path: Path) -> None:
    """From a recorded listing: an already mounted camera volume states its disk's USB serial."""
    data = {
        "blockdevices": [
            {
                "name": "sdc",
                "path": "/dev/sdc",
                "type": "disk",
                "serial": "BC200-00731",
                "tran": "usb",
                "model": "BC-200",
                "mountpoint": None,
                "children": [
                    {
                        "name": "sdc1",
                        "path": "/dev/sdc1",
                        "type": "part",
                        "fstype": "vfat",
                        "label": "BC200",
                        "uuid": "6A3F-11C2",
                        "mountpoint": str(tmp_path),
                    }
                ],
            }
        ]
    }
    (tmp_path / "DCIM").mkdir()
    source = MassStorageClipSource(
        VolumeSelector(label="BC200"), subfolder="DCIM", devices=BlockDevices(json.dumps(data))
    )
    identity = source.device_identity()
    assert identity is not None and identity.serial == "BC200-00731" and "/dev/sdc1" in identity.stated_by
    source.close()


def _listing_without_usb_serial(mount: Path) -> str:
    """lsblk's view of a card reader or a no-name camera: a disk that states no USB serial."""
    part = {"name": "sdd1", "path": "/dev/sdd1", "type": "part", "fstype": "vfat", "label": "NONAME"}
    disk = {"name": "sdd", "path": "/dev/sdd", "type": "disk", "serial": None, "tran": "usb", "mountpoint": None}
    return json.dumps(
        {"blockdevices": [{**disk, "children": [{**part, "uuid": "1B2C-3D4E", "mountpoint": str(mount)}]}]}
    )


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["GX7-00412_20261201_081500_0001_01.MP4", "GX7-00412_20261201_090000_0002_01.MP4"], "GX7-00412"),
        (["GX7-00412_20261201_081500_0001_01.MP4", "GX7-00999_20261201_090000_0002_01.MP4"], None),  # two units
        (["MOVI0001.MP4"], None),  # names that do not follow the camera's pattern state nothing
        ([], None),  # nothing on the camera yet
    ],
)
def test_a_disk_without_usb_serial_states_the_unit_in_its_file_names(
    tmp_path: Path, names: list[str], expected: str | None
) -> None:
    (tmp_path / "DCIM").mkdir()
    for name in names:
        (tmp_path / "DCIM" / name).write_bytes(b"\0" * 64)
    naming = FileNaming("{serial}_{start:%Y%m%d_%H%M%S}_{event:04d}_{segment:02d}")
    source = MassStorageClipSource(
        VolumeSelector(label="NONAME"),
        suffix=".mp4",
        subfolder="DCIM",
        devices=BlockDevices(_listing_without_usb_serial(tmp_path)),
        naming=naming,
    )
    identity = source.device_identity()
    if expected is None:
        assert identity is None
    else:
        assert identity is not None and identity.serial == expected
        assert identity.stated_by == "names of the camera's files on /dev/sdd1 (the disk states no USB serial)"
    source.close()
