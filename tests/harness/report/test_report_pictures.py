"""Key frames, timeline plot and audio envelope: the right frames, read back exactly, never a crash."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import cv2
import numpy as np
import pytest

from harness.analysis.bad_clips import frame_span
from harness.analysis.clip import analyze_clip, reference_time
from harness.core.timeline import Action, Timeline
from harness.report.artifacts import audio_series, blended_flags, build_artifacts
from harness.report.keyframes import KeyFrame, read_frames, select_key_frames
from harness.report.plots import ClipTimeline, audio_envelope_png, timeline_png
from harness.scene.compose import Scene
from harness.scene.video import yuv420_frame

FPS = 30
START_S = 10.0
DROPPED = range(90, 95)  # five frames lost: both their pictures and their pts are missing


@pytest.fixture(scope="module")
def gap_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six seconds of the scene at 30 fps with a keyframe every 15 frames and a 5-frame hole."""
    path = tmp_path_factory.mktemp("clip") / "gap.mp4"
    scene = Scene(640, 360, 60.0)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.codec_context.gop_size = 15
        stream.options = {"preset": "ultrafast", "qp": "0", "keyint": "15"}
        stream.codec_context.time_base = Fraction(1, FPS)
        for k in range(180):
            if k in DROPPED:
                continue
            frame = yuv420_frame(scene.frame(scene.index_at(START_S + (k + 0.25) / FPS)))
            frame.pts = k
            frame.time_base = Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _all_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def test_key_frames_around_a_hole_at_the_join(gap_clip: Path) -> None:
    """A press at the hole: the join frames are the ones either side of the missing frames."""
    an = analyze_clip(gap_clip, 60.0)
    assert an.error is None and [g.missing_frames for g in an.gaps] == [5]
    gaps = [(g.after_ref_s, g.missing_frames) for g in an.gaps]
    press = an.gaps[0].after_ref_s + 0.05
    frames = select_key_frames(an.pts_s, an.ref_s, [("event 1", press)], gaps)
    by_index = {f.index: f.label for f in frames}
    assert by_index[0] == "first frame"
    assert by_index[len(an.pts_s) - 1] == "last frame"
    assert "last frame before the join (event 1)" in by_index[89]
    assert "first frame after the join (event 1)" in by_index[90]
    assert an.ref_s[90] - an.ref_s[89] == pytest.approx(6 / FPS)  # the hole is between them
    assert any("frame at the press (event 1)" in label for label in by_index.values())


def test_key_frames_of_a_clean_join_and_of_a_clip_without_the_press(gap_clip: Path) -> None:
    an = analyze_clip(gap_clip, 60.0)
    press = (an.ref_s[30] + an.ref_s[31]) / 2
    labels = {f.index: f.label for f in select_key_frames(an.pts_s, an.ref_s, [("event 1", press)])}
    assert "last frame before the join (event 1)" in labels[30] and "first frame after the join (event 1)" in labels[31]
    outside = select_key_frames(an.pts_s, an.ref_s, [("event 1", an.ref_s[-1] + 60)])
    assert [f.label for f in outside] == ["first frame", "last frame"]


def test_read_frames_returns_exactly_the_chosen_frames(gap_clip: Path) -> None:
    """Seeking across keyframes reads the same pixels a full decode gives, for every key frame."""
    an = analyze_clip(gap_clip, 60.0)
    chosen = select_key_frames(
        an.pts_s, an.ref_s, [("event 1", an.gaps[0].after_ref_s)], [(g.after_ref_s, g.missing_frames) for g in an.gaps]
    )
    decoded = _all_frames(gap_clip)
    pictures = read_frames(gap_clip, chosen)
    assert [kf.index for kf, _ in pictures] == [kf.index for kf in chosen]
    for kf, png in pictures:
        image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        assert np.array_equal(image, decoded[kf.index]), kf
    (_, small), *_ = read_frames(gap_clip, chosen[:1], max_width=320)
    assert cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (180, 320)


def test_a_frame_that_does_not_decode_costs_only_its_own_picture(gap_clip: Path, tmp_path: Path) -> None:
    """One frame's coded data destroyed: the key frames before and after it are still read exactly."""
    pos, size, _ = frame_span(gap_clip, 40)
    data = gap_clip.read_bytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(data[: pos + 4] + b"\xff" * (size - 4) + data[pos + size :])
    decoded = _all_frames(gap_clip)
    an = analyze_clip(gap_clip, 60.0)
    chosen = [KeyFrame(f"frame {i}", i, an.pts_s[i], an.ref_s[i]) for i in (5, 30, 50, 120)]
    pictures = read_frames(damaged, chosen)
    assert [kf.index for kf, _ in pictures] == [5, 30, 50, 120]
    for kf, png in pictures:
        assert np.array_equal(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), decoded[kf.index]), kf


def test_blended_flags_follow_the_reference_time_rule() -> None:
    clean, blended = reference_time("clean", 100, 60.0), reference_time("blended", 100, 60.0)
    analysis = SimpleNamespace(ref_s=[clean, blended, None])
    assert blended_flags(analysis, 60.0) == [False, True, False]
    assert blended_flags(SimpleNamespace(ref_s=[clean], kinds=["blended"]), 60.0) == [True]


def test_audio_series_is_read_only_when_the_analysis_carries_audio() -> None:
    assert list(audio_series(SimpleNamespace())) == []
    assert list(audio_series(SimpleNamespace(audio=SimpleNamespace(error="no audio stream")))) == []
    audio = SimpleNamespace(
        block_peak=np.full(300, 0.01),
        error=None,
        start_pts_s=0.0,
        block_times=lambda: np.arange(300) * 0.01,
        chirps=[SimpleNamespace(audio_pts_s=1.01, video_pts_s=1.0), SimpleNamespace(audio_pts_s=None, video_pts_s=2.0)],
    )
    (series,) = audio_series(SimpleNamespace(audio=audio))
    assert series["onsets_s"] == [1.01] and series["video_marks_s"] == [1.0, 2.0]
    assert series["step_s"] == pytest.approx(0.01)
    png = audio_envelope_png(**series)
    assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (300, 900)


def test_timeline_plot_is_a_png_of_the_expected_size() -> None:
    pts = [k / 30 for k in range(300)]
    ref = [10 + k / 30 if k != 5 else None for k in range(300)]
    png = timeline_png(
        ClipTimeline(
            "clip", pts, ref, 1 / 30, gaps=[(12.0, 3)], duplicates=[(13.0, 1)], presses=[("press (event 1)", 14.0)]
        )
    )
    assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (520, 900)


def test_build_artifacts_writes_pictures_with_their_hashes_and_notes_bad_clips(gap_clip: Path, tmp_path: Path) -> None:
    an = analyze_clip(gap_clip, 60.0)
    timeline = Timeline()
    timeline.add(Action(an.gaps[0].after_ref_s, "gesture", "start"))
    broken = SimpleNamespace(path=str(tmp_path / "gone.mp4"), error="truncated", pts_s=[], ref_s=[])
    result = SimpleNamespace(timeline=timeline, analyses=[an, broken])
    artifacts, notes = build_artifacts(result, tmp_path / "pictures", 60.0)
    kinds = [a.kind for a in artifacts]
    assert kinds.count("timeline") == 1 and kinds.count("keyframe") == 4 and "audio" not in kinds
    for a in artifacts:
        assert hashlib.sha256(a.path.read_bytes()).hexdigest() == a.sha256
        assert a.record(tmp_path)["path"].startswith("pictures/")
    assert notes == ["gone.mp4: no pictures (truncated)"]
