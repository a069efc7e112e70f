"""The emulated camera's burned-in text overlay: its own date and time (and serial), as cameras print them.

Body cameras stamp the time of their own clock into every frame in white text on a dark box, in
a corner, truncated to whole seconds. The overlay is drawn here from the camera's clock (offset
and drift included) in an OpenCV Hershey font, the layout taken from the profile's
:class:`~harness.plan.profile.TextOverlay` and sized from the image it is drawn on (the clip may
be written at a smaller size than the camera's own).

The display the camera films keeps its time code in the middle of the frame; a corner box of a
few percent of the frame height covers only the flash strip's edge or the decorative bar.
"""

from __future__ import annotations

from datetime import datetime

import cv2
import numpy as np

from harness.plan.profile import TextOverlay

FONT = cv2.FONT_HERSHEY_SIMPLEX
TEXT_LEVEL = 235  # white text (video range)
BOX_LEVEL = 16  # on a black box
PAD_FRAC = 0.35  # box padding around the text, of the text height
MARGIN_FRAC = 0.02  # box distance from the frame's edges, of the frame height
SERIAL_GAP = "  "  # between the time and the device id


def overlay_text(spec: TextOverlay, when: datetime, serial: str | None) -> str:
    """The line the camera prints at ``when`` (its clock, in UTC): local time in the overlay's zone in
    whole seconds (truncated), then the serial if it prints one."""
    text = when.astimezone(spec.zone).replace(microsecond=0).strftime(spec.format)
    if spec.device_id and serial:
        text += SERIAL_GAP + serial
    return text


class TextOverlayDrawer:
    """Draws the camera's text overlay onto luma frames; one rendered box per distinct line, reused."""

    def __init__(self, spec: TextOverlay) -> None:
        self.spec = spec
        self._cache: tuple[tuple[int, int, str], np.ndarray, tuple[int, int]] | None = None

    def _render(self, text: str, width: int, height: int) -> tuple[np.ndarray, tuple[int, int]]:
        """The box with its text, and where its top-left corner goes in a ``width`` x ``height`` frame."""
        text_h = max(6, round(self.spec.height_frac * height))  # cap height of the digits
        (_, unit_h), _ = cv2.getTextSize("0", FONT, 1.0, 1)
        scale = text_h / unit_h
        thickness = max(1, round(text_h / 9))
        (text_w, cap_h), base = cv2.getTextSize(text, FONT, scale, thickness)
        pad = max(2, round(PAD_FRAC * text_h))
        box = np.full((cap_h + base + 2 * pad, text_w + 2 * pad), BOX_LEVEL, np.uint8)
        cv2.putText(box, text, (pad, pad + cap_h), FONT, scale, TEXT_LEVEL, thickness, cv2.LINE_AA)
        box = box[:, : min(box.shape[1], width)]
        margin = round(MARGIN_FRAC * height)
        bh, bw = box.shape
        x = margin if self.spec.corner.endswith("left") else max(0, width - margin - bw)
        y = margin if self.spec.corner.startswith("top") else max(0, height - margin - bh)
        return box, (x, y)

    def draw(self, gray: np.ndarray, when: datetime, serial: str | None = None) -> np.ndarray:
        """A copy of ``gray`` with the overlay for camera time ``when`` (and ``serial``, if it prints one)."""
        height, width = gray.shape[:2]
        text = overlay_text(self.spec, when, serial)
        key = (width, height, text)
        if self._cache is None or self._cache[0] != key:
            box, at = self._render(text, width, height)
            self._cache = (key, box, at)
        _, box, (x, y) = self._cache
        out = gray.copy()
        bh, bw = box.shape
        out[y : y + bh, x : x + bw] = box[: height - y, : width - x]
        return out
