"""Tests for clip analysis: synthetic clips with known timing must yield exactly their defects."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import av
import numpy as np
import pytest

from harness.analysis.clip import analyze_clip, reference_time
from harness.emulator.clip_writer import write_clip
from harness.scene.compose import Scene
from harness.scene.video import yuv420_frame

W, H, R, FPS = 640, 360, 60.0, 30.0
PERIOD = 1 / FPS
T0 = 600.5 / R  # exposure midpoint in the middle of display frame 600: every frame reads clean
CLIP_START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def scene():
    return Scene(W, H, R)


def t_of(k, t0=T0):
    """True exposure midpoint of sensor frame k."""
    return t0 + k * PERIOD


def shot(scene, t):
    """What a 1/60 s exposure centred on t records."""
    return scene.expose(t - 0.5 / R, t + 0.5 / R)


def write(path, pts_times, images):
    assert write_clip(path, zip(pts_times, images), FPS, 1500, CLIP_START) == len(pts_times)
    return path


def clip(tmp_path, scene, sensor_frames, pts_frames=None, t0=T0, name="clip.mp4"):
    """A clip whose i-th frame shows sensor frame sensor_frames[i] at pts of pts_frames[i] (default: same)."""
    pts_frames = sensor_frames if pts_frames is None else pts_frames
    images = [shot(scene, t_of(k, t0)) for k in sensor_frames]
    return write(tmp_path / name, [t_of(k, t0) for k in pts_frames], images)


def assert_clean_record(a):
    assert a.error is None
    assert a.backwards_jumps == 0
    assert a.frame_period_s == pytest.approx(PERIOD, abs=1e-4)
    assert a.fps == pytest.approx(FPS, abs=0.01)


def test_reference_time_of_clean_and_blended_readings():
    """Clean n maps to the middle of its refresh, blended n to the n -> n+1 switch."""
    assert reference_time("clean", 600, R) == pytest.approx(600.5 / R)
    assert reference_time("blended", 600, R) == pytest.approx(601 / R)


@pytest.mark.parametrize(
    "phase, blended, tol",
    [(0.5, 0, 1e-6), (0.0, 90, 1e-6), (0.2, 0, 1 / R), (0.8, 0, 1 / R)],
    ids=["clean-centre", "blend-50-50", "blend-30-70", "blend-70-30"],
)
def test_continuous_clip(tmp_path, scene, phase, blended, tol):
    """A continuous 3 s clip: no gaps or duplicates, first/last reference time and pre-roll from truth."""
    t0 = (600 + phase) / R
    path = clip(tmp_path, scene, range(90), t0=t0)
    press_at = 12.0
    a = analyze_clip(path, refresh_hz=R, press_at=press_at)
    assert_clean_record(a)
    assert (a.frames, a.decoded, a.blended, a.undecodable) == (90, 90, blended, 0)
    assert a.gaps == [] and a.duplicates == []
    assert a.first_ref_s == pytest.approx(t0, abs=tol)
    assert a.last_ref_s == pytest.approx(t_of(89, t0), abs=tol)
    assert a.duration_s == pytest.approx(90 * PERIOD, abs=1e-4)
    assert a.preroll_s == pytest.approx(press_at - a.first_ref_s, abs=1e-9)
    assert a.preroll_s == pytest.approx(press_at - t0, abs=tol)
    assert (a.width, a.height, a.codec) == (W, H, "h264")
    assert a.sha256 is not None and len(a.sha256) == 64


def test_no_preroll_without_press_time(tmp_path, scene):
    """preroll_s stays null when no press time is given."""
    a = analyze_clip(clip(tmp_path, scene, range(10)), refresh_hz=R)
    assert a.error is None and a.preroll_s is None


def test_removed_frames_make_one_gap(tmp_path, scene):
    """Seven frames cut out (pts gap and time-code gap) give one gap of 7 after the last frame kept."""
    kept = [k for k in range(90) if not 40 <= k <= 46]
    a = analyze_clip(clip(tmp_path, scene, kept), refresh_hz=R)
    assert_clean_record(a)
    assert (a.frames, a.decoded) == (83, 83)
    assert len(a.gaps) == 1
    gap = a.gaps[0]
    assert gap.missing_frames == 7
    assert gap.after_ref_s == pytest.approx(t_of(39), abs=1e-6)
    assert gap.missing_s == pytest.approx(7 * PERIOD, abs=1e-4)
    assert a.missing_frames == 7
    assert a.duplicates == []


def test_skipped_sensor_frames_with_regular_pts_are_a_gap(tmp_path, scene):
    """Pts at a constant rate but images skipping 5 sensor frames: the time code still shows a gap of 5."""
    shown = [k for k in range(90) if not 40 <= k <= 44]
    a = analyze_clip(clip(tmp_path, scene, shown, pts_frames=range(len(shown))), refresh_hz=R)
    assert_clean_record(a)
    assert a.frames == 85
    assert a.duration_s == pytest.approx(85 * PERIOD, abs=1e-4)  # the pts alone look perfect
    assert [(g.missing_frames, round(g.after_ref_s, 6)) for g in a.gaps] == [(5, round(t_of(39), 6))]
    assert a.duplicates == []


def test_repeated_frame_counts_extra_copies(tmp_path, scene):
    """One image shown 1 + 3 times with increasing pts: one duplicate entry, count 3 (the extra copies)."""
    shown = list(range(41)) + [40, 40, 40] + list(range(41, 90))
    a = analyze_clip(clip(tmp_path, scene, shown, pts_frames=range(len(shown))), refresh_hz=R)
    assert_clean_record(a)
    assert a.frames == 93
    assert [(round(d.ref_s, 6), d.count) for d in a.duplicates] == [(round(t_of(40), 6), 3)]
    assert a.duplicated_frames == 3
    assert a.gaps == []


def test_frozen_frames_are_duplicates_and_a_gap(tmp_path, scene):
    """A frozen sensor (image 40 repeated in place of 41-43, regular pts): 3 duplicates then a gap of 3."""
    shown = list(range(41)) + [40, 40, 40] + list(range(44, 90))
    a = analyze_clip(clip(tmp_path, scene, shown, pts_frames=range(len(shown))), refresh_hz=R)
    assert_clean_record(a)
    assert [(round(d.ref_s, 6), d.count) for d in a.duplicates] == [(round(t_of(40), 6), 3)]
    assert [(round(g.after_ref_s, 6), g.missing_frames) for g in a.gaps] == [(round(t_of(40), 6), 3)]


def test_two_separate_repeats_are_two_duplicate_entries(tmp_path, scene):
    """Repeats of two different frames are reported separately, each with its own count."""
    shown = list(range(21)) + [20] + list(range(21, 61)) + [60, 60] + list(range(61, 90))
    a = analyze_clip(clip(tmp_path, scene, shown, pts_frames=range(len(shown))), refresh_hz=R)
    assert [(round(d.ref_s, 6), d.count) for d in a.duplicates] == [
        (round(t_of(20), 6), 1),
        (round(t_of(60), 6), 2),
    ]
    assert a.gaps == []


def test_time_code_going_backwards_is_counted(tmp_path, scene):
    """Images jumping back 15 frames (regular pts) count as one backwards jump, not a gap or duplicate."""
    shown = list(range(45)) + list(range(30, 60))
    a = analyze_clip(clip(tmp_path, scene, shown, pts_frames=range(len(shown))), refresh_hz=R)
    assert a.error is None
    assert a.backwards_jumps == 1
    assert a.gaps == [] and a.duplicates == []


def test_undecodable_frames_are_neither_gaps_nor_shift_first_ref(tmp_path, scene):
    """Grey frames at the start and in the middle are undecodable; timing is extrapolated over them by pts."""
    grey = np.full((H, W), 128, np.uint8)
    images = [grey if k < 3 or 50 <= k < 53 else shot(scene, t_of(k)) for k in range(90)]
    a = analyze_clip(write(tmp_path / "c.mp4", [t_of(k) for k in range(90)], images), refresh_hz=R)
    assert_clean_record(a)
    assert (a.frames, a.decoded, a.undecodable) == (90, 84, 6)
    assert a.gaps == [] and a.duplicates == []
    assert a.first_ref_s == pytest.approx(T0, abs=1e-4)


def test_clip_without_time_code_reports_error(tmp_path):
    """A plain grey clip decodes nothing and the error names the missing time code."""
    grey = np.full((H, W), 128, np.uint8)
    a = analyze_clip(write(tmp_path / "grey.mp4", [t_of(k) for k in range(10)], [grey] * 10), refresh_hz=R)
    assert (a.frames, a.decoded, a.undecodable) == (10, 0, 10)
    assert a.error is not None and "time code" in a.error
    assert a.first_ref_s is None and a.gaps == []


@pytest.fixture
def good_clip(tmp_path, scene):
    return clip(tmp_path, scene, range(60), name="good.mp4")


@pytest.mark.parametrize("kind", ["zero-byte", "text", "truncated-half", "missing", "directory"])
def test_bad_files_set_error_and_never_raise(tmp_path, good_clip, kind):
    """Unreadable inputs come back with error set and no frame counts, instead of an exception."""
    target = tmp_path / f"{kind}.mp4"
    if kind == "zero-byte":
        target.write_bytes(b"")
    elif kind == "text":
        target.write_text("this is a text file, not a video\n" * 20)
    elif kind == "truncated-half":
        data = good_clip.read_bytes()
        target.write_bytes(data[: len(data) // 2])
    elif kind == "directory":
        target.mkdir()
    a = analyze_clip(target, refresh_hz=R)
    assert a.error
    assert a.frames is None and a.decoded is None
    assert a.path == str(target)


def test_audio_only_file_reports_no_video(tmp_path):
    """A valid MP4 without a video stream is an error, not an exception."""
    path = tmp_path / "audio.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    a = analyze_clip(path, refresh_hz=R)
    assert a.error and "no video stream" in a.error


def test_truncated_faststart_clip_is_an_error(tmp_path, scene):
    """A faststart MP4 (moov first) cut in half must not pass as a shorter, healthy clip."""
    path = tmp_path / "faststart.mp4"
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=Fraction(30))
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for k in range(60):
            frame = yuv420_frame(shot(scene, t_of(k)))
            frame.pts = k
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    a = analyze_clip(cut, refresh_hz=R)
    assert a.error is not None, f"truncated clip analysed as healthy: {a.frames} of 60 frames, no error"


# --------------------------------------------------------------------------- runs, uncertainty, capture


def test_clip_from_another_run_is_a_clear_error(tmp_path):
    """The coarse slots carry the run id: analysed for run 3, a clip of run 7 says so instead of passing."""
    other = Scene(W, H, R, run_id=7, utc_origin=1_767_225_600.0)
    path = clip(tmp_path, other, range(60))
    a = analyze_clip(path, refresh_hz=R)
    assert a.error is None and a.run_id == 7
    assert a.first_utc_s == pytest.approx(1_767_225_600.0 + a.first_ref_s, abs=a.first_utc_uncertainty_s + 1e-6)
    b = analyze_clip(path, refresh_hz=R, run_id=3)
    assert b.error == "time code from another run: run id 7, expected 3"
    assert b.error in b.findings


def test_footage_of_two_runs_in_one_clip_is_an_error(tmp_path):
    first, second = Scene(W, H, R, run_id=7), Scene(W, H, R, run_id=8)
    images = [shot(first if k < 45 else second, t_of(k)) for k in range(90)]
    a = analyze_clip(write(tmp_path / "mixed.mp4", [t_of(k) for k in range(90)], images), refresh_hz=R)
    assert a.error is not None and "run id changes" in a.error


def test_backwards_counter_is_a_finding_not_an_exception(tmp_path, scene):
    shown = list(range(45)) + list(range(30, 60))
    a = analyze_clip(clip(tmp_path, scene, shown, pts_frames=range(len(shown))), refresh_hz=R)
    assert a.backwards_jumps == 1
    assert any("jumps backwards 1 time" in f for f in a.findings)


def test_first_frame_time_carries_its_uncertainty(tmp_path, scene):
    """Clean frames at one phase pin the first frame to its display frame: +/- half a refresh."""
    a = analyze_clip(clip(tmp_path, scene, range(60), t0=(600 + 0.3) / R), refresh_hz=R)
    assert a.first_ref_uncertainty_s == pytest.approx(0.5 / R + 0.05 / R, abs=1e-6)
    assert abs(a.first_ref_s - (600 + 0.3) / R) <= a.first_ref_uncertainty_s
    assert a.drift_ppm is not None and abs(a.drift_ppm) <= a.drift_ppm_uncertainty


def test_filmed_clip_is_read_through_capture_realism(tmp_path):
    """The moderate capture at 29.97 fps through H.264: every frame read, no gaps, t0 within its bracket."""
    from harness.emulator.capture import MODERATE, CaptureModel

    fps = 30000 / 1001
    model = CaptureModel(Scene(W, H, R, run_id=11), (W, H), fps, MODERATE, seed=3)
    t0 = 321.0123
    times = [t0 + k / fps for k in range(240)]
    path = tmp_path / "filmed.mp4"
    assert write_clip(path, ((t - t0, model.capture(t)) for t in times), fps, 1500, CLIP_START) == 240
    a = analyze_clip(path, refresh_hz=R)
    assert a.error is None and a.run_id == 11
    assert a.decoded == 240 and a.gaps == [] and a.duplicates == [] and a.inconsistent_frames == 0
    assert abs(a.first_ref_s - t0) <= a.first_ref_uncertainty_s + 1e-3  # +1 ms: the code rows' readout offset
    assert a.first_ref_uncertainty_s < 0.5 / fps
