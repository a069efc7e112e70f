"""Bad clips: a corpus made here from one good clip; each gets a verdict, never an exception or a hang."""

from __future__ import annotations

import random
import struct
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from harness.analysis import bounded
from harness.analysis.bounded import analyse_clip_bounded, clip_verdict
from harness.scene_render import render_scene

PER_CLIP_S = 60.0  # the bound each corpus clip must be analysed within
FUZZ_ITERATIONS = 40
FUZZ_SEED = 20261128


@pytest.fixture(scope="module")
def good_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "good.mp4"
    render_scene(path, 30.0, 10.0, 2.0, 320, 240, quality="high")
    yield path
    bounded.shutdown()


def _box(data: bytes, kind: bytes) -> int:
    """Offset of the first top-level MP4 box of this kind."""
    offset = 0
    while offset + 8 <= len(data):
        size, name = struct.unpack(">I4s", data[offset:offset + 8])
        if name == kind:
            return offset
        if size < 8:
            break
        offset += size
    raise AssertionError(f"no {kind!r} box")


def _write_audio_only(path: Path) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48000)
        samples = (np.sin(np.arange(48000) / 10) * 0.3).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 48000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _write_variable_rate(path: Path) -> None:
    """Frames at irregular intervals (10 to 50 ms), as a camera with a variable frame rate writes them."""
    rng = random.Random(7)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for i in range(40):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), i * 5 % 255, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            pts += rng.randint(10, 50)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def corpus(good: Path, folder: Path) -> dict[str, Path]:
    """Every kind of bad clip the issue names, made from ``good`` (no checked-in binaries)."""
    data = good.read_bytes()
    made: dict[str, bytes] = {"zero-byte": b"", "wrong-container-text": b"this is not a video\n" * 50}
    for fraction in (0.01, 0.25, 0.5, 0.9, 0.999):
        made[f"truncated-{fraction}"] = data[:max(1, int(len(data) * fraction))]
    moov = _box(data, b"moov")
    # the index is gone, the media data all there (renaming it 'free' is not enough: FFmpeg looks inside)
    made["missing-moov"] = data[:moov] + data[moov + struct.unpack(">I", data[moov:moov + 4])[0]:]
    mdat = _box(data, b"mdat")
    flipped = bytearray(data)
    rng = random.Random(1)
    for _ in range(200):
        flipped[rng.randrange(mdat + 8, len(data))] ^= 1 << rng.randrange(8)
    made["bit-flipped"] = bytes(flipped)
    absurd = bytearray(data)
    entry = data.index(b"avc1")  # sample entry: width and height 24 bytes after the type
    absurd[entry + 28:entry + 32] = struct.pack(">HH", 65535, 65535)
    tkhd = data.index(b"tkhd")
    absurd[tkhd + 80:tkhd + 88] = struct.pack(">II", 65535 << 16, 65535 << 16)
    made["absurd-resolution"] = bytes(absurd)
    render_scene(folder / "frames", 30.0, 0.0, 1 / 30, 320, 240)
    png = next((folder / "frames").glob("*.png"))
    made["wrong-container-png"] = png.read_bytes()
    paths = {}
    for name, blob in made.items():
        paths[name] = folder / f"{name}.mp4"
        paths[name].write_bytes(blob)
    paths["audio-only"] = folder / "audio-only.m4a"
    _write_audio_only(paths["audio-only"])
    paths["no-video-stream"] = folder / "no-video-stream.mp4"
    _write_audio_only(paths["no-video-stream"])
    paths["variable-frame-rate"] = folder / "variable-frame-rate.mp4"
    _write_variable_rate(paths["variable-frame-rate"])
    return paths


EXPECTED = {  # how each case must be described: unreadable with a reason, or what was analysed
    "zero-byte": "unreadable: empty file",
    "wrong-container-text": "unreadable:",
    "wrong-container-png": None,  # FFmpeg reads a PNG as a one-frame image: any verdict, but a verdict
    "truncated-0.01": "unreadable:",
    "truncated-0.25": "unreadable:",
    "truncated-0.5": "unreadable:",
    "truncated-0.9": "unreadable:",
    "truncated-0.999": None,  # only the last frame's tail lost: decodes (clip.py does not flag it)
    "missing-moov": "unreadable:",
    "bit-flipped": None,
    "absurd-resolution": None,
    "audio-only": "unreadable: ValueError: no video stream",
    "no-video-stream": "unreadable: ValueError: no video stream",
    "variable-frame-rate": None,
}


def test_every_bad_clip_gets_a_verdict_in_bounded_time(good_clip: Path, tmp_path: Path) -> None:
    paths = corpus(good_clip, tmp_path)
    assert set(paths) == set(EXPECTED)
    verdicts = {}
    for name, path in paths.items():
        start = time.monotonic()
        analysis = analyse_clip_bounded(path, timeout_s=PER_CLIP_S)  # must not raise
        assert time.monotonic() - start < PER_CLIP_S + 30, name
        verdicts[name] = clip_verdict(analysis)
        expected = EXPECTED[name]
        if expected is not None:
            assert verdicts[name].startswith(expected), (name, verdicts[name])
        assert verdicts[name].split(":")[0] in ("analysed", "partial", "unreadable"), (name, verdicts[name])
    print(f"{len(verdicts)} bad-clip cases:", *(f"{n}: {v}" for n, v in verdicts.items()), sep="\n  ")
    # the good clip is untouched by all this
    assert clip_verdict(analyse_clip_bounded(good_clip)).startswith(("analysed", "partial")), good_clip


def test_clip_still_being_written_is_named(good_clip: Path, tmp_path: Path) -> None:
    """A writer appends while the analysis reads: the verdict says the file was still changing."""
    data = good_clip.read_bytes()
    target = tmp_path / "growing.mp4"
    target.write_bytes(data[: len(data) // 3])
    stop = threading.Event()

    def grow() -> None:
        with open(target, "ab") as fh:
            for i in range(len(data) // 3, len(data), 512):
                if stop.is_set():
                    return
                fh.write(data[i:i + 512])
                fh.flush()
                time.sleep(0.005)

    writer = threading.Thread(target=grow)
    writer.start()
    try:
        analysis = analyse_clip_bounded(target, timeout_s=PER_CLIP_S)
    finally:
        stop.set()
        writer.join()
    assert analysis.error is not None
    assert "still being written" in analysis.error or clip_verdict(analysis).startswith("unreadable:"), analysis.error


def test_a_hang_becomes_a_verdict_and_the_next_clip_is_analysed(good_clip: Path) -> None:
    """A bound far below the clip's analysis time: the worker is ended, the next clip still works."""
    start = time.monotonic()
    stuck = analyse_clip_bounded(good_clip, timeout_s=0.001)
    assert time.monotonic() - start < 10
    assert clip_verdict(stuck).startswith("unreadable: analysis did not finish within 0.001 s")
    assert analyse_clip_bounded(good_clip).frames == 60


def test_seeded_mutation_fuzz_never_crashes_or_hangs(good_clip: Path, tmp_path: Path) -> None:
    """Random byte flips, splices, deletions and truncations of a good clip; seeded, so repeatable."""
    rng = random.Random(FUZZ_SEED)
    data = good_clip.read_bytes()
    kinds: dict[str, int] = {}
    for i in range(FUZZ_ITERATIONS):
        blob = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            op = rng.choice(["flip", "zero", "delete", "duplicate", "truncate"])
            at = rng.randrange(len(blob))
            span = rng.randint(1, 4096)
            if op == "flip":
                blob[at] ^= 1 << rng.randrange(8)
            elif op == "zero":
                blob[at:at + span] = bytes(len(blob[at:at + span]))
            elif op == "delete":
                del blob[at:at + span]
            elif op == "duplicate":
                blob[at:at] = blob[at:at + span]
            else:
                del blob[at:]
            if not blob:
                break
        path = tmp_path / f"fuzz{i:03d}.mp4"
        path.write_bytes(bytes(blob))
        start = time.monotonic()
        verdict = clip_verdict(analyse_clip_bounded(path, timeout_s=PER_CLIP_S))
        assert time.monotonic() - start < PER_CLIP_S + 30
        assert "did not finish" not in verdict, (i, verdict)
        # an exception inside clip.py is caught by the guard and becomes a verdict; it is counted so
        # the analysis owners see it (a bad clip should get a reason from clip.py itself)
        kind = "raised inside analysis (caught)" if "analysis raised" in verdict else verdict.split(":")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
        path.unlink()
    print(f"fuzz: {FUZZ_ITERATIONS} mutated clips, 0 crashes, 0 hangs: {kinds}")
    assert sum(kinds.values()) == FUZZ_ITERATIONS
