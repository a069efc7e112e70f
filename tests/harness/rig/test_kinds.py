"""Rig kinds: one registry that ``open_rig`` and ``bwc rig check`` share, open to a new kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.clock import RealClock
from harness.core.paths import camera_profile_path
from harness.emulator.rig import EmulatedRig
from harness.plan.profile import CameraProfile
from harness.rig.check import check_rig
from harness.rig.factory import open_rig
from harness.rig.kinds import RIG_KINDS, load_rig_spec


def test_rig_kinds_are_one_registry_for_both_paths() -> None:
    """``open_rig`` and ``bwc rig check`` find a rig file's kind in the same registry."""
    import harness.rig.check as check_module
    import harness.rig.factory as factory_module

    assert set(RIG_KINDS) == {"emulated", "bench"}
    assert check_module.rig_kind is factory_module.rig_kind


def test_a_new_rig_kind_is_one_registered_builder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``kind: place`` (here: a fixed installation reached through the emulated bench's transports)
    becomes valid in rig files, opens with ``open_rig`` and is probed by ``bwc rig check``, from one
    registered builder."""
    import contextlib
    from collections.abc import Iterator
    from typing import Literal

    from harness.rig.kinds import BuildContext, RigKind
    from harness.rig.parts import ClipSettings, InstrumentSettings, RigParts, SerialSettings
    from harness.rig.specs import RigSpecBase

    clock = RealClock()
    profile = CameraProfile.load(camera_profile_path("emulated"))
    try:
        with EmulatedRig(profile, clock, tmp_path / "cam") as emu:

            class PlaceRigSpec(RigSpecBase):
                kind: Literal["place"]
                room: str

            @contextlib.contextmanager
            def build_place(spec: PlaceRigSpec, ctx: BuildContext) -> Iterator[RigParts]:
                yield RigParts(
                    name=f"{spec.name} ({spec.room})",
                    refresh_hz=spec.refresh_hz,
                    serial=SerialSettings(emu.serial_url, baudrate=57600),
                    instrument=InstrumentSettings(emu.visa_resource),
                    clips=ClipSettings(emu.clip_folder, ctx.profile.clip_suffix),
                    power=spec.power,
                    limits=spec.limits,
                )

            monkeypatch.setitem(
                RIG_KINDS, "place", RigKind("place", PlaceRigSpec, build_place, lambda spec: RealClock())
            )
            rig_file = tmp_path / "place.yaml"
            rig_file.write_text("rig: {kind: place, name: agency-room, camera: emulated, room: B12}\n")
            spec, base = load_rig_spec(rig_file)
            assert isinstance(spec, PlaceRigSpec)
            with open_rig(spec, base) as rig:
                assert rig.name == "agency-room (B12)" and rig.instruments["rig_controller"].startswith("BWC-RIG-EMU")
                assert rig.controller._port.baudrate == 57600  # type: ignore[attr-defined]
            name, rows = check_rig(rig_file)
            assert name == "agency-room" and {r.status for r in rows} == {"ok"}, rows
            rig_file.write_text("rig: {kind: place, name: agency-room, camera: emulated}\n")
            from harness.core.config import ConfigError

            with pytest.raises(ConfigError, match=r"rig\.place\.room"):
                load_rig_spec(rig_file)
    finally:
        clock.close()
