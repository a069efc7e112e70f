"""Identity: the serial a clip states (file name, container tag, metadata, overlay) must be the
bench's declared unit; a camera that states it nowhere is reported as not measurable; a file of
another camera is found through whichever place names it. Synthetic analyses for the reading,
real clips of the emulated camera for the emulator's names and tags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.analysis.clip import ClipAnalysis
from harness.checks import CHECKS, CheckInput
from harness.checks.identity import NOWHERE, canonical_serial, clip_serials, same_serial, serial_match
from harness.core.measurement import NOT_MEASURABLE
from harness.core.paths import CAMERAS_DIR, SUITE_DIR
from harness.core.timeline import Action, Timeline
from harness.emulator.camera import FOREIGN_SERIAL
from harness.execution.runner import run_scenario
from harness.plan.profile import CameraProfile
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec
from tests.conftest import camera_variant

PERIOD = 1 / 30


@pytest.fixture(scope="module")
def builtin() -> CameraProfile:
    return CameraProfile.load(CAMERAS_DIR / "emulated.yaml")


def bare(profile: CameraProfile, **update: object) -> CameraProfile:
    """The profile of a camera that writes no harness metadata (no JSON tags)."""
    return profile.model_copy(
        update={"event_marker_key": None, "clock": profile.clock.model_copy(update={"metadata_key": None}), **update}
    )


def clip(name: str, tags: dict | None = None, overlay: str | None = None) -> ClipAnalysis:
    ref = [100.0 + k * PERIOD for k in range(30)]
    return ClipAnalysis(
        path=f"/clips/{name}.mp4",
        pts_s=[k * PERIOD for k in range(30)],
        ref_s=ref,
        first_ref_s=ref[0],
        last_ref_s=ref[-1],
        frames=30,
        decoded=30,
        tags=tags or {},
        overlay_serial=overlay,
    )


def check_input(profile: CameraProfile, clips: list[ClipAnalysis]) -> CheckInput:
    return CheckInput(profile, Timeline([Action(0.0, "power", "on"), Action(95.0, "gesture", "start")]), clips, 1)


def test_every_place_a_clip_names_its_camera_is_read(builtin: CameraProfile) -> None:
    profile = builtin.model_copy(update={"serial_from": builtin.serial_from.model_copy(update={"tag": "artist"})})
    c = clip(
        "EMU-0001_20260101_000010_0001_01",
        tags={"artist": "EMU-0001", "comment": json.dumps({"serial": "EMU-0001"})},
        overlay="EMU-0001",
    )
    readings = {r.source: r.serial for r in clip_serials(c, profile)}
    assert readings == {
        "file name": "EMU-0001",
        "tag artist": "EMU-0001",
        "overlay": "EMU-0001",
        "metadata comment": "EMU-0001",
    }


def test_serial_match_is_1_when_every_place_names_the_declared_unit(builtin: CameraProfile) -> None:
    (m,) = serial_match(check_input(bare(builtin), [clip("EMU-0001_20260101_000010_0001_01")]))
    assert (m.name, m.value, m.outcome, m.requirement) == ("serial_match[event 1]", 1, "pass", "BWC-EVT-01")
    assert "file name: EMU-0001" in m.note and "declared unit EMU-0001" in m.note


@pytest.mark.parametrize(
    ("name", "tags", "overlay", "says"),
    [
        ("EMU-0002_20260101_000010_0001_01", {}, None, "file name: EMU-0002"),
        ("EMU-0001_20260101_000010_0001_01", {}, "EMU-0033", "overlay: EMU-0033"),  # read by OCR: 2 off
        ("IMG_0042", {}, None, "file name: none"),  # the name the profile promises names nobody
    ],
    ids=["name", "overlay", "name-unreadable"],
)
def test_serial_match_fails_on_any_other_or_missing_serial(
    builtin: CameraProfile, name: str, tags: dict, overlay: str | None, says: str
) -> None:
    (m,) = serial_match(check_input(bare(builtin), [clip(name, tags, overlay)]))
    assert m.value == 0 and m.outcome == "fail" and says in m.note


@pytest.mark.parametrize(
    ("read", "same"),
    [
        ("B8A44FO00110", True),  # O for 0, as OCR reads it
        ("88A44F000110", True),  # 8 for B
        ("b8a44f000110", True),  # case
        ("B8A44FQ000110", False),  # an extra character is another serial
        ("B8A44F000111", False),  # another unit of the same vendor
        (FOREIGN_SERIAL, False),
    ],
)
def test_serials_are_compared_in_canonical_form(read: str, same: bool) -> None:
    """OCR's confusable characters are taken as one, alike on both sides; any other difference stays one."""
    assert canonical_serial("B8A44F000110") == "88A44F000110"
    assert same_serial(read, "B8A44F000110") is same


def test_an_overlay_serial_may_be_one_ocr_misread_off_but_file_names_are_exact(builtin: CameraProfile) -> None:
    """OCR misreads a character now and then: an overlay reading within the profile's tolerance (1)
    is the unit, with what was read in the note; the same difference in a file name is another unit."""
    profile = bare(builtin)
    (m,) = serial_match(check_input(profile, [clip("EMU-0001_20260101_000010_0001_01", overlay="EMU-O0O7")]))
    assert m.value == 1 and "overlay: EMU-O0O7" in m.note  # O as 0, then one character substituted
    (m,) = serial_match(check_input(profile, [clip("EMU-0001_20260101_000010_0001_01", overlay="EMU-00001")]))
    assert m.value == 1 and "overlay: EMU-00001" in m.note and "within 1 character" in m.note
    (m,) = serial_match(check_input(profile, [clip("EMU-0007_20260101_000010_0001_01", overlay="EMU-0001")]))
    assert m.value == 0 and "file name: EMU-0007" in m.note
    strict = profile.model_copy(
        update={"serial_from": profile.serial_from.model_copy(update={"overlay_tolerance_chars": 0})}
    )
    (m,) = serial_match(check_input(strict, [clip("EMU-0001_20260101_000010_0001_01", overlay="EMU-00001")]))
    assert m.value == 0


def test_an_unread_overlay_does_not_outvote_an_exact_file_name(builtin: CameraProfile) -> None:
    """OCR that reads nothing is no evidence of another unit when the file name names the unit;
    an overlay alone that reads nothing fails; leading punctuation OCR adds is not part of a serial."""
    profile = bare(builtin).model_copy(update={"serial_from": builtin.serial_from.model_copy(update={"overlay": True})})
    profile = profile.model_copy(update={"clock": profile.clock.model_copy(update={"burned_in": None})})
    (m,) = serial_match(check_input(profile, [clip("EMU-0001_20260101_000010_0001_01", overlay=None)]))
    assert m.value == 1 and "overlay: none" in m.note
    alone = profile.model_copy(update={"file_name": "{start:%Y%m%d_%H%M%S}_{event:04d}"})
    (m,) = serial_match(check_input(alone, [clip("20260101_000010_0001", overlay=None)]))
    assert m.value == 0
    assert canonical_serial(".X60A1234B") == canonical_serial("X60A1234B")


def test_serial_match_note_says_the_comparison_is_canonical(builtin: CameraProfile) -> None:
    profile = bare(builtin, serial="B8A44F000110", file_name="{start:%Y%m%d_%H%M%S}_{event:04d}")
    profile = profile.model_copy(update={"serial_from": profile.serial_from.model_copy(update={"overlay": True})})
    (m,) = serial_match(check_input(profile, [clip("20260101_000010_0001", overlay="B8A44FO00110")]))
    assert m.value == 1 and "overlay: B8A44FO00110" in m.note and "O/Q/0, I/1, S/5 and B/8 alike" in m.note
    (m,) = serial_match(check_input(profile, [clip("20260101_000010_0001", overlay=FOREIGN_SERIAL)]))
    assert m.value == 0 and m.outcome == "fail"


def test_a_camera_that_states_its_serial_nowhere_is_not_measurable(builtin: CameraProfile) -> None:
    profile = bare(builtin, file_name="{start:%Y%m%d_%H%M%S}_{event:04d}")
    (m,) = serial_match(check_input(profile, [clip("20260101_000010_0001")]))
    assert m.outcome == NOT_MEASURABLE and m.value is None and m.not_measurable == NOWHERE
    assert m.record()["not_measurable"] == NOWHERE and "not measurable" in str(m)


def test_foreign_files_and_serial_match_judge_the_same_readings(builtin: CameraProfile) -> None:
    """A file named for another camera is foreign and fails the identity of its recording."""
    profile = bare(builtin, serial_from=builtin.serial_from.model_copy(update={"tag": "artist"}))
    c = clip("EMU-9999_20260101_000010_0001_01", tags={"artist": "EMU-9999"})
    count, foreign, match = CHECKS["clip_count"](check_input(profile, [c]))
    assert count.outcome == "pass"
    assert foreign.value == 1 and "names camera EMU-9999 in its file name and tag artist" in foreign.note
    assert match.value == 0 and match.outcome == "fail"


# --------------------------------------------------------------------------- real clips of the emulated camera


def _run(camera: Path, tmp_path: Path, faults: tuple[str, ...] = ()) -> tuple[list, list]:
    scenario = Scenario.load(SUITE_DIR / "stop.yaml")
    with open_rig(EmulatedRigSpec(kind="emulated"), faults=faults, workdir=tmp_path, camera=str(camera)) as rig:
        result = run_scenario(scenario, rig, tmp_path / "evidence")
    return result.measurements, result.analyses


def test_the_emulator_names_its_files_by_the_template_and_tags_its_serial(tmp_path: Path) -> None:
    camera = camera_variant(
        tmp_path,
        "tagged",
        event_marker_key=None,
        clock={"metadata_key": None},
        file_name="CAM_{start:%Y-%m-%d_%H-%M-%S}_{serial}",
        serial_from={"tag": "device_serial"},
    )
    measurements, analyses = _run(camera, tmp_path)
    (analysis,) = analyses
    assert Path(analysis.path).name.startswith("CAM_2026-") and Path(analysis.path).name.endswith("_EMU-0001.mp4")
    assert analysis.tags["device_serial"] == "EMU-0001" and "comment" not in analysis.tags
    m = next(m for m in measurements if m.name == "serial_match[event 1]")
    assert m.outcome == "pass" and "file name: EMU-0001" in m.note and "tag device_serial: EMU-0001" in m.note


def test_a_foreign_file_is_caught_through_its_name_without_metadata(tmp_path: Path) -> None:
    """Device fault foreign-serial on a camera that writes no metadata: the file name gives it away."""
    camera = camera_variant(tmp_path, "bare", event_marker_key=None, clock={"metadata_key": None})
    measurements, _ = _run(camera, tmp_path, faults=("foreign-serial",))
    by_name = {m.name: m for m in measurements}
    foreign = by_name["foreign_files"]
    assert foreign.value == 1 and foreign.outcome == "fail"
    assert f"names camera {FOREIGN_SERIAL} in its file name (camera under test EMU-0001" in foreign.note
    match = by_name["serial_match[event 1]"]
    assert match.value == 0 and f"file name: {FOREIGN_SERIAL}" in match.note
