"""Damaged copies of a good clip, made at run time, to prove that every bad clip gets a verdict.

:func:`corpus` writes one file for each way a camera, a copy or a card hands over a broken clip
(zero bytes, cut short at several points, index missing, bits flipped in the media data or in
the index, wrong container, no video, unknown codec, absurd resolution, variable frame rate);
:func:`mutate` makes seeded random damage (bit flips, truncation, chunk deletion and duplication
inside the ``mdat`` and ``moov`` boxes) for fuzzing. Everything comes from a good clip written
here, so no binary file is kept in the repository.
"""

from __future__ import annotations

import random
import struct
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from harness.analysis.clip import ClipAnalysis
from harness.scene.compose import Scene
from harness.scene.video import yuv420_frame

TIME_BASE = Fraction(1, 90000)
MUTATIONS = ("flip", "zero", "delete", "duplicate", "truncate")
REGIONS = ("mdat", "moov", "anywhere")


def write_scene_clip(
    path: Path,
    times: Sequence[float],
    size: tuple[int, int] = (320, 240),
    refresh_hz: float = 60.0,
    faststart: bool = False,
    intra: bool = False,
) -> Path:
    """An H.264 MP4 of the time-code scene exposed at ``times`` (one frame each, pts = time - first).

    ``faststart`` puts the index (``moov``) before the media data, as many cameras do; ``intra``
    makes every frame a key frame, so damage to one frame's data loses exactly that frame.
    """
    width, height = size
    scene = Scene(max(width, 160), max(height, 120), refresh_hz)  # the code needs room; scaled down after
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", **({"x264-params": "keyint=1"} if intra else {})}
        stream.time_base = stream.codec_context.time_base = TIME_BASE
        for t in times:
            image = scene.expose(t - 0.5 / refresh_hz, t + 0.5 / refresh_hz)
            if image.shape != (height, width):
                image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            frame = yuv420_frame(image)
            frame.pts, frame.time_base = round((t - times[0]) / TIME_BASE), TIME_BASE
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def write_audio_only(path: Path) -> Path:
    """One second of AAC in an MP4/M4A: a valid file with no video stream."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48000)
        samples = (np.sin(np.arange(48000) / 10) * 0.3).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 48000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def box(data: bytes, kind: str) -> tuple[int, int]:
    """Offset and declared size of the first top-level box of this kind (KeyError if none)."""
    offset = 0
    while offset + 8 <= len(data):
        size, name = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        if name.decode("latin-1") == kind:
            return offset, size
        if size < 8:
            break
        offset += size
    raise KeyError(f"no top-level {kind} box")


def with_declared_size(data: bytes, width: int, height: int) -> bytes:
    """The clip with another picture size in its index (track header and sample entry) and the
    stream itself unchanged: what a damaged or badly written header looks like.
    Meant for a clip with one video track."""
    moov, _ = box(data, "moov")
    out = bytearray(data)
    tkhd = data.index(b"tkhd", moov) - 4  # version 0: width and height (16.16) at +84
    out[tkhd + 84 : tkhd + 92] = struct.pack(">II", width << 16, height << 16)
    entry = data.index(b"stsd", moov) - 4 + 16  # first sample entry: width and height at +32
    out[entry + 32 : entry + 36] = struct.pack(">HH", width, height)
    return bytes(out)


def with_codec_tag(data: bytes, tag: bytes) -> bytes:
    """The clip with its video sample entry's codec tag (``avc1``) replaced."""
    moov, _ = box(data, "moov")
    entry = data.index(b"stsd", moov) - 4 + 16
    return data[: entry + 4] + tag + data[entry + 8 :]


def with_handler(data: bytes, handler: bytes) -> bytes:
    """The clip with its video track's handler type (``vide``) replaced: FFmpeg then sees no video."""
    moov, _ = box(data, "moov")
    at = data.index(b"vide", data.index(b"hdlr", moov))
    return data[:at] + handler + data[at + 4 :]


def flip_bits(data: bytes, start: int, end: int, count: int, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(count):
        out[rng.randrange(start, end)] ^= 1 << rng.randrange(8)
    return bytes(out)


def mutate(data: bytes, rng: random.Random, max_ops: int = 4) -> tuple[bytes, list[str]]:
    """One to ``max_ops`` random damages inside the mdat, the moov or anywhere; returns the
    damaged bytes and what was done (to reproduce a failure from the seed and its log)."""
    blob = bytearray(data)
    done = []
    for _ in range(rng.randint(1, max_ops)):
        if not blob:
            break
        op, region = rng.choice(MUTATIONS), rng.choice(REGIONS)
        start, end = 0, len(blob)
        if region != "anywhere":
            try:
                offset, size = box(bytes(blob), region)
                start, end = offset + 8, min(offset + size, len(blob))
            except KeyError:
                region = "anywhere"
        if end <= start:
            start, end = 0, len(blob)
        at = rng.randrange(start, end)
        span = rng.randint(1, max(1, min(4096, (end - start) // 4)))
        if op == "flip":
            blob[at] ^= 1 << rng.randrange(8)
        elif op == "zero":
            blob[at : at + span] = bytes(len(blob[at : at + span]))
        elif op == "delete":
            del blob[at : at + span]
        elif op == "duplicate":
            blob[at:at] = blob[at : at + span]
        else:
            del blob[at:]
        done.append(f"{op} {region} @{at}" + (f"+{span}" if op in ("zero", "delete", "duplicate") else ""))
    return bytes(blob), done


@dataclass
class FuzzReport:
    """What a fuzz run met: a verdict kind per mutated clip, and any crash or hang with its recipe."""

    iterations: int = 0
    kinds: Counter = field(default_factory=Counter)  # analysed / partial / unreadable
    crashes: list[str] = field(default_factory=list)  # an exception or a dead analysis process
    hangs: list[str] = field(default_factory=list)  # the time bound ended the analysis
    no_verdict: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # wall time per clip


def fuzz(
    good: Path,
    folder: Path,
    iterations: int,
    seed: int,
    analyse: Callable[[Path], ClipAnalysis],
    verdict: Callable[[ClipAnalysis], str],
) -> FuzzReport:
    """Analyse ``iterations`` seeded mutations of ``good``; each failure is logged with its seed,
    iteration and mutations, so it can be made again."""
    rng = random.Random(seed)
    data = good.read_bytes()
    report = FuzzReport()
    for i in range(iterations):
        blob, ops = mutate(data, rng)
        path = folder / f"fuzz-{seed}-{i:05d}.mp4"
        path.write_bytes(blob)
        start = time.perf_counter()
        text = verdict(analyse(path))
        report.seconds.append(time.perf_counter() - start)
        recipe = f"seed {seed} iteration {i} ({'; '.join(ops)}): {text}"
        kind = text.split(":")[0]
        if "analysis raised" in text or "analysis process died" in text:
            report.crashes.append(recipe)
        elif "did not finish" in text:
            report.hangs.append(recipe)
        elif kind not in ("analysed", "partial", "unreadable"):
            report.no_verdict.append(recipe)
        report.kinds[kind] += 1
        report.iterations += 1
        path.unlink()
    return report


CORPUS_T0 = 600.5 / 60  # first exposure midpoint (s): mid display frame at 60 Hz, so every frame reads clean
CORPUS_TIMES = [CORPUS_T0 + k / 30 for k in range(60)]  # 2 s at 30 fps, 320x240
DAMAGED_FRAME = 30  # the frame whose data "decode-error-mid-clip" overwrites


def corpus(folder: Path) -> dict[str, Path]:
    """Every kind of bad clip, each written to ``folder`` under its name.

    The good clips they are made from stay in ``folder/sources`` (``plain.mp4`` with the index at
    the end, ``faststart.mp4`` with it first, ``intra.mp4`` with every frame a key frame), so a
    test can work out from them what each damage must cost.
    """
    sources = folder / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    times = CORPUS_TIMES
    plain = write_scene_clip(sources / "plain.mp4", times).read_bytes()
    faststart = write_scene_clip(sources / "faststart.mp4", times, faststart=True).read_bytes()
    intra = write_scene_clip(sources / "intra.mp4", times, intra=True).read_bytes()
    made: dict[str, bytes] = {
        "zero-byte": b"",
        "wrong-container-text": b"this is not a video\n" * 50,
        "wrong-container-png": _png(),  # a still picture under a clip's name
    }
    for fraction in (0.01, 0.5, 0.9, 0.999):
        made[f"truncated-plain-{fraction}"] = plain[: max(1, int(len(plain) * fraction))]
    for fraction in (0.5, 0.999):
        made[f"truncated-faststart-{fraction}"] = faststart[: int(len(faststart) * fraction)]
    moov, moov_size = box(plain, "moov")
    made["missing-moov"] = plain[:moov] + plain[moov + moov_size :]
    mdat, mdat_size = box(plain, "mdat")
    rng = random.Random(1)
    made["bit-flipped-mdat"] = flip_bits(plain, mdat + 8, mdat + mdat_size, 200, rng)
    made["bit-flipped-moov"] = flip_bits(plain, moov + 8, moov + moov_size, 50, rng)
    made["decode-error-mid-clip"] = _damage_frame(intra, sources / "intra.mp4", DAMAGED_FRAME)
    made["unknown-codec-tag"] = with_codec_tag(plain, b"zzzz")
    made["no-video-stream"] = with_handler(plain, b"soun")  # the only track declared as sound
    made["declared-16x16"] = with_declared_size(plain, 16, 16)
    made["declared-10000x10000"] = with_declared_size(plain, 10000, 10000)
    paths = {}
    for name, blob in made.items():
        paths[name] = folder / f"{name}.mp4"
        paths[name].write_bytes(blob)
    paths["audio-only"] = write_audio_only(folder / "audio-only.m4a")
    paths["frames-16x16"] = write_scene_clip(folder / "frames-16x16.mp4", times[:10], size=(16, 16))
    # a camera that lowers its rate in poor light: 30 frames at 30 fps, then 30 at 24 fps
    vfr = times[:30] + [times[29] + k / 24 for k in range(1, 31)]
    paths["variable-frame-rate"] = write_scene_clip(folder / "variable-frame-rate.mp4", vfr)
    return paths


def frame_span(path: Path, index: int) -> tuple[int, int, int]:
    """Byte offset, size and pts (ticks) of the ``index``-th video packet of a clip."""
    with av.open(str(path)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    packet = packets[index]
    if packet.pos is None or packet.pts is None:
        raise ValueError(f"{path}: video packet {index} has no byte position or pts")
    return packet.pos, packet.size, packet.pts


def _damage_frame(data: bytes, path: Path, index: int) -> bytes:
    """The clip with one frame's coded data overwritten (its 4-byte length prefix kept)."""
    pos, size, _ = frame_span(path, index)
    return data[: pos + 4] + b"\xff" * (size - 4) + data[pos + size :]


def _png() -> bytes:
    ok, encoded = cv2.imencode(".png", np.full((120, 160), 128, np.uint8))
    if not ok:
        raise RuntimeError("OpenCV could not encode a PNG")
    return encoded.tobytes()
