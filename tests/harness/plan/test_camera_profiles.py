"""The camera profiles of real models shipped with the suite, and the template for new ones."""

from __future__ import annotations

from fractions import Fraction

import pytest
import yaml

from harness.core.paths import CAMERAS_DIR
from harness.plan.profile import CameraProfile

PERSONAS = ("axon-body-4", "motorola-v300", "axis-w110", "generic-mass-storage")


@pytest.mark.parametrize("name", PERSONAS)
def test_persona_profile_loads_writes_no_harness_metadata_and_cites_its_sources(name: str) -> None:
    """Each real-model profile loads, writes no harness JSON, states its clock as overlay text and
    container time, is written at a CI economy size, and cites a source or the bench per field."""
    profile = CameraProfile.load(CAMERAS_DIR / f"{name}.yaml")
    assert profile.event_marker_key is None and profile.clock.metadata_key is None
    assert profile.clock.burned_in == "text" and profile.clock.overlay is not None
    assert profile.clock.container_time
    assert profile.written_size == (640, 360) != (profile.video.width, profile.video.height)
    text = (CAMERAS_DIR / f"{name}.yaml").read_text()
    assert "to be measured on the bench" in text
    lines = text.splitlines()
    for field in ("pre_event_buffer_s", "boot_s", "serial", "video", "post_record_s"):
        i = next(i for i, line in enumerate(lines) if line.startswith(f"{field}:"))
        cited = "#" in lines[i] or lines[i - 1].startswith("#") or lines[i + 1].lstrip().startswith("#")
        assert cited, f"{name}: {field} has no comment citing its source"


def test_personas_cover_the_codecs_rates_and_behaviours_of_real_cameras() -> None:
    profiles = {n: CameraProfile.load(CAMERAS_DIR / f"{n}.yaml") for n in PERSONAS}
    assert {p.video.codec for p in profiles.values()} == {"h264", "hevc"}
    assert {p.video.frame_rate for p in profiles.values()} >= {Fraction(25), Fraction(30000, 1001), Fraction(30)}
    axon = profiles["axon-body-4"]
    assert axon.switch_on == "button" and axon.vendor_default.pre_event_buffer_s == 30
    assert axon.segment_s == axon.max_recording_s == 14400
    assert axon.audio.reminder is not None and axon.audio.reminder.every_s == 120
    assert axon.gestures["start"].presses == 2 and axon.gestures["stop"].hold_s == 3.0
    v300 = profiles["motorola-v300"]
    assert v300.gestures["stop"].confirm_within_s == 5.0 and len(v300.gestures["stop"].presses_made()) == 2
    axis = profiles["axis-w110"]
    assert axis.pre_event_buffer_s == 90 and axis.emulation.buffer_storage_mb is not None  # its longest
    generic = profiles["generic-mass-storage"]
    assert generic.post_record_s == 5 and generic.segment_s == 300


def test_template_is_a_valid_profile_once_filled_in_and_never_loaded_by_name() -> None:
    """The template is not a `.yaml` file (no profile name reaches it) and validates once its
    placeholders are filled."""
    template = CAMERAS_DIR / "TEMPLATE.yaml.example"
    assert template.suffix != ".yaml" and not (CAMERAS_DIR / "TEMPLATE.yaml").exists()
    data = yaml.safe_load(template.read_text())
    CameraProfile.model_validate(data)
