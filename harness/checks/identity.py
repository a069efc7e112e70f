"""Identity: which camera a clip says made it, read from wherever the camera states it.

A camera names itself in one or more places: JSON metadata (the emulator's own format), its file
name (a naming template with ``{serial}``), a container tag of its own, or the device id its
text overlay prints (read by OCR). :func:`clip_serials` reads every one of them, so the check of
the bench's declared unit and the search for foreign files judge the same readings. A camera that
states its serial nowhere cannot be identified from its footage: the report says so rather than
counting the identity as proven.

Serials are compared in a canonical form (:func:`canonical_serial`): upper case, with the
characters OCR confuses in an overlay taken as one (O and Q as 0, I as 1, S as 5, B as 8), applied
alike to the declared serial and to every reading. A serial that differs by anything else (another
unit's id, a missing or extra character) still differs, except that a serial read from the overlay
by OCR may differ by the profile's ``serial_from.overlay_tolerance_chars`` (OCR misreads a character
now and then); the note then shows what was read, and file names and tags are compared exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.analysis.clip import ClipAnalysis
from harness.checks.common import CheckInput, metadata
from harness.core.measurement import Declared, Measurement
from harness.plan.profile import CameraProfile

SERIAL_MATCH = Declared("serial_match", "fraction", "BWC-EVT-01", "catalogue", ("event",))
MEASUREMENTS = (SERIAL_MATCH,)

#: characters OCR confuses in a printed serial, and the one of each group the comparison uses
_CONFUSABLE = str.maketrans({"O": "0", "Q": "0", "I": "1", "S": "5", "B": "8"})
CANONICAL_NOTE = "compared with O/Q/0, I/1, S/5 and B/8 alike, as OCR confuses them"

NOWHERE = (
    "the camera states its serial nowhere in its footage: no serial in its file names, container "
    "tags, metadata or overlay"
)


@dataclass(frozen=True)
class SerialReading:
    """One place a clip names its camera: ``source`` (file name, tag ..., metadata, overlay) and
    what it says there (None: the profile says the camera states it there, but it does not)."""

    source: str
    serial: str | None


def canonical_serial(serial: str) -> str:
    """``serial`` as compared: upper case, without surrounding blanks, OCR's confusable characters as one."""
    return serial.strip().strip("._-/").upper().translate(_CONFUSABLE)


def same_serial(a: str | None, b: str | None, tolerance: int = 0) -> bool:
    """Whether two serials name the same unit, compared in :func:`canonical_serial` form, allowing
    ``tolerance`` characters substituted, missing or extra (for a reading by OCR)."""
    if a is None or b is None:
        return False
    return edit_distance(canonical_serial(a), canonical_serial(b)) <= tolerance


def edit_distance(a: str, b: str) -> int:
    """Characters substituted, inserted or deleted to turn ``a`` into ``b`` (Levenshtein)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def matches_unit(reading: SerialReading, profile: CameraProfile) -> bool:
    """Whether ``reading`` names the profile's unit (an overlay reading within the OCR tolerance)."""
    tolerance = profile.serial_from.overlay_tolerance_chars if reading.source == "overlay" else 0
    return same_serial(reading.serial, profile.serial, tolerance)


def stated_sources(profile: CameraProfile) -> list[str]:
    """Where this camera model states its serial, as its profile declares it."""
    out = []
    if "serial" in profile.naming.fields:
        out.append("file name")
    if profile.serial_from.tag:
        out.append(f"tag {profile.serial_from.tag}")
    if profile.serial_from.overlay:
        out.append("overlay")
    return out


def clip_serials(clip: ClipAnalysis, profile: CameraProfile) -> list[SerialReading]:
    """Every serial ``clip`` states: in the places the profile declares (a declared place that
    says nothing gives a reading of None), and in the camera's JSON metadata when present."""
    out = []
    if "serial" in profile.naming.fields:
        name = Path(clip.path).name
        stem = name[: -len(profile.clip_suffix)] if name.endswith(profile.clip_suffix) else Path(name).stem
        fields = profile.naming.parse(stem)
        out.append(SerialReading("file name", fields.serial if fields is not None else None))
    tag = profile.serial_from.tag
    if tag:
        out.append(SerialReading(f"tag {tag}", clip.tags.get(tag) or None))
    if profile.serial_from.overlay or clip.overlay_serial is not None:
        out.append(SerialReading("overlay", clip.overlay_serial))
    for key in dict.fromkeys((profile.event_marker_key, profile.clock.metadata_key)):
        meta = metadata(clip, key)
        if meta is not None and meta.get("serial") is not None:
            out.append(SerialReading(f"metadata {key}", str(meta["serial"])))
            break
    return out


def judged(readings: list[SerialReading]) -> list[SerialReading]:
    """The readings a verdict rests on: an overlay that OCR could not read is left out when another
    place of the same file names a camera (a missed reading is no evidence of another unit); alone,
    it stays and fails the match."""
    if any(r.serial is not None for r in readings):
        return [r for r in readings if not (r.source == "overlay" and r.serial is None)]
    return readings


def foreign_serials(clip: ClipAnalysis, profile: CameraProfile) -> list[SerialReading]:
    """The readings of ``clip`` that name a camera other than the profile's unit."""
    readings = clip_serials(clip, profile)
    return [r for r in readings if r.serial is not None and not matches_unit(r, profile)]


def _describe(clip: ClipAnalysis, readings: list[SerialReading]) -> str:
    said = ", ".join(f"{r.source}: {r.serial if r.serial is not None else 'none'}" for r in readings)
    return f"{Path(clip.path).name} ({said})"


def serial_match(inp: CheckInput) -> list[Measurement]:
    """Per recording: 1 when every place each of its files names a camera names the bench's
    declared unit, 0 otherwise; not measurable when the camera states its serial nowhere."""
    declared = inp.profile.serial
    low, high = inp.limits.bounds("BWC-EVT-01", "serial_match", "fraction")
    out = []
    for ev in inp.events():
        if ev.recording is None:
            continue  # events_saved reports the missing recording
        per_clip = [(clip, clip_serials(clip, inp.profile)) for clip in ev.recording.clips]
        if not any(readings for _clip, readings in per_clip):
            out.append(SERIAL_MATCH(None, low, high, event=ev.index, not_measurable=NOWHERE))
            continue
        ok = all(matches_unit(r, inp.profile) for _clip, readings in per_clip for r in judged(readings))
        files = "; ".join(_describe(clip, readings) for clip, readings in per_clip)
        out.append(
            SERIAL_MATCH(
                1 if ok else 0,
                low,
                high,
                event=ev.index,
                note=f"declared unit {declared} ({CANONICAL_NOTE}; an overlay read by OCR within "
                f"{inp.profile.serial_from.overlay_tolerance_chars} character(s)); {files}",
            )
        )
    return out
