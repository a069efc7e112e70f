"""Bad clips: a corpus made here from good clips; each gets its verdict with the reason and what
was measured, never an exception or a hang. A seeded mutation fuzz run shows the same for damage
nobody thought of."""

from __future__ import annotations

import time
from pathlib import Path

import av
import pytest

from harness.analysis import bounded
from harness.analysis.bad_clips import CORPUS_TIMES, DAMAGED_FRAME, box, corpus, fuzz, write_scene_clip
from harness.analysis.bounded import analyse_clip_bounded, clip_verdict
from harness.analysis.clip import ClipAnalysis

PER_CLIP_S = 60.0  # the bound each corpus clip is analysed within
FUZZ_ITERATIONS = 400  # per layout, a few seconds here; benchmarks/bench_bad_clips.py runs thousands
FUZZ_SEED = 20261128
INVALID = "InvalidDataError: Invalid data found when processing input"
SIZES = "a camera clip is 64x64 to 8192x8192"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-clips")


@pytest.fixture(scope="module")
def cases(folder: Path) -> dict[str, Path]:
    return corpus(folder)


@pytest.fixture(scope="module")
def analyses(cases: dict[str, Path]) -> dict[str, ClipAnalysis]:
    """Every case through the bounded analysis, each timed against the bound."""
    out = {}
    bounded.prepare()
    for name, path in cases.items():
        start = time.monotonic()
        out[name] = analyse_clip_bounded(path, timeout_s=PER_CLIP_S)  # must not raise
        assert time.monotonic() - start < PER_CLIP_S + 30, name
    yield out
    bounded.shutdown()


def torn(path: Path, kind: str) -> str:
    """'(M of its N bytes missing)' for the box of ``kind`` that runs past the end of ``path``."""
    data = path.read_bytes()
    offset, size = box(data, kind)
    return f"({offset + size - len(data)} of its {size} bytes missing)"


def packets(path: Path) -> list[tuple[int, int, float]]:
    """(byte offset, size, pts in s) of each video packet, as the container lists them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(p.pos, p.size, float(p.pts * stream.time_base)) for p in container.demux(stream) if p.size]


def test_every_case_has_a_verdict_of_one_of_three_kinds(analyses: dict[str, ClipAnalysis]) -> None:
    verdicts = {name: clip_verdict(a) for name, a in analyses.items()}
    print(f"{len(verdicts)} bad-clip cases:", *(f"{n}: {v}" for n, v in verdicts.items()), sep="\n  ")
    assert len(verdicts) == 20
    for name, verdict in verdicts.items():
        assert verdict.split(":")[0] in ("analysed", "partial", "unreadable"), (name, verdict)
        assert "analysis raised" not in verdict and "did not finish" not in verdict, (name, verdict)


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("zero-byte", "unreadable: empty file (0 bytes)"),
        ("wrong-container-text", f"unreadable: {INVALID}"),
        (
            "wrong-container-png",
            "unreadable: ValueError: not a video file: FFmpeg reads it as a still image (png_pipe)",
        ),
        ("missing-moov", f"unreadable: no moov box: the index was never written: {INVALID}"),
        ("audio-only", "unreadable: ValueError: no video stream (the file holds: audio)"),
        ("no-video-stream", "unreadable: ValueError: no video stream (the file holds: audio)"),
        ("unknown-codec-tag", "unreadable: ValueError: video stream 0 names no codec FFmpeg can decode"),
    ],
)
def test_unreadable_cases_name_the_reason(analyses: dict[str, ClipAnalysis], name: str, verdict: str) -> None:
    assert clip_verdict(analyses[name]) == verdict
    assert analyses[name].frames is None or analyses[name].frames == 0


def test_unknown_codec_is_a_verdict_not_an_attribute_error(cases: dict[str, Path]) -> None:
    """The fuzz case that once raised AttributeError (a stream without codec context), in process."""
    from harness.analysis.findings import analyse_clip_fully

    a = analyse_clip_fully(cases["unknown-codec-tag"])
    assert a.error == "ValueError: video stream 0 names no codec FFmpeg can decode"
    assert a.sha256 is not None and a.frames is None


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.9])
def test_plain_clip_cut_before_its_index_is_unreadable_and_says_how_much_is_missing(
    analyses: dict[str, ClipAnalysis], cases: dict[str, Path], fraction: float
) -> None:
    path = cases[f"truncated-plain-{fraction}"]
    assert clip_verdict(analyses[f"truncated-plain-{fraction}"]) == (
        f"unreadable: truncated: the file ends inside its mdat box {torn(path, 'mdat')}, "
        f"before any moov box (the index): {INVALID}"
    )


def test_clip_cut_at_99_9_percent_inside_its_index_is_partial_with_every_frame_kept(
    analyses: dict[str, ClipAnalysis], cases: dict[str, Path]
) -> None:
    """All 60 frames decode, but the file is short of its last box: that is a finding, not a pass."""
    a = analyses["truncated-plain-0.999"]
    assert clip_verdict(a) == (
        f"partial: 60 frames analysed; truncated: the file ends inside its moov box "
        f"{torn(cases['truncated-plain-0.999'], 'moov')}"
    )
    assert a.frames == a.decoded == 60 and a.gaps == []
    assert a.first_ref_s == pytest.approx(CORPUS_TIMES[0], abs=1e-3)
    assert a.last_ref_s == pytest.approx(CORPUS_TIMES[-1], abs=1e-3)


@pytest.mark.parametrize("fraction", [0.5, 0.999])
def test_faststart_clip_cut_short_keeps_every_whole_frame(
    analyses: dict[str, ClipAnalysis], cases: dict[str, Path], folder: Path, fraction: float
) -> None:
    """Index first, media data cut: the whole frames are analysed, the cut frame and the frames the
    index announces beyond the end are named, with the pts where the loss starts."""
    path = cases[f"truncated-faststart-{fraction}"]
    length = path.stat().st_size
    source = packets(folder / "sources" / "faststart.mp4")
    whole = [p for p in source if p[0] + p[1] <= length]
    cut = source[len(whole)]  # the frame the end of the file runs through
    held = sum(1 for p in source if p[0] < length)
    a = analyses[f"truncated-faststart-{fraction}"]
    beyond = f"; {60 - held} of the 60 frames the index announces are not in the file" if held < 60 else ""
    assert clip_verdict(a) == (
        f"partial: {len(whole)} frames analysed; decode error at pts {cut[2]:.3f} s: 1 of {held} frames could not "
        f"be decoded; truncated: the file ends inside its mdat box {torn(path, 'mdat')}{beyond}"
    )
    assert a.frames == a.decoded == len(whole)
    assert a.first_ref_s == pytest.approx(CORPUS_TIMES[0], abs=1e-3)
    assert a.last_ref_s == pytest.approx(CORPUS_TIMES[len(whole) - 1], abs=1e-3)


def test_decode_error_mid_clip_keeps_the_frames_before_and_after(
    analyses: dict[str, ClipAnalysis], folder: Path
) -> None:
    """One frame's data destroyed: 59 frames analysed, the lost one named by pts and seen as a gap."""
    pts = packets(folder / "sources" / "intra.mp4")[DAMAGED_FRAME][2]
    a = analyses["decode-error-mid-clip"]
    assert clip_verdict(a) == (
        f"partial: 59 frames analysed; decode error at pts {pts:.3f} s: 1 of 60 frames could not be decoded ({INVALID})"
    )
    assert (a.frames, a.decoded) == (59, 59)
    assert a.first_ref_s == pytest.approx(CORPUS_TIMES[0], abs=1e-3)
    assert a.last_ref_s == pytest.approx(CORPUS_TIMES[-1], abs=1e-3)
    assert [(g.missing_frames, round(g.after_ref_s, 3)) for g in a.gaps] == [
        (1, round(CORPUS_TIMES[DAMAGED_FRAME - 1], 3))
    ]


def test_bit_flips_in_the_media_data_keep_what_decodes(analyses: dict[str, ClipAnalysis]) -> None:
    a = analyses["bit-flipped-mdat"]
    lost = [f for f in a.findings if f.startswith("decode error at pts ")]
    assert len(lost) == 1 and f"of 60 frames could not be decoded ({INVALID})" in lost[0]
    count = int(lost[0].split(": ")[1].split(" of ")[0])
    assert a.frames == 60 - count > 0
    assert clip_verdict(a).startswith(f"partial: {a.frames} frames analysed; {lost[0]}")


def test_bit_flips_in_the_index_give_a_verdict(analyses: dict[str, ClipAnalysis]) -> None:
    assert clip_verdict(analyses["bit-flipped-moov"]).startswith(("unreadable: ", "partial: "))


@pytest.mark.parametrize("size", ["16x16", "10000x10000"])
def test_absurd_declared_resolution_is_a_finding_and_the_frames_still_analyse(
    analyses: dict[str, ClipAnalysis], size: str
) -> None:
    """FFmpeg takes the size from the stream; the index's absurd size is named, nothing is lost."""
    a = analyses[f"declared-{size}"]
    assert clip_verdict(a) == "analysed"
    assert (a.width, a.height, a.frames, a.decoded) == (320, 240, 60, 60)
    assert a.findings == [
        f"absurd resolution: the index declares {size} (track header, sample entry), the frames are 320x240 ({SIZES})"
    ]


def test_absurd_stream_resolution_is_unreadable_before_decoding(analyses: dict[str, ClipAnalysis]) -> None:
    a = analyses["frames-16x16"]
    assert clip_verdict(a) == (
        f"unreadable: absurd resolution: the stream is 16x16 pixels ({SIZES}); no frame was decoded"
    )
    assert (a.width, a.height, a.frames) == (16, 16, 0)


def test_variable_frame_rate_is_named_with_the_measured_interval_spread(analyses: dict[str, ClipAnalysis]) -> None:
    """30 frames at 30 fps then 30 at 24 fps: not a failure of the clip, but the finding says so."""
    a = analyses["variable-frame-rate"]
    assert clip_verdict(a) == "analysed"
    assert a.variable_frame_rate is True
    tick = 1 / 90000
    assert a.pts_interval_min_s == pytest.approx(1 / 30, abs=tick)
    assert a.pts_interval_max_s == pytest.approx(1 / 24, abs=tick)
    assert a.pts_interval_median_s == pytest.approx(1 / 24, abs=tick)  # 30 intervals of 1/24 s, 29 of 1/30 s
    assert (
        "variable frame rate: pts intervals 33.3 to 41.7 ms (spread 8.3 ms, median 41.7 ms); 29 of 59 intervals "
        "off a constant frame grid (gaps and repeats are judged against one)"
    ) in a.findings


def test_constant_rate_with_a_lost_frame_is_not_variable(tmp_path: Path) -> None:
    """An interval of two frame periods is a gap at a constant rate, not a variable rate."""
    times = [t for k, t in enumerate(CORPUS_TIMES[:30]) if k != 12]
    a = analyse_clip_bounded(write_scene_clip(tmp_path / "gap.mp4", times), timeout_s=PER_CLIP_S)
    assert clip_verdict(a) == "analysed" and a.variable_frame_rate is False
    assert a.pts_interval_max_s == pytest.approx(2 / 30, abs=1 / 90000)
    assert [g.missing_frames for g in a.gaps] == [1]
    assert not any(f.startswith("variable frame rate") for f in a.findings)


@pytest.mark.parametrize("faststart", [False, True], ids=["index-last", "index-first"])
def test_seeded_mutation_fuzz_never_crashes_or_hangs(tmp_path: Path, faststart: bool) -> None:
    """Bit flips, zeroed runs, deletions, duplications and truncations in the mdat, the moov or
    anywhere in a small clip; seeded, so any failure is made again from its recipe."""
    good = write_scene_clip(tmp_path / "good.mp4", CORPUS_TIMES[:30], size=(160, 120), faststart=faststart)
    assert clip_verdict(analyse_clip_bounded(good)) == "analysed"
    report = fuzz(
        good,
        tmp_path,
        FUZZ_ITERATIONS,
        FUZZ_SEED,
        lambda p: analyse_clip_bounded(p, timeout_s=PER_CLIP_S),
        clip_verdict,
    )
    print(
        f"fuzz: {report.iterations} mutated clips, {len(report.crashes)} crashes, {len(report.hangs)} hangs, "
        f"{dict(report.kinds)}, max {max(report.seconds):.2f} s per clip"
    )
    assert report.iterations == FUZZ_ITERATIONS
    assert report.crashes == [] and report.hangs == [] and report.no_verdict == []
    assert sum(report.kinds.values()) == FUZZ_ITERATIONS
    assert set(report.kinds) <= {"analysed", "partial", "unreadable"} and report.kinds["partial"] > 0
