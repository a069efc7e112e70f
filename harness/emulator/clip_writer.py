"""Writes an emulated camera's clip as a real MP4: H.264 or HEVC video with explicit pts, AAC audio, metadata."""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple, cast

import av
import numpy as np
from av.video.frame import PictureType

from harness.scene.video import yuv420_frame

TIME_BASE = Fraction(1, 90000)
AAC_FRAME = 1024
#: AAC frames of samples asked of an :class:`AudioTrack` at once: synthesis costs mostly per call
#: (a noise generator seeded per call, the stimulus schedule), so it is asked for in ~0.7 s chunks
SYNTH_FRAMES = 32
#: the FFmpeg AAC encoder's fast coder: a third less CPU than its default (two-loop search) at
#: the same bitrate, still a real AAC track (a camera's hardware encoder searches no harder)
AAC_OPTIONS = {"aac_coder": "fast"}
#: the profile's codec -> the PyAV encoder that writes it
ENCODER = {"h264": "libx264", "hevc": "libx265"}
#: frames made ahead of the encoder by the frame thread (a few: each is one luma image in memory)
PREFETCH_FRAMES = 4


def _encoder_options(codec: str, fragments: bool) -> dict[str, object]:
    """Fast, single-threaded encoder settings (the same bytes for the same frames on any machine,
    and less CPU per frame than a thread pool at this size, what matters when workers fill every
    core). With ``fragments`` the encoder makes key frames only where it is told to (a fragment
    starts on each), and those key frames are IDR frames a fragment can be cut at."""
    if codec == "hevc":
        params = "log-level=error:pools=1:frame-threads=1:lookahead-slices=0"
        if fragments:
            params += ":scenecut=0:open-gop=0"
        return {"preset": "ultrafast", "x265-params": params, **({"forced-idr": "1"} if fragments else {})}
    x264: dict[str, object] = {"preset": "ultrafast", "threads": "1"}  # the type av gives options
    return {**x264, "x264-params": "scenecut=0"} if fragments else x264


@dataclass(frozen=True)
class AudioTrack:
    """Mono audio for one clip: ``samples(first, count)`` gives float32 samples, index 0 at video pts 0."""

    sample_rate: int
    samples: Callable[[int, int], np.ndarray]


class VideoFrame(NamedTuple):
    """One frame to write: its presentation time in seconds (any origin) and its luma image."""

    pts_s: float
    gray: np.ndarray


#: tags the MP4 muxer writes as iTunes entries of their own; any other needs ``use_metadata_tags``
MP4_NATIVE_TAGS = frozenset(
    {
        "title", "artist", "album_artist", "composer", "album", "date", "encoder", "comment", "genre",
        "copyright", "grouping", "lyrics", "description", "synopsis", "show", "episode_id", "network",
        "keywords", "creation_time",
    }
)  # fmt: skip


def write_clip(
    path: Path,
    frames: Iterable[VideoFrame],
    fps: float | Fraction,
    bitrate_kbps: int,
    creation_time: datetime,
    audio: AudioTrack | None = None,
    metadata: dict[str, str] | None = None,
    fragment_s: float | None = None,
    codec: str = "h264",
) -> int:
    """Encode the frames (and audio up to the end of the last frame); return the frame count.

    ``fps``: the nominal rate the stream declares (give 29.97 as ``Fraction(30000, 1001)``);
    ``codec``: 'h264' or 'hevc'.

    Presentation times are written relative to the first frame, so the file starts at pts 0 and
    audio sample 0 lines up with it; gaps between frames stay gaps.

    The file is written under a temporary name and renamed when finalised, as a camera closes a
    file on its storage: a reader never sees a half-written clip under the final name.

    ``fragment_s``: write fragmented MP4 (empty ``moov``, then one ``moof``/``mdat`` fragment per
    ``fragment_s`` of pts, each starting on a forced key frame, see :func:`fragment_index`), the
    layout of a camera that makes its recording durable as it goes.
    """
    tmp = path.with_name(path.name + ".partial")
    count = 0
    period = float(1 / Fraction(fps))
    flags = ["frag_keyframe", "empty_moov", "default_base_moof"] if fragment_s else []
    if set(metadata or {}) - MP4_NATIVE_TAGS:  # a tag of the camera's own (a serial tag) needs a keyed entry
        flags.append("use_metadata_tags")
    options = {"movflags": "+".join(flags)} if flags else {}
    with av.open(str(tmp), "w", format="mp4", options=options) as container:
        container.metadata["creation_time"] = creation_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for key, value in (metadata or {}).items():
            container.metadata[key] = value
        if codec not in ENCODER:
            raise ValueError(f"no encoder for codec {codec!r} (known: {', '.join(ENCODER)})")
        rate = fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)
        stream = container.add_stream(ENCODER[codec], rate=rate)
        assert isinstance(stream, av.VideoStream)  # both encoders of ENCODER are video codecs
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bitrate_kbps * 1000
        stream.options = _encoder_options(codec, bool(fragment_s))
        if fragment_s:  # key frames (hence fragments) only where fragment_index() changes
            stream.codec_context.gop_size = 1 << 30
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        audio_out = _AudioOut(container, audio) if audio else None
        first = last_pts = 0.0
        fragment = -1
        with contextlib.closing(prefetched(frames)) as ordered:  # rendered on a second core meanwhile
            for pts_s, gray in ordered:
                if count == 0:
                    stream.height, stream.width = gray.shape
                    first = pts_s
                encoded = yuv420_frame(gray)
                encoded.pts = round((pts_s - first) / TIME_BASE)
                encoded.time_base = TIME_BASE
                if fragment_s and fragment_index(pts_s - first, fragment_s) != fragment:
                    fragment = fragment_index(pts_s - first, fragment_s)
                    encoded.pict_type = PictureType.I
                container.mux(stream.encode(encoded))
                count += 1
                last_pts = pts_s - first
                if audio_out:
                    audio_out.write_until(last_pts)
        container.mux(stream.encode(None))
        if audio_out:
            audio_out.write_until(last_pts + period)
            audio_out.flush()
    os.replace(tmp, path)
    return count


class _Failed(NamedTuple):
    """What the frame thread raised, handed to the encoding thread to raise there."""

    error: BaseException


_DONE = object()


def prefetched(frames: Iterable[VideoFrame], depth: int = PREFETCH_FRAMES) -> Generator[VideoFrame, None, None]:
    """``frames`` in order, made by a helper thread up to ``depth`` frames ahead of the caller.

    An emulated camera's frames cost about as much to render (the capture model: OpenCV) as to
    encode (x264 or x265 through PyAV); both release the GIL, so the frame thread renders the
    next frames on a second core while this thread encodes. An error in the frame thread is
    raised here; when the caller stops early (an encoder error) the frame thread is told to stop
    and is joined before this returns, so no thread outlives the clip it was making frames for.
    """
    if depth < 1:
        yield from frames
        return
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for frame in frames:
                if not put(frame):
                    return
        except BaseException as exc:  # raised in the caller's thread
            put(_Failed(exc))
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="bwc-clip-frames", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield cast(VideoFrame, item)
    finally:
        stop.set()
        worker.join()


def fragment_index(pts_s: float, fragment_s: float) -> int:
    """Which fragment a frame at ``pts_s`` (from the file's first frame) belongs to."""
    return int((pts_s + 1e-9) // fragment_s)


class _AudioOut:
    """AAC encoding of an :class:`AudioTrack`, one 1024-sample frame at a time, in step with video."""

    def __init__(self, container: av.container.OutputContainer, track: AudioTrack) -> None:
        self.container = container
        self.track = track
        self.stream = container.add_stream("aac", rate=track.sample_rate)
        self.stream.layout = "mono"
        self.stream.bit_rate = 128_000
        self.stream.options = dict(AAC_OPTIONS)
        self.next = 0
        self._chunk = np.zeros(0, np.float32)  # samples from _chunk_start on, asked ahead of the encoder
        self._chunk_start = 0

    def _block(self, start: int) -> np.ndarray:
        """Samples ``start`` .. ``start + AAC_FRAME`` (fewer where the track ends), from the chunk
        asked of the track ahead (:data:`SYNTH_FRAMES` frames at a time)."""
        if not self._chunk_start <= start <= self._chunk_start + self._chunk.size - AAC_FRAME:
            self._chunk = np.asarray(self.track.samples(start, AAC_FRAME * SYNTH_FRAMES), np.float32).reshape(-1)
            self._chunk_start = start
        offset = start - self._chunk_start
        return self._chunk[offset : offset + AAC_FRAME]

    def write_until(self, pts_s: float) -> None:
        while self.next / self.track.sample_rate <= pts_s:
            block = self._block(self.next).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
            frame.sample_rate = self.track.sample_rate
            frame.pts = self.next
            frame.time_base = Fraction(1, self.track.sample_rate)
            self.container.mux(self.stream.encode(frame))
            self.next += AAC_FRAME

    def flush(self) -> None:
        self.container.mux(self.stream.encode(None))
