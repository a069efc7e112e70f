"""The busy scene variant: costly for an encoder, and its time code still reads."""

from __future__ import annotations

import numpy as np
import pytest

from harness.emulator.capture import LEVELS, CaptureModel
from harness.scene.busy import BITRATE_FACTOR
from harness.scene.compose import Scene
from harness.scene.timecode import TimecodeDecoder


def test_busy_frames_decode_exactly_directly_and_through_the_capture_model() -> None:
    """Every busy frame decodes to its own counter; filmed with moderate capture realism the
    readings are the same kinds as on the standard scene (no undecodable, no wrong value)."""
    decoder = TimecodeDecoder(640, 360)
    busy = Scene(640, 360, 60.0, variant="busy")
    for n in range(500, 560):
        reading = decoder.decode(busy.frame(n))
        assert (reading.kind, reading.value) == ("clean", n)
    kinds = {}
    for variant in ("standard", "busy"):
        scene = Scene(640, 360, 60.0, variant=variant)
        camera = CaptureModel(scene, (640, 360), 30.0, LEVELS["moderate"], seed=5)
        readings = [decoder.decode(camera.capture(20 + k / 30)) for k in range(45)]
        assert all(r.kind != "undecodable" for r in readings), variant
        kinds[variant] = sorted(r.kind for r in readings)
    assert kinds["busy"] == kinds["standard"]


def test_busy_variant_moves_texture_outside_the_code_and_keeps_the_cells() -> None:
    """The busy frame differs from the standard one around the code, changes from frame to frame,
    and leaves the flash strip alone."""
    standard, busy = Scene(640, 360, 60.0), Scene(640, 360, 60.0, variant="busy")
    a, b = standard.frame(100), busy.frame(100)
    assert (a != b).mean() > 0.3
    assert np.array_equal(a[: busy.flash_band()[1]], b[: busy.flash_band()[1]])
    assert (busy.frame(101)[320:] != b[320:]).mean() > 0.3  # the lower band moves every frame


def test_switching_variant_redraws_and_names_its_bitrate_factor() -> None:
    scene = Scene(320, 180, 60.0)
    plain = scene.frame(7).copy()
    assert scene.bitrate_factor == 1.0
    scene.variant = "busy"
    assert not np.array_equal(scene.frame(7), plain)
    assert scene.bitrate_factor == BITRATE_FACTOR["busy"] > 1.0
    scene.variant = "standard"
    assert np.array_equal(scene.frame(7), plain)
    with pytest.raises(ValueError, match="unknown scene variant 'noisy'"):
        scene.variant = "noisy"  # type: ignore[assignment]
