"""Tests for capture realism: each degradation really happens, and the decoder survives it.

Every test films the real scene with :class:`CaptureModel` at a fixed seed and reads the frames
with the real decoder; a reading is wrong when it names a display frame the code band did not
see (the model's ground truth). Frames are 640x360 and runs short, so the file stays fast; the
2,000-frame figures per degradation are printed by benchmarks/bench_timecode.py.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from harness.core.paths import CAMERAS_DIR
from harness.emulator.capture import DEGRADATIONS, IDEAL, MODERATE, SEVERE, CaptureModel, capture_model, only
from harness.plan.profile import CameraProfile, Capture
from harness.scene.compose import Scene
from harness.scene.timecode import COUNTER_MODULUS, DEFAULT_LAYOUT, TimecodeDecoder
from harness.scene.video import luma, yuv420_frame

W, H, R = 640, 360, 60.0


def film(level, seed: int, frames: int = 60, fps: float = 30.0, t0: float = 200.0, size=(W, H)):
    """(model, [(image, seen display frames)]) for ``frames`` camera frames from ``t0``."""
    model = CaptureModel(Scene(size[0], size[1], R, run_id=5, utc_origin=1.7e9), size, fps, level, seed=seed)
    return model, [model.capture_with_truth(t0 + k / fps) for k in range(frames)]


def score(shots, size=(W, H)) -> dict[str, int]:
    decoder = TimecodeDecoder(*size)
    counts = {"clean": 0, "blended": 0, "undecodable": 0, "wrong": 0}
    for image, seen in shots:
        reading = decoder.decode(image)
        if reading.kind == "undecodable":
            counts["undecodable"] += 1
            continue
        lo, hi = reading.bracket
        ok = {lo % COUNTER_MODULUS, hi % COUNTER_MODULUS} <= {n % COUNTER_MODULUS for n in seen}
        counts[reading.kind if ok else "wrong"] += 1
    return counts


@pytest.mark.parametrize("degradation", sorted(DEGRADATIONS))
def test_each_degradation_alone_decodes_with_no_wrong_value(degradation):
    """The severe range of one degradation, three cameras (30, 29.97, 25 fps): nothing wrong, most read."""
    total = {"clean": 0, "blended": 0, "undecodable": 0, "wrong": 0}
    for seed, fps in ((1, 30.0), (2, 30000 / 1001), (3, 25.0)):
        size = (1280, 720) if degradation == "perspective" else (W, H)  # 20 % of 640 px is below a cell
        _, shots = film(only(degradation, SEVERE), seed, 40, fps, size=size)
        for key, value in score(shots, size).items():
            total[key] += value
    assert total["wrong"] == 0, total
    assert total["clean"] + total["blended"] >= 0.95 * sum(total.values()), total


def test_ideal_capture_is_the_display_frame_in_a_room():
    """With no degradation the code reads clean every frame and the display sits where placed."""
    model, shots = film(IDEAL, 4, 20, t0=200.004)  # mid-refresh: no switch inside the short exposure
    assert score(shots) == {"clean": 20, "blended": 0, "undecodable": 0, "wrong": 0}
    assert all(len(seen) == 1 for _, seen in shots)
    x0, _y0, _x1, _y1 = model._roi
    image = shots[0][0]
    assert image[:, : max(1, x0 - 2)].mean() < 80  # a dim room left of the display


def test_perspective_places_the_code_off_axis_at_the_drawn_width():
    model, _shots = film(only("perspective", SEVERE), 7, 3, size=(1280, 720))
    p = model.params
    corners = DEFAULT_LAYOUT.anchor_corners().reshape(-1, 2) * [1280, 720] - 0.5
    pts = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), model.homography).reshape(-1, 2)
    assert (pts[:, 0].max() - pts[:, 0].min()) / 1280 == pytest.approx(p.code_width, rel=1e-6)
    assert abs(p.yaw_deg) <= 30 and abs(p.roll_deg) <= 5
    left, right = pts[[0, 3]], pts[[20, 23]]  # left edge of the top-left anchor, right edge of the bottom-right
    assert abs(np.ptp(left[:, 1]) - np.ptp(right[:, 1])) > 0 or p.yaw_deg == 0  # foreshortened


def test_blur_noise_gain_and_gamma_change_the_pixels():
    ideal = film(IDEAL, 8, 1)[1][0][0].astype(np.float64)
    blurred = film(only("lens blur", SEVERE), 8, 1)[1][0][0].astype(np.float64)
    noisy_model, noisy = film(only("sensor noise", SEVERE), 8, 1)
    dim_model, dim = film(only("exposure gain + AE drift", SEVERE), 8, 1)
    sharpness = lambda img: np.abs(np.diff(img, axis=1)).max()  # noqa: E731
    assert sharpness(blurred) < sharpness(ideal)
    flat = noisy[0][0][5:25, 5:25].astype(np.float64)  # room corner: smooth, so its spread is noise
    assert flat.std() == pytest.approx(noisy_model.params.noise, rel=0.35)
    assert dim[0][0].astype(np.float64).max() < 255 * dim_model.gain_at(200.0) ** (1 / 2.2) + 10
    gains = [dim_model.gain_at(200.0 + s) for s in np.linspace(0, 20, 9)]
    assert np.ptp(gains) > 0.05  # auto-exposure wanders over seconds


def test_exposure_over_refreshes_gives_blends_read_as_brackets():
    """Exposures of 0.5-2 refreshes at the camera's phase see 1-3 display frames; blends read as brackets."""
    _model, shots = film(only("exposure blends", SEVERE), 2, 60, fps=30000 / 1001)
    seen_counts = {len(seen) for _, seen in shots}
    assert max(seen_counts) >= 2
    counts = score(shots)
    assert counts["wrong"] == 0 and counts["blended"] > 0, counts


def test_rolling_shutter_tears_between_two_display_frames():
    """A 1 ms exposure with a 30 ms readout: some frames' code band spans two display frames."""
    level = only("rolling shutter", SEVERE)
    model, shots = film(level, 5, 90, fps=30000 / 1001)
    assert model.params.exposure_s < 1 / R / 10
    torn = [seen for _, seen in shots if len(seen) == 2]
    assert torn, "no frame caught a refresh during the code band's readout"
    assert score(shots)["wrong"] == 0


def test_h264_at_one_megabit_decodes_with_no_wrong_value():
    """Moderate capture, then H.264 at 1 Mbit/s (720p-equivalent pressure at 640x360: 0.45 Mbit/s)."""
    _model, shots = film(MODERATE, 9, 60, fps=25.0)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.bit_rate = 450_000
        stream.options = {"preset": "ultrafast"}
        for k, (image, _) in enumerate(shots):
            frame = yuv420_frame(image)
            frame.pts, frame.time_base = k, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf) as inp:
        decoded = [np.array(luma(f)) for f in inp.decode(video=0)]
    counts = score(list(zip(decoded, [seen for _, seen in shots])))
    assert counts["wrong"] == 0 and counts["clean"] + counts["blended"] >= 57, counts


def test_combined_severe_level_is_never_wrong():
    total = {"clean": 0, "blended": 0, "undecodable": 0, "wrong": 0}
    for seed in (21, 22, 23):
        _, shots = film(SEVERE, seed, 30, fps=(30.0, 25.0, 30000 / 1001)[seed % 3], size=(1280, 720))
        for key, value in score(shots, (1280, 720)).items():
            total[key] += value
    assert total["wrong"] == 0, total


def test_same_seed_same_frames_other_seed_other_camera():
    a = film(MODERATE, 3, 2)[1]
    b = film(MODERATE, 3, 2)[1]
    c = film(MODERATE, 4, 2)[1]
    assert np.array_equal(a[1][0], b[1][0])
    assert not np.array_equal(a[1][0], c[1][0])


def test_profile_chooses_the_capture_level():
    base = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    assert base.emulation.capture.level == "moderate"  # CI's default
    scene = Scene(base.video.width, base.video.height, R)
    model = capture_model(base, scene, seed=1)
    assert isinstance(model, CaptureModel) and model.level is MODERATE
    off = base.model_copy(
        update={
            "emulation": base.emulation.model_copy(
                update={"capture": base.emulation.capture.model_copy(update={"level": "off"})}
            )
        }
    )
    assert capture_model(off, scene) is None
    assert Capture.model_validate({"level": False}).level == "off"  # YAML's unquoted off
