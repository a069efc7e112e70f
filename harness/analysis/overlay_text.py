"""The camera clock (and serial) read by OCR from the date and time a camera burns into its picture.

A camera prints its own time in whole seconds, so one OCR reading alone knows the clock to a
second. The reader gets the rest from the picture's timing: the seconds digits change exactly
when the camera clock passes a whole second, and the frame where they change pins the clock to
a frame. Per clip:

1. While the clip is decoded (a probe in the same pass), the corner the overlay sits in is cut
   out of each frame of the first :data:`WINDOW_S` seconds; the frame-to-frame change of that
   corner is kept as a coarse grid of cells (a few kB a frame), and a handful of corner crops,
   one a second, are kept for OCR.
2. Afterwards the kept crops are binarised, upscaled and stacked into one image that Tesseract
   reads in one call (its start-up dominates the cost). Each line is matched against the
   profile's strftime format; a line that does not parse is skipped. The word boxes of a parsed
   line locate the seconds digits. When the camera prints its device id after the time, the id's
   word boxes of the parsed lines are cut out, set side by side and read again in one call as a
   single line limited to the characters serials are made of: read as part of the date's page,
   Tesseract's language model slips letters into runs of zeros (``F000`` read ``FQ000``). The id
   is the one most of the crops give.
3. The change of the seconds cells, frame by frame, is matched against every phase of a
   one-second grid laid on the frames' presentation times; the best phase says where in its
   second each frame was taken (within the interval the frames allow, about a frame or better).
4. The OCR readings give the whole seconds: camera time at frame j = K + phase + pts_j, K voted
   over the readings that are not next to a change.

Nothing here knows the emulator: a real camera's overlay is read the same way, given its layout
(format, corner, text height) from the camera profile.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy as np

from harness.plan.profile import ClockSpec, TextOverlay

log = logging.getLogger(__name__)

WINDOW_S = 10.0  # seconds of the clip's start that are read (the clock check wants the first frame's time)
CROP_SECONDS = 6  # corner crops kept for OCR, about one a second
FIRST_BATCH = 3  # crops read in the first OCR call; the rest only when too few of those parse
OCR_TEXT_H = 32.0  # px: cap height the text is scaled to for Tesseract
CELL_FRAC = 0.25  # change-grid cell size, of the text height
PHASE_STEP_S = 0.001
MIN_CHANGE = 4.0  # grey levels: mean change of the seconds cells when the digits change, at least
CHANGE_OVER_NOISE = 3.0  # and this many times the frames' usual change
TESSERACT_CONFIG = "--psm 6"
#: the device id's second reading: one line, only the characters serials are made of
SERIAL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./"
SERIAL_CONFIG = f"--psm 7 -c tessedit_char_whitelist={SERIAL_CHARS}"
#: s per Tesseract call: a clean sheet of a few lines reads in about 0.2 s alone and several times that on
#: a loaded machine; noise can take seconds (the bound keeps a pathological image from stalling a clip)
OCR_TIMEOUT_S = 8.0

#: digits as OCR may misread them in a digit field, and what they are
_DIGIT_LIKE = "0-9OoDIl|SB"
_TO_DIGIT = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1", "S": "5", "B": "8"})
_FIELDS = {
    "Y": rf"[{_DIGIT_LIKE}]{{4}}",
    "y": rf"[{_DIGIT_LIKE}]{{2}}",
    "m": rf"[{_DIGIT_LIKE}]{{1,2}}",
    "d": rf"[{_DIGIT_LIKE}]{{1,2}}",
    "H": rf"[{_DIGIT_LIKE}]{{1,2}}",
    "I": rf"[{_DIGIT_LIKE}]{{1,2}}",
    "M": rf"[{_DIGIT_LIKE}]{{2}}",
    "S": rf"[{_DIGIT_LIKE}]{{2}}",
    "j": rf"[{_DIGIT_LIKE}]{{3}}",
    "p": r"[AaPp][Mm]",
    "b": r"[A-Za-z]{3}",
    "B": r"[A-Za-z]{3,9}",
    "a": r"[A-Za-z]{3}",
    "A": r"[A-Za-z]{6,9}",
}
_NUMERIC = set("YymdHIMSj")
_SEPARATOR = r"\s*[:;.,\-/]\s*"  # OCR confuses ':' '.' ';' and spacing around them


def burned_in_spec(clock: ClockSpec) -> str | TextOverlay | None:
    """What the clip analysis needs to read a camera's burned-in clock: a reader name or the overlay layout."""
    if clock.burned_in == "text":
        return clock.overlay or TextOverlay()
    return clock.burned_in


@dataclass(frozen=True)
class OverlayFormat:
    """The profile's strftime format as a pattern that tolerates OCR's usual slips, and back."""

    spec: TextOverlay
    pattern: re.Pattern[str] = field(init=False)
    parts: tuple[tuple[str, str], ...] = field(init=False)  # ("lit", text) or ("dir", letter)

    def __post_init__(self) -> None:
        parts: list[tuple[str, str]] = []
        regex = []
        fmt, i = self.spec.format, 0
        seen: set[str] = set()
        while i < len(fmt):
            ch = fmt[i]
            if ch == "%" and i + 1 < len(fmt) and fmt[i + 1] != "%":
                letter = fmt[i + 1]
                if letter not in _FIELDS:
                    raise ValueError(f"overlay format {fmt!r}: %{letter} cannot be read back")
                parts.append(("dir", letter))
                regex.append(f"(?P<{letter}>{_FIELDS[letter]})" if letter not in seen else _FIELDS[letter])
                seen.add(letter)
                i += 2
                continue
            if ch == "%":
                i += 1  # '%%' is a literal '%'
            parts.append(("lit", fmt[i]))
            if fmt[i].isspace():
                regex.append(r"\s*")
            elif fmt[i].isalnum():
                regex.append(re.escape(fmt[i]))
            else:
                regex.append(_SEPARATOR)
            i += 1
        object.__setattr__(self, "parts", tuple(parts))
        object.__setattr__(self, "pattern", re.compile("".join(regex)))

    def parse(self, line: str) -> tuple[float, re.Match[str]] | None:
        """UTC seconds of the first time in ``line`` that parses with the format (read as local time in
        the overlay's ``time_zone``), and its match; else None."""
        for match in self.pattern.finditer(line):
            canonical = []
            for kind, text in self.parts:
                if kind == "lit":
                    canonical.append(text)
                else:
                    value = match.group(text)
                    canonical.append(value.translate(_TO_DIGIT) if text in _NUMERIC else value)
            try:
                when = datetime.strptime("".join(canonical), self.spec.format)
            except ValueError:
                continue
            return when.replace(tzinfo=self.spec.zone).timestamp(), match  # local time as the camera printed it
        return None


@dataclass
class OverlayReading:
    """What the overlay gave for one clip, with the cost of reading it."""

    samples: list[tuple[int, float]] = field(default_factory=list)  # (frame index, camera UTC seconds)
    serial: str | None = None
    findings: list[str] = field(default_factory=list)
    ocr_calls: int = 0
    ocr_s: float = 0.0
    lines_read: int = 0
    lines_parsed: int = 0
    phase_width_s: float | None = None  # width of the interval the frame timing leaves for the phase


@dataclass
class _Line:
    """One parsed OCR line: which kept crop, its value, where its seconds digits are (crop pixels)."""

    crop: int
    utc_s: float
    serial: str | None
    seconds_x: tuple[float, float] | None
    seconds_y: tuple[float, float] | None
    serial_box: tuple[int, int, int, int] | None = None  # the device id's word on the sheet: left, top, w, h


class OverlayTextProbe:
    """Reads the camera clock from a burned-in text overlay: a frame probe, then :meth:`finish`."""

    def __init__(self, spec: TextOverlay, window_s: float = WINDOW_S) -> None:
        self.spec = spec
        self.format = OverlayFormat(spec)
        self.window_s = window_s
        self._box: tuple[int, int, int, int] | None = None  # corner crop x0, y0, x1, y1 in the frame
        self._grid: tuple[int, int] = (1, 1)
        self._text_h = 1.0
        self._prev: np.ndarray | None = None
        self._pts0: float | None = None
        self._frames: list[tuple[int, float]] = []  # (index, pts) of the frames in the window
        self._changes: list[np.ndarray] = []  # cell grid of |frame - previous|, for frames 1.. of the window
        self._crops: list[tuple[int, float, np.ndarray]] = []  # (index, pts, crop) kept for OCR
        self._first: tuple[int, float, np.ndarray] | None = None
        self._stride = 1
        self._next_crop_s = 0.5

    # -- the decoding pass --------------------------------------------------------------------
    def _setup(self, width: int, height: int) -> None:
        text_h = max(4.0, self.spec.height_frac * height)
        chars = len(datetime(2026, 12, 31, 23, 59, 59).strftime(self.spec.format)) + (18 if self.spec.device_id else 0)
        crop_w = min(width, round(1.1 * chars * text_h + 0.06 * height))
        crop_h = min(height, round(3.0 * text_h + 0.08 * height))
        x0 = 0 if self.spec.corner.endswith("left") else width - crop_w
        y0 = 0 if self.spec.corner.startswith("top") else height - crop_h
        self._box = (x0, y0, x0 + crop_w, y0 + crop_h)
        cell = max(2.0, CELL_FRAC * text_h)
        self._grid = (max(1, round(crop_w / cell)), max(1, round(crop_h / cell)))
        self._text_h = text_h
        # the change grid is taken from every n-th pixel: digits ~12 px tall are plenty to see them change
        self._stride = max(1, int(text_h / 12))

    def observe(self, index: int, pts_s: float, gray: np.ndarray) -> None:
        if self._box is None:
            self._setup(gray.shape[1], gray.shape[0])
            self._pts0 = pts_s
        assert self._box is not None and self._pts0 is not None
        since = pts_s - self._pts0
        if since > self.window_s:
            return
        x0, y0, x1, y1 = self._box
        n = self._stride
        sampled = gray[y0:y1:n, x0:x1:n]
        if self._prev is not None:
            diff = cv2.absdiff(sampled, self._prev)
            self._changes.append(cv2.resize(diff, self._grid, interpolation=cv2.INTER_AREA).astype(np.float32))
        self._prev = sampled.copy()
        if not self._frames or (since >= self._next_crop_s and len(self._crops) < CROP_SECONDS):
            crop = (index, pts_s, gray[y0:y1, x0:x1].copy())
            if self._frames:
                self._crops.append(crop)
                self._next_crop_s = since + 1.0
            else:
                self._first = crop
        self._frames.append((index, pts_s))

    # -- after the pass -------------------------------------------------------------------------
    def finish(self, frame_period_s: float | None = None) -> OverlayReading:
        """Read the kept crops, find the seconds' phase, and give the camera time of the window's frames."""
        out = OverlayReading()
        if not self._frames:
            out.findings.append("overlay clock: no frames to read")
            return out
        if not self._crops and self._first is not None:  # a clip shorter than half a second: its first frame
            self._crops.append(self._first)
        lines = self._ocr(self._crops[:FIRST_BATCH], out)
        if len(lines) < 2 and len(self._crops) > FIRST_BATCH:
            lines += self._ocr(self._crops[FIRST_BATCH:], out, first=FIRST_BATCH)
        if not lines:
            out.findings.append(
                f"overlay clock: no line of {out.lines_read} read by OCR parsed as {self.spec.format!r} "
                f"in the {self.spec.corner} corner; camera time not read from the overlay"
            )
            return out
        serials = Counter(line.serial for line in lines if line.serial)
        if serials:
            out.serial = serials.most_common(1)[0][0]
        elif self.spec.device_id:
            out.findings.append("overlay clock: no device id read after the time")
        log.debug(
            "overlay OCR: %d calls, %.0f ms, %d of %d lines parsed",
            out.ocr_calls,
            out.ocr_s * 1000,
            out.lines_parsed,
            out.lines_read,
        )
        period = frame_period_s or _median_period(self._frames)
        phase = self._phase(lines, out)
        if phase is None:
            out.samples = [(self._crops[line.crop][0], line.utc_s + 0.5) for line in lines]
            out.findings.append(
                "overlay clock: the seconds were not seen to change; camera time known to half a second only"
            )
            return out
        mid, width = phase
        out.phase_width_s = width
        margin = width / 2 + 0.5 * period
        votes: Counter[float] = Counter()
        for line in lines:
            u = mid + self._crops[line.crop][1]
            frac = u - np.floor(u)
            if margin < frac < 1 - margin:
                votes[line.utc_s - float(np.floor(u))] += 1
        if not votes:
            out.findings.append("overlay clock: every reading was next to a change of the seconds; not used")
            return out
        (base, count), *rest = votes.most_common()
        if rest:
            out.findings.append(
                f"overlay clock: OCR readings disagree ({count} of {sum(votes.values())} agree); the majority is used"
            )
            if rest[0][1] == count:
                out.findings.append("overlay clock: no majority among the OCR readings; camera time not read")
                return out
        out.samples = [(index, base + mid + pts) for index, pts in self._frames]
        return out

    def _ocr(self, crops: list[tuple[int, float, np.ndarray]], out: OverlayReading, first: int = 0) -> list[_Line]:
        """One Tesseract call over the stacked, cleaned crops; the lines that parse."""
        import pytesseract

        scale = OCR_TEXT_H / self._text_h
        gap = round(OCR_TEXT_H)
        pieces, offsets, lefts, y = [], [], [], gap
        for _, _, crop in crops:
            image, left = _clean(crop, scale, pad=gap // 2)
            offsets.append(y)
            lefts.append(left)
            pieces.append(image)
            y += image.shape[0] + gap
        width = max(p.shape[1] for p in pieces) + 2 * gap
        sheet = np.full((y, width), 255, np.uint8)
        for image, top in zip(pieces, offsets):
            sheet[top : top + image.shape[0], gap : gap + image.shape[1]] = image
        # Tesseract's OpenMP threads only contend with the decoding and the emulator on a busy PC
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        started = time.perf_counter()
        try:
            data = pytesseract.image_to_data(
                sheet, config=TESSERACT_CONFIG, output_type=pytesseract.Output.DICT, timeout=OCR_TIMEOUT_S
            )
        except pytesseract.TesseractNotFoundError:
            out.findings.append("overlay clock: Tesseract is not installed (Debian package tesseract-ocr)")
            return []
        except (pytesseract.TesseractError, RuntimeError, OSError) as exc:
            out.findings.append(f"overlay clock: OCR failed ({type(exc).__name__}: {exc})")
            return []
        finally:
            out.ocr_calls += 1
            out.ocr_s += time.perf_counter() - started
        words: dict[tuple[int, int, int], list[tuple[str, int, int, int, int]]] = {}
        for k, text in enumerate(data["text"]):
            text = (text or "").strip()
            if not text:
                continue
            key = (data["block_num"][k], data["par_num"][k], data["line_num"][k])
            words.setdefault(key, []).append(
                (text, data["left"][k], data["top"][k], data["width"][k], data["height"][k])
            )
        lines: list[_Line] = []
        for line_words in words.values():
            out.lines_read += 1
            centre = float(np.median([top + h / 2 for _, _, top, _, h in line_words]))
            which = next(
                (i for i, top in enumerate(offsets) if top - gap / 2 <= centre < top + pieces[i].shape[0] + gap / 2),
                None,
            )
            if which is None:
                continue
            parsed = self._line(line_words, which + first, (gap - lefts[which], offsets[which]), scale)
            if parsed is not None and all(line.crop != parsed.crop for line in lines):
                out.lines_parsed += 1
                lines.append(parsed)
        self._reread_serials(sheet, lines, out)
        return lines

    def _reread_serials(self, sheet: np.ndarray, lines: list[_Line], out: OverlayReading) -> None:
        """Read the device id of ``lines`` again, cut from ``sheet``, in one single-line call limited to
        :data:`SERIAL_CHARS`; a line keeps its first reading when this one gives no word where it sat."""
        boxed = [line for line in lines if line.serial_box is not None]
        if not boxed:
            return
        import pytesseract

        pad, gap = round(OCR_TEXT_H / 2), round(2 * OCR_TEXT_H)
        cuts, spans = [], []
        x = gap
        for line in boxed:
            assert line.serial_box is not None
            left, top, w, h = line.serial_box
            cut = sheet[max(0, top - pad) : top + h + pad, max(0, left - pad) : left + w + pad]
            cuts.append(cut)
            spans.append((x, x + cut.shape[1]))
            x += cut.shape[1] + 2 * gap
        row = np.full((max(c.shape[0] for c in cuts) + 2 * gap, x), 255, np.uint8)
        for cut, (a, b) in zip(cuts, spans):
            row[gap : gap + cut.shape[0], a:b] = cut
        started = time.perf_counter()
        try:
            data = pytesseract.image_to_data(
                row, config=SERIAL_CONFIG, output_type=pytesseract.Output.DICT, timeout=OCR_TIMEOUT_S
            )
        except (pytesseract.TesseractError, RuntimeError, OSError) as exc:
            out.findings.append(f"overlay clock: second reading of the device id failed ({type(exc).__name__}: {exc})")
            return
        finally:
            out.ocr_calls += 1
            out.ocr_s += time.perf_counter() - started
        read: list[list[str]] = [[] for _ in boxed]
        for k, text in enumerate(data["text"]):
            text = (text or "").strip()
            centre = data["left"][k] + data["width"][k] / 2
            which = next((i for i, (a, b) in enumerate(spans) if a - gap <= centre < b + gap), None)
            if text and which is not None:
                read[which].append(text)
        for line, words in zip(boxed, read):
            if len(words) == 1:
                line.serial = words[0]

    def _line(
        self, words: list[tuple[str, int, int, int, int]], crop: int, origin: tuple[int, int], scale: float
    ) -> _Line | None:
        """The line's time and serial if it parses; ``origin``: where the crop's (0, 0) is on the sheet."""
        left0, top = origin
        text, starts = "", []
        for word, *_ in words:
            starts.append(len(text))
            text += word + " "
        parsed = self.format.parse(text)
        if parsed is None:
            return None
        utc_s, match = parsed
        serial, serial_box = None, None
        if self.spec.device_id:
            rest = text[match.end() :].split()
            serial = rest[0] if rest else None
            # the word the id starts, when the time ended before it (its box is read again on its own)
            after = [(w, box) for (w, *box), start in zip(words, starts) if start >= match.end()]
            if serial is not None and after and after[0][0] == serial:
                left, wtop, w, h = after[0][1]
                serial_box = (left, wtop, w, h)
        seconds_x = seconds_y = None
        if "S" in match.re.groupindex:
            a, b = match.span("S")
            for (word, left, wtop, w, h), start in zip(words, starts):
                if start <= a < start + len(word):
                    per = w / max(1, len(word))
                    lo = left + per * (a - start - 0.5)
                    hi = left + per * (b - start + 0.5)
                    seconds_x = ((lo - left0) / scale, (hi - left0) / scale)
                    seconds_y = ((wtop - top) / scale, (wtop + h - top) / scale)
                    break
        return _Line(crop, utc_s, serial, seconds_x, seconds_y, serial_box)

    def _phase(self, lines: list[_Line], out: OverlayReading) -> tuple[float, float] | None:
        """Where in its second frame 0's pts falls on the camera clock: (mid, width) of the best interval."""
        located = [line for line in lines if line.seconds_x and line.seconds_y]
        if not located or not self._changes:
            return None
        assert self._box is not None
        x0, y0, x1, y1 = self._box
        sx = self._grid[0] / (x1 - x0)
        sy = self._grid[1] / (y1 - y0)
        lo_x = np.median([line.seconds_x[0] for line in located if line.seconds_x])
        hi_x = np.median([line.seconds_x[1] for line in located if line.seconds_x])
        lo_y = np.median([line.seconds_y[0] for line in located if line.seconds_y])
        hi_y = np.median([line.seconds_y[1] for line in located if line.seconds_y])
        cx0, cx1 = max(0, int(lo_x * sx)), min(self._grid[0], int(np.ceil(hi_x * sx)))
        cy0, cy1 = max(0, int(lo_y * sy)), min(self._grid[1], int(np.ceil(hi_y * sy)))
        if cx1 <= cx0 or cy1 <= cy0:
            return None
        change = np.array([c[cy0:cy1, cx0:cx1].mean() for c in self._changes], np.float64)
        pts = np.array([p for _, p in self._frames], np.float64)
        after, before = pts[1:], pts[:-1]
        seconds = max(1, int(pts[-1] - pts[0]))
        cap = np.sort(change)[-seconds:].min() if change.size >= seconds else change.max()
        weight = np.minimum(change, cap)
        grid = np.arange(0.0, 1.0, PHASE_STEP_S)
        ticks = np.floor(grid[:, None] + after[None, :]) != np.floor(grid[:, None] + before[None, :])
        scores = ticks @ weight
        best = int(np.argmax(scores))
        boundary = ticks[best]
        if not boundary.any():
            return None
        at_change = float(change[boundary].mean())
        usual = float(np.median(change[~boundary])) if (~boundary).any() else 0.0
        if at_change < max(MIN_CHANGE, CHANGE_OVER_NOISE * usual):
            out.findings.append(
                f"overlay clock: the seconds digits change by {at_change:.1f} grey levels, "
                f"too little over the frames' usual {usual:.1f}"
            )
            return None
        same = np.isclose(scores, scores[best], rtol=0, atol=1e-6 * max(1.0, scores[best]))
        # the run of equally good phases around the best one, on a circle
        n = grid.size
        lo = hi = best
        while same[(lo - 1) % n] and (best - lo) < n - 1:
            lo -= 1
        while same[(hi + 1) % n] and (hi - lo) < n - 1:
            hi += 1
        width = (hi - lo + 1) * PHASE_STEP_S
        mid = (lo * PHASE_STEP_S + hi * PHASE_STEP_S + PHASE_STEP_S) / 2 % 1.0
        return float(mid), float(width)


def _clean(crop: np.ndarray, scale: float, pad: int) -> tuple[np.ndarray, int]:
    """Scale the text to OCR size and binarise it dark on light, as Tesseract reads best; cut to the
    columns with ink (plus ``pad``), since Tesseract's time grows with the image. Returns the image
    and the scaled crop's column it starts at."""
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    image = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=interpolation)
    # white top-hat: keeps bright strokes thinner than half the text height, drops bright areas
    # (a lit display, sky) that would otherwise be cut as one blot of ink
    size = max(3, round(OCR_TEXT_H / 2)) | 1
    strokes = cv2.morphologyEx(image, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    _, binary = cv2.threshold(strokes, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    inked = np.flatnonzero((binary < 128).any(axis=0))
    if inked.size == 0:
        return binary, 0
    x0, x1 = max(0, int(inked[0]) - pad), min(binary.shape[1], int(inked[-1]) + 1 + pad)
    return binary[:, x0:x1], x0


def _median_period(frames: list[tuple[int, float]]) -> float:
    pts = np.array([p for _, p in frames])
    return float(np.median(np.diff(pts))) if pts.size > 1 else 1 / 30
