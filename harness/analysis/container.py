"""The top-level box layout of an MP4 file: was it finalised, and what survived a power cut.

A camera that writes a plain MP4 puts the index (``moov``) at the end when it closes the file, so
a power cut before that leaves an unreadable file. A camera that writes fragmented MP4 starts
with an empty ``moov`` and appends self-contained fragments (``moof`` + ``mdat``); each finished
fragment is durable, and closing the file adds the fragment index ``mfra``. So, from the boxes:

* plain layout, ``moov`` present and every box complete -> finalised;
* fragmented layout with a trailing ``mfra`` -> finalised;
* fragmented without ``mfra`` -> interrupted, but readable up to its last whole fragment;
* a box running past the end of the file, or no ``moov`` -> interrupted (torn write).

The reader walks box headers only (a few bytes per box), never the media data.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path


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
        return Finalisation(False, layout, fragments, f"torn: the last box ({kinds[-1] if kinds else '-'}) is cut short")
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
