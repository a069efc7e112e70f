"""The emulated evidence system: files the camera wrote are uploaded as evidence items and exported by
the operator into a fresh folder a moment later, named by the vendor's scheme and with its manifest,
which the export clip source takes without a finding."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from harness.core.clock import VirtualClock
from harness.core.paths import CAMERAS_DIR
from harness.devices.clip_source_export import ExportClipSource, ExportManifest
from harness.emulator.evidence_system import MANIFEST_NAMES, EmulatedEvidenceSystem
from harness.plan.profile import CameraProfile


def _camera_file(storage: Path, profile: CameraProfile, event: int, data: bytes) -> Path:
    name = profile.naming.format(profile.serial, datetime(2026, 1, 1, 0, 0, event), event, 1) + profile.clip_suffix
    path = storage / name
    path.write_bytes(data)
    return path


def test_an_export_holds_the_events_not_exported_yet_with_the_vendors_names_and_manifest(tmp_path: Path) -> None:
    for persona in ("axon-body-4", "motorola-v300"):
        profile = CameraProfile.load(CAMERAS_DIR / f"{persona}.yaml")
        storage, clock = tmp_path / persona / "DCIM", VirtualClock()
        storage.mkdir(parents=True)
        system = EmulatedEvidenceSystem(profile, storage, tmp_path / persona / "es", clock)
        _camera_file(storage, profile, 1, b"one" * 100)
        folder = system.export()
        assert list(folder.iterdir()) == []  # filled a moment after it is asked for
        _camera_file(storage, profile, 2, b"two" * 100)  # the camera's last file, written at power-off
        clock.sleep(2.0)
        kind = profile.delivery.export_manifest
        assert kind is not None
        names = sorted(p.name for p in folder.iterdir())
        assert MANIFEST_NAMES[kind] in names and not any(n.endswith(".partial") for n in names)
        clips = sorted(n for n in names if n.endswith(profile.clip_suffix))
        assert len(clips) == 2 and all(profile.naming.parse(n[: -len(profile.clip_suffix)]) for n in clips)
        assert [i.evidence_id.startswith("EV0000") for i in system.items] == [True, True]
        source = ExportClipSource(folder, profile.clip_suffix, ExportManifest(MANIFEST_NAMES[kind], kind), settle_s=0)
        taken = source.take_new(frozenset(), tmp_path / persona / "ev")
        assert len(taken) == 2 and all(e.finding is None for e in taken), [e.finding for e in taken]
        assert source.last_check.manifest == MANIFEST_NAMES[kind] and source.last_wait.untaken == []
        # the next export holds only what the camera wrote since
        _camera_file(storage, profile, 3, b"three" * 100)
        again = system.export()
        clock.sleep(2.0)
        assert len([p for p in again.iterdir() if p.name.endswith(profile.clip_suffix)]) == 1 and again != folder
