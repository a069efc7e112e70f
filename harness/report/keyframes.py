"""Key frames of a clip: the few frames a reviewer looks at to believe a measurement.

First and last frame (where the clip begins and ends), the frame at the activating press, and the
two frames either side of the join between the pre-event buffer and the live recording. Frames
are chosen from the analysis timeline (no decoding) and then read back by seeking, so a three-minute
clip costs a few GOPs of decoding, not a second full pass.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

JOIN_WINDOW_S = 1.0  # a gap this close to a press is taken as the buffer/live join
SEEK_AHEAD_S = 2.0  # decode forward instead of seeking when the next frame is this close


@dataclass(frozen=True)
class KeyFrame:
    label: str
    index: int
    pts_s: float
    ref_s: float | None


def select_key_frames(
    pts_s: Sequence[float],
    ref_s: Sequence[float | None],
    presses: Sequence[tuple[str, float]] = (),
    gaps: Sequence[tuple[float, int]] = (),
) -> list[KeyFrame]:
    """Key frames in clip order; one frame serving two roles gets both labels.

    ``presses`` are (event name, reference time of the activating press); ``gaps`` are
    (reference time of the frame before the hole, frames missing), as the analysis reports them.
    """
    n = len(pts_s)
    if n == 0:
        return []
    decoded = [(r, i) for i, r in enumerate(ref_s) if r is not None]
    decoded.sort()
    refs = [r for r, _ in decoded]
    wanted: dict[int, list[str]] = {0: ["first frame"]}
    for label, t in presses:
        if not refs or not refs[0] - 1.0 <= t <= refs[-1] + 1.0:
            continue  # the press is not inside this clip (e.g. a later segment)
        k = bisect.bisect_left(refs, t)
        nearest = min((j for j in (k - 1, k) if 0 <= j < len(refs)), key=lambda j: abs(refs[j] - t))
        wanted.setdefault(decoded[nearest][1], []).append(f"frame at the press ({label})")
        near_gaps = [g for g in gaps if abs(g[0] - t) <= JOIN_WINDOW_S]
        if near_gaps:  # the join is where frames went missing: show the frames around the hole
            after_ref = min(near_gaps, key=lambda g: abs(g[0] - t))[0]
            j = min(range(len(refs)), key=lambda j: abs(refs[j] - after_ref))
        else:  # a clean join: the last buffered frame and the first live one
            j = max(bisect.bisect_right(refs, t) - 1, 0)
        before = decoded[j][1]
        if before + 1 < n:
            wanted.setdefault(before, []).append(f"last frame before the join ({label})")
            wanted.setdefault(before + 1, []).append(f"first frame after the join ({label})")
    wanted.setdefault(n - 1, []).append("last frame")
    return [KeyFrame(" / ".join(labels), i, float(pts_s[i]), ref_s[i]) for i, labels in sorted(wanted.items())]


def read_frames(
    path: Path | str, frames: Sequence[KeyFrame], max_width: int | None = None
) -> list[tuple[KeyFrame, bytes]]:
    """PNG bytes of each key frame, read from ``path`` by pts; frames that cannot be found are left out."""
    if not frames:
        return []
    out: list[tuple[KeyFrame, bytes]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.time_base is None:  # no timing: no frame can be found by its pts
            return []
        tb = float(stream.time_base)
        ahead = round(SEEK_AHEAD_S / tb)
        decoder: Iterator[av.VideoFrame] | None = None
        current: av.VideoFrame | None = None
        for kf in sorted(frames, key=lambda k: k.pts_s):
            target = round(kf.pts_s / tb)
            if decoder is None or current is None or _pts(current) > target or target - _pts(current) > ahead:
                container.seek(target, stream=stream, backward=True, any_frame=False)
                decoder = _decoded(container, stream)
                current = None
            while current is None or _pts(current) < target:
                current = next(decoder, None)
                if current is None:
                    break
            if current is None:
                decoder = None
                continue
            if current.pts == target:
                out.append((kf, _encode(current.to_ndarray(format="bgr24"), max_width)))
    return out


def _pts(frame: av.VideoFrame) -> int:
    """A frame's pts; a frame without one sorts before every target."""
    return frame.pts if frame.pts is not None else -1


def _decoded(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> Iterator[av.VideoFrame]:
    """Frames from the current position, packet by packet: a packet that does not decode costs only
    its own frame (a damaged clip still gets its pictures; the analysis names what was lost)."""
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                continue
            yield from frames
    except (av.FFmpegError, OSError):  # the file cannot be read further: what was read stands
        return


def _encode(bgr: np.ndarray, max_width: int | None) -> bytes:
    if max_width and bgr.shape[1] > max_width:
        h = round(bgr.shape[0] * max_width / bgr.shape[1])
        bgr = cv2.resize(bgr, (max_width, h), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".png", bgr)
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


THUMB_WIDTH = 320


def thumbnail_jpeg(png: bytes, max_width: int = THUMB_WIDTH, quality: int = 80) -> bytes | None:
    """A small JPEG of a key frame for the report page (the full frame stays an evidence file,
    linked from the page); None when the picture cannot be decoded."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    if image.shape[1] > max_width:
        h = max(1, round(image.shape[0] * max_width / image.shape[1]))
        image = cv2.resize(image, (max_width, h), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else None
