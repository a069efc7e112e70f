"""The top-level box layout of an MP4 file: was it finalised, and what survived a power cut.

A camera that writes a plain MP4 puts the index (``moov``) at the end when it closes the file, so
a power cut before that leaves an unreadable file. A camera that writes fragmented MP4 starts
with an empty ``moov`` and appends self-contained fragments (``moof`` + ``mdat``); each finished
fragment is durable, and closing the file adds the fragment index ``mfra``. So, from the boxes:

* plain layout, ``moov`` present and every box complete -> finalised;
* fragmented layout with a trailing ``mfra`` -> finalised;
* fragmented without ``mfra`` -> interrupted, but readable up to its last whole fragment;
* a box running past the end of the file, or no ``moov`` -> interrupted (torn write).

The reader walks box headers only (a few bytes per box), never the media data. The same walk
says what a damaged file lost (:func:`layout_damage`) and which picture size its index declares
(:func:`declared_picture_sizes`): FFmpeg takes the size from the stream and ignores a wrong one.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True)
class Box:
    kind: str
    offset: int
    size: int  # as declared; may run past the end of a torn file

    @property
    def end(self) -> int:
        return self.offset + self.size


def top_level_boxes(path: Path | str) -> tuple[list[Box], bool]:
    """The top-level boxes, and whether the last one is complete (False: the file is torn)."""
    boxes: list[Box] = []
    length = os.path.getsize(path)
    with open(path, "rb") as fh:
        offset = 0
        while offset + 8 <= length:
            fh.seek(offset)
            head = fh.read(16)
            size, kind = struct.unpack(">I4s", head[:8])
            if size == 1 and len(head) >= 16:
                size = struct.unpack(">Q", head[8:16])[0]
            elif size == 0:
                size = length - offset
            name = kind.decode("latin-1")
            if size < 8:
                return boxes, False
            boxes.append(Box(name, offset, size))
            if offset + size > length:
                return boxes, False
            offset += size
        return boxes, offset == length


@dataclass(frozen=True)
class Finalisation:
    """What the box layout says about how a file was closed."""

    finalised: bool
    layout: str  # "plain" | "fragmented" | "unknown"
    fragments: int
    reason: str


def finalisation(path: Path | str) -> Finalisation:
    """Whether ``path`` was closed by its writer (see the module docstring for the rules)."""
    try:
        boxes, complete = top_level_boxes(path)
    except OSError as exc:
        return Finalisation(False, "unknown", 0, f"unreadable: {exc}")
    kinds = [b.kind for b in boxes]
    fragments = kinds.count("moof")
    layout = "fragmented" if fragments else ("plain" if "moov" in kinds else "unknown")
    if not complete:
        return Finalisation(
            False, layout, fragments, f"torn: the last box ({kinds[-1] if kinds else '-'}) is cut short"
        )
    if "moov" not in kinds:
        return Finalisation(False, layout, fragments, "no moov box: the index was never written")
    if fragments and kinds[-1] != "mfra":
        return Finalisation(False, layout, fragments, f"fragmented, {fragments} fragments, no closing mfra index")
    return Finalisation(True, layout, fragments, "finalised" + (f" ({fragments} fragments)" if fragments else ""))


def keep_fragments(path: Path | str, count: int) -> int:
    """Truncate a fragmented MP4 after its first ``count`` fragments, as a power cut leaves it
    (no closing index). ``count`` 0 keeps only the header. Returns the new size in bytes."""
    boxes, _ = top_level_boxes(path)
    end = 0
    seen = 0
    for box in boxes:
        if box.kind == "moof":
            if seen == count:
                break
            seen += 1
        elif box.kind == "mfra":
            break
        end = box.end
    with open(path, "r+b") as fh:
        fh.truncate(end)
        fh.flush()
        os.fsync(fh.fileno())
    return end


def drop_index(path: Path | str) -> int:
    """Truncate a plain MP4 before its ``moov`` (an index written last never got written)."""
    boxes, _ = top_level_boxes(path)
    moov = next((b for b in boxes if b.kind == "moov"), None)
    end = moov.offset if moov is not None else os.path.getsize(path)
    with open(path, "r+b") as fh:
        fh.truncate(end)
        fh.flush()
        os.fsync(fh.fileno())
    return end


#: top-level box types of an ISO base media file (MP4, MOV, 3GP): a file starting with another is not one
ISO_TOP_LEVEL = {"ftyp", "styp", "moov", "mdat", "free", "skip", "wide", "uuid", "moof", "mfra", "sidx", "pnot", "meta"}


def is_iso_media(path: Path | str) -> bool:
    """Whether the file starts like an MP4/MOV (its first box is one of :data:`ISO_TOP_LEVEL`)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return len(head) == 8 and head[4:8].decode("latin-1") in ISO_TOP_LEVEL


def layout_damage(path: Path | str) -> str | None:
    """What the box layout says a damaged MP4 lost, or None when it is whole (or not an MP4).

    A torn last box is a truncated file; a missing ``moov`` is a file whose index was never
    written. A fragmented file cut after a whole fragment is readable and not called damaged here
    (:func:`finalisation` judges whether its writer closed it).
    """
    if not is_iso_media(path):
        return None
    try:
        boxes, complete = top_level_boxes(path)
        length = os.path.getsize(path)
    except OSError as exc:
        return f"cannot read its boxes: {exc}"
    has_index = any(b.kind == "moov" for b in boxes)
    if not complete:
        if boxes and boxes[-1].end > length:
            last = boxes[-1]
            torn = (
                f"truncated: the file ends inside its {last.kind} box "
                f"({last.end - length} of its {last.size} bytes missing)"
            )
        else:
            end = boxes[-1].end if boxes else 0
            torn = f"truncated: the box at byte {end} is cut short or has an impossible size"
        return torn if has_index else f"{torn}, before any moov box (the index)"
    if not has_index:
        return "no moov box: the index was never written"
    return None


def _children(fh: BinaryIO, start: int, end: int) -> Iterator[Box]:
    """The boxes inside ``[start, end)``; stops at the first header that does not fit."""
    offset = start
    while offset + 8 <= end:
        fh.seek(offset)
        head = fh.read(16)
        if len(head) < 8:
            return
        size, kind = struct.unpack(">I4s", head[:8])
        if size == 1 and len(head) == 16:
            size = struct.unpack(">Q", head[8:16])[0]
        elif size == 0:
            size = end - offset
        if size < 8 or offset + size > end:
            return
        yield Box(kind.decode("latin-1"), offset, size)
        offset += size


def _child(fh: BinaryIO, box: Box, kind: str) -> Box | None:
    return next((b for b in _children(fh, box.offset + 8, box.end) if b.kind == kind), None)


def _read_at(fh: BinaryIO, offset: int, count: int) -> bytes:
    fh.seek(offset)
    return fh.read(count)


@dataclass(frozen=True)
class DeclaredSize:
    """A picture size written in the index of one video track."""

    where: str  # "track header" | "sample entry"
    width: int
    height: int


def declared_picture_sizes(path: Path | str) -> list[DeclaredSize]:
    """The width and height the index declares for each video track (track header, sample entry).

    Empty for a file that is not an MP4 or whose index cannot be walked.
    """
    out: list[DeclaredSize] = []
    if not is_iso_media(path):
        return out
    try:
        length = os.path.getsize(path)
        moov = next((b for b in top_level_boxes(path)[0] if b.kind == "moov"), None)
        with open(path, "rb") as fh:  # a torn moov is walked as far as it goes
            for trak in _children(fh, moov.offset + 8, min(moov.end, length)) if moov else ():
                if trak.kind == "trak":
                    out += _track_sizes(fh, trak)
    except (OSError, struct.error):
        return out
    return out


def _track_sizes(fh: BinaryIO, trak: Box) -> list[DeclaredSize]:
    mdia = _child(fh, trak, "mdia")
    hdlr = _child(fh, mdia, "hdlr") if mdia else None
    if hdlr is None or _read_at(fh, hdlr.offset + 16, 4) != b"vide":
        return []
    out = []
    tkhd = _child(fh, trak, "tkhd")
    if tkhd is not None:
        version = _read_at(fh, tkhd.offset + 8, 1)
        at = tkhd.offset + (96 if version == b"\x01" else 84)  # width, height: 16.16 fixed point
        raw = _read_at(fh, at, 8)
        if len(raw) == 8 and at + 8 <= tkhd.end:
            w, h = struct.unpack(">II", raw)
            out.append(DeclaredSize("track header", w >> 16, h >> 16))
    minf = _child(fh, mdia, "minf") if mdia else None
    stbl = _child(fh, minf, "stbl") if minf else None
    stsd = _child(fh, stbl, "stsd") if stbl else None
    if stsd is not None and stsd.offset + 16 + 36 <= stsd.end:
        raw = _read_at(fh, stsd.offset + 16 + 32, 4)  # first visual sample entry: width, height at +32
        if len(raw) == 4:
            w, h = struct.unpack(">HH", raw)
            out.append(DeclaredSize("sample entry", w, h))
    return out
