"""The emulated camera's USB volume: a labelled FAT32 image on a loop device, connected when the run asks
for the clips. The mass-storage source finds it by its label, mounts it read-only (a write fails),
takes the clips new since the last connection and gives the volume back after every take.

Needs root, loop devices, dosfstools and mtools; skipped with the reason otherwise."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from harness.core.clock import VirtualClock
from harness.devices.block_devices import VolumeSelector
from harness.devices.clip_source_mass_storage import MassStorageClipSource
from harness.emulator.usb_volume import EmulatedUsbVolume, usb_volume_problem


def test_clips_are_taken_from_the_volume_connected_on_request(tmp_path: Path) -> None:
    problem = usb_volume_problem()
    if problem is not None:
        pytest.skip(problem)
    storage, clock = tmp_path / "camera" / "DCIM", VirtualClock()
    storage.mkdir(parents=True)
    (storage / "100MEDIA").mkdir()
    (storage / "100MEDIA" / "CLIP0001.MP4").write_bytes(b"first" * 1000)
    volume = EmulatedUsbVolume(storage, tmp_path / "camera.img", ".mp4", clock)
    try:
        volume.connect()
        source = MassStorageClipSource(
            VolumeSelector(label=volume.label), ".mp4", "DCIM", settle_s=0, connect_on_request=True
        )
        assert source.mount_point is None and volume.label in source.describe()  # given back after the first look
        before = source.snapshot()
        assert len(before) == 1  # the clip the camera held when it was first connected
        (storage / "100MEDIA" / "CLIP0002.MP4").write_bytes(b"second" * 1000)  # recorded while disconnected
        seen_mounts: list[Path | None] = []

        def progress(elapsed: float, total: float, detail: str) -> None:
            if not seen_mounts:
                seen_mounts.append(source.mount_point)
                mp = source.mount_point
                assert mp is not None
                with pytest.raises(OSError) as err:
                    (mp / "DCIM" / "NEW.MP4").write_bytes(b"x")  # mounted read-only
                assert err.value.errno == errno.EROFS

        prompt = source.handover_prompt()
        assert prompt is not None and prompt.key == "camera_connected" and prompt.expect == "confirm"
        assert prompt.text == f"connect the camera's USB storage (label {volume.label!r}) to this computer and confirm"
        assert not source.reachable()
        volume.answer()  # what the automatic operator does for this prompt
        taken = source.wait_for_new(before, tmp_path / "ev", clock, timeout_s=1.0, progress=progress)
        assert [e.camera_path for e in taken] == ["100MEDIA/CLIP0002.MP4"]
        assert taken[0].path.read_bytes() == b"second" * 1000
        assert taken[0].origin is not None and dict(taken[0].origin.details)["label"] == volume.label
        assert seen_mounts and source.mount_point is None  # mounted while taking, given back after
        source.close()
    finally:
        volume.close()
    assert volume.device is None and not (tmp_path / "camera.img").exists()
