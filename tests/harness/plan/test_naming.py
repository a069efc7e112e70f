"""File naming templates: the emulator's names and the checks' reading of them agree, for the
vendors' own layouts, and a template that cannot be read back is refused with a clear line."""

from __future__ import annotations

from datetime import datetime

import pytest

from harness.core.config import ConfigError
from harness.plan.naming import FileNaming, NameFields, NamingError
from harness.plan.profile import CameraProfile
from tests.conftest import camera_variant

START = datetime(2026, 11, 4, 9, 30, 12)


@pytest.mark.parametrize(
    ("template", "name"),
    [
        ("{serial}_{start:%Y%m%d_%H%M%S}_{event:04d}_{segment:02d}", "EMU-0001_20261104_093012_0007_02"),
        ("{serial}_{start:%Y-%m-%d_%H-%M-%S}", "WGV300_123456_2026-11-04_09-30-12"),  # a serial with "_"
        ("AXON_{start:%Y%m%d%H%M%S}_{serial}_{segment}", "AXON_20261104093012_X6039152_2"),
        ("{start:%y%m%d-%H%M%S}-{event:03d}", "261104-093012-007"),  # no serial: the name names no camera
    ],
)
def test_a_formatted_name_reads_back_to_its_fields(template: str, name: str) -> None:
    naming = FileNaming(template)
    serial = {"EMU": "EMU-0001", "WGV": "WGV300_123456", "AXO": "X6039152"}.get(name[:3], "unused")
    assert naming.format(serial, START, 7, 2) == name
    fields = naming.parse(name)
    assert fields is not None
    assert fields.start == START
    assert fields.serial == (serial if "serial" in naming.fields else None)
    assert fields.event == (7 if "event" in naming.fields else None)
    assert fields.segment == (2 if "segment" in naming.fields else None)


def test_a_name_of_another_pattern_reads_as_none() -> None:
    naming = FileNaming("{serial}_{start:%Y%m%d_%H%M%S}_{event:04d}_{segment:02d}")
    assert naming.parse("IMG_0042") is None
    assert naming.parse("EMU-0001_20261399_093012_0007_02") is None  # month 13: not a time
    assert naming.parse("EMU-0001_20261104_093012_0007_02") == NameFields("EMU-0001", START, 7, 2)


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{serial}_{when:%Y}", "unknown field {when}"),
        ("{serial}_{start}", "{start} needs a strftime format"),
        ("{serial}_{start:%Y%m%d %A}", "strftime code %A"),
        ("{serial}_{event:>4}", "integer format"),
        ("{serial}_{serial}", "appears twice"),
        ("{serial", "not a valid format string"),
    ],
)
def test_a_template_that_cannot_be_read_back_is_refused(template: str, says: str) -> None:
    with pytest.raises(NamingError, match=says.replace("{", r"\{").replace("}", r"\}")):
        FileNaming(template)


def test_a_profile_with_a_bad_template_is_one_line_naming_the_field(tmp_path) -> None:
    path = camera_variant(tmp_path, "bad-name", file_name="{serial}_{start}")
    with pytest.raises(ConfigError) as err:
        CameraProfile.load(path)
    text = str(err.value)
    assert "file_name" in text and "strftime format" in text and str(path) in text and "\n" not in text.strip()
