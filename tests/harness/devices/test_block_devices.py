"""Finding the camera's volume in lsblk's listing (recorded JSON: a bench with a USB camera, a
second USB camera already mounted, the system disk and a loop device udev knows nothing about)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.devices.block_devices import BlockDevices, Mounter, Volume, VolumeSelector
from harness.devices.clip_source import ClipSourceError

LISTING = (Path(__file__).parent / "lsblk_output" / "bench-with-camera.json").read_text()
#: what ``blkid -p -o export /dev/loop0`` prints for a FAT32 image with a label
BLKID_LOOP0 = "DEVNAME=/dev/loop0\nLABEL_FATBOOT=BWCTEST\nLABEL=BWCTEST\nUUID=2834-E010\nVERSION=FAT32\nBLOCK_SIZE=512\nTYPE=vfat\nUSAGE=filesystem\n"


def devices() -> BlockDevices:
    return BlockDevices(LISTING, {"/dev/loop0": BLKID_LOOP0})


def test_a_partition_carries_its_disks_usb_serial() -> None:
    vol = devices().find(VolumeSelector(label="BC200"))
    assert (vol.path, vol.fstype, vol.uuid, vol.usb_serial, vol.transport) == (
        "/dev/sda1",
        "vfat",
        "6A3F-11C2",
        "4C530001230517115393",
        "usb",
    )
    assert vol.model is None and vol.mountpoints == ()


@pytest.mark.parametrize(
    ("selector", "path"),
    [
        (VolumeSelector(uuid="6a3f-11c2"), "/dev/sda1"),  # UUIDs compare without case
        (VolumeSelector(usb_serial="4C530001230517115393"), "/dev/sda1"),
        (VolumeSelector(usb_serial="0000000000000042"), "/dev/sdb"),  # a disk without partitions
        (VolumeSelector(label="BWCTEST"), "/dev/loop0"),  # found by blkid where udev knows nothing
        (VolumeSelector(label="BC200", usb_serial="4C530001230517115393"), "/dev/sda1"),
    ],
)
def test_found_by_label_uuid_or_usb_serial(selector: VolumeSelector, path: str) -> None:
    assert devices().find(selector).path == path


def test_an_existing_mount_is_seen() -> None:
    vol = devices().find(VolumeSelector(label="CAM_0042"))
    assert vol.mountpoints == ("/media/lab/CAM_0042",) and vol.model == "Mass-Storage"


def test_a_missing_volume_names_what_was_looked_for_and_what_lsblk_saw() -> None:
    with pytest.raises(ClipSourceError) as err:
        devices().find(VolumeSelector(label="BWC_CAM", usb_serial="X1"))
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("camera volume with label 'BWC_CAM', USB serial 'X1' not found (lsblk saw: ")
    assert "sda1 vfat label=BC200 uuid=6A3F-11C2 serial=4C530001230517115393" in text
    assert "loop0 vfat label=BWCTEST" in text and "nvme0n1p2 ext4" in text


def test_every_field_given_must_match() -> None:
    with pytest.raises(ClipSourceError, match="not found"):
        devices().find(VolumeSelector(label="BC200", usb_serial="0000000000000042"))


def test_two_matching_volumes_are_refused() -> None:
    data = json.loads(LISTING)
    data["blockdevices"][1]["label"] = "BC200"
    with pytest.raises(ClipSourceError, match=r"2 volumes match label 'BC200' \(sda1, sdb\)"):
        BlockDevices(json.dumps(data)).find(VolumeSelector(label="BC200"))


def test_newer_lsblk_mountpoints_list() -> None:
    data = json.loads(LISTING)
    disk = data["blockdevices"][1]
    del disk["mountpoint"]
    disk["mountpoints"] = ["/media/lab/CAM_0042", None]
    assert BlockDevices(json.dumps(data)).find(VolumeSelector(label="CAM_0042")).mountpoints == ("/media/lab/CAM_0042",)


@pytest.mark.parametrize("text", ["", "not json", '{"devices": []}', '{"blockdevices": 3}'])
def test_output_that_is_not_lsblk_json_is_one_line(text: str) -> None:
    with pytest.raises(ClipSourceError, match="lsblk gave output that is not its JSON listing"):
        BlockDevices(text).volumes()


def test_a_selector_needs_something_to_find_the_volume_by() -> None:
    with pytest.raises(ValueError, match="label, uuid or usb_serial"):
        VolumeSelector()


def test_mount_is_read_only_and_a_failure_is_one_line(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def runner(cmd: list[str]) -> tuple[int, str, str]:
        calls.append(cmd)
        if cmd[0] == "mount":
            return 32, "", "mount: /mnt/x: wrong fs type, bad option, bad superblock on /dev/sda1.\n"
        return (0, "", "") if cmd[:2] != ["umount", str(tmp_path)] else (32, "", "umount: target is busy.\n")

    vol = Volume("sda1", "/dev/sda1", "vfat", "BC200", None, None, "usb", None)
    with pytest.raises(ClipSourceError) as err:
        Mounter(runner).mount(vol, tmp_path)
    assert calls[0] == ["mount", "-o", "ro,nosuid,nodev,noexec", "-t", "vfat", "/dev/sda1", str(tmp_path)]
    assert str(err.value).startswith(
        f"cannot mount sda1 vfat label=BC200 read-only at {tmp_path}: mount: /mnt/x: wrong fs type"
    )
    assert Mounter(runner).unmount(tmp_path) is None  # busy: detached lazily
    assert calls[-1] == ["umount", "-l", str(tmp_path)]
