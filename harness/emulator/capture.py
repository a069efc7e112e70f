"""Capture realism: what a body-worn camera records when it films the display.

The emulated camera's frames should stress the decoder the way a real capture does, so each
frame goes through a small physical model instead of being the display image itself:

* **Geometry.** The display is a plane seen off-axis (yaw and pitch, a little roll) through a
  pinhole lens; the code fills a chosen fraction of the frame width. One homography per camera.
* **Time.** The sensor integrates linear light over its exposure (a fraction of, up to three,
  display refreshes) at the camera's own frame phase; rows are read out top to bottom over
  ``readout_s`` (rolling shutter), so each row integrates its own time window and a refresh that
  lands mid-readout tears the picture between two display frames.
* **Light.** Display EOTF (gamma 2.2) to linear light, exposure gain with a slow auto-exposure
  wander, veiling flare, lens blur (Gaussian, in linear light), then the camera's encoding gamma
  and sensor noise in code values.

Encoding (H.264 at the profile's bitrate) is done by the clip writer, as on a real camera.

Presets: ``moderate`` (CI's default) and ``severe`` (the full ranges a lab may meet). The frame
time ``t`` given to :meth:`CaptureModel.capture` is the exposure midpoint of the frame's centre
row; :meth:`CaptureModel.capture_with_truth` also says which display frames the code band saw,
for benchmarks that count wrong readings.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import cv2
import numpy as np

from harness.scene.compose import Scene
from harness.scene.timecode import DEFAULT_LAYOUT, CodeLayout

if TYPE_CHECKING:
    from harness.plan.profile import CameraProfile

DISPLAY_GAMMA = 2.2
BEZEL_FRAC = 0.03  # dark bezel around the display, fraction of its width
FOCAL_FRAC = 0.6  # focal length / frame width: about 80 degrees horizontal field of view
NOISE_BANK = 8
MIN_RENDER_WIDTH = 320  # the smallest display rendering the layout draws cleanly


@dataclass(frozen=True)
class CaptureLevel:
    """Ranges the per-camera capture parameters are drawn from (uniformly, with a seed)."""

    name: str
    code_width: tuple[float, float] = (0.5, 0.5)  # fraction of frame width the code fills
    off_axis_deg: float = 0.0  # largest |yaw| and |pitch|
    roll_deg: float = 0.0
    blur_px: tuple[float, float] = (0.0, 0.0)  # Gaussian sigma, camera pixels
    noise: tuple[float, float] = (0.0, 0.0)  # sensor noise sigma, 8-bit code values
    gain: tuple[float, float] = (1.0, 1.0)  # exposure gain (1 = white at full scale)
    ae_drift: float = 0.0  # relative amplitude of the slow auto-exposure wander
    ae_period_s: tuple[float, float] = (6.0, 20.0)
    gamma: tuple[float, float] = (DISPLAY_GAMMA, DISPLAY_GAMMA)  # camera encoding gamma
    flare: tuple[float, float] = (0.0, 0.0)  # veiling glare, fraction of white
    exposure_refreshes: tuple[float, float] = (0.02, 0.02)  # exposure, in display refreshes
    readout_s: tuple[float, float] = (0.0, 0.0)  # rolling-shutter readout of the whole frame


IDEAL = CaptureLevel("ideal")
MODERATE = CaptureLevel(
    "moderate",
    code_width=(0.40, 0.60),
    off_axis_deg=15.0,
    roll_deg=3.0,
    blur_px=(0.4, 1.0),
    noise=(1.0, 3.0),
    gain=(0.5, 1.0),
    ae_drift=0.15,
    gamma=(2.0, 2.4),
    flare=(0.0, 0.03),
    exposure_refreshes=(0.5, 1.5),
    readout_s=(0.005, 0.015),
)
SEVERE = CaptureLevel(
    "severe",
    code_width=(0.20, 0.60),
    off_axis_deg=30.0,
    roll_deg=5.0,
    blur_px=(0.8, 1.6),
    noise=(3.0, 6.0),
    gain=(0.35, 1.0),
    ae_drift=0.25,
    gamma=(1.8, 2.6),
    flare=(0.01, 0.06),
    exposure_refreshes=(0.5, 2.0),
    readout_s=(0.015, 0.030),
)
LEVELS = {"moderate": MODERATE, "severe": SEVERE, "ideal": IDEAL}

#: the degradations of the robustness table, as the level fields each one sets
DEGRADATIONS: dict[str, tuple[str, ...]] = {
    "perspective": ("code_width", "off_axis_deg", "roll_deg"),
    "lens blur": ("blur_px",),
    "sensor noise": ("noise",),
    "exposure gain + AE drift": ("gain", "ae_drift"),
    "gamma + flare": ("gamma", "flare"),
    "exposure blends": ("exposure_refreshes",),
    "rolling shutter": ("readout_s",),
}


def only(degradation: str, level: CaptureLevel = SEVERE) -> CaptureLevel:
    """The ideal capture with one degradation of the robustness table taken from ``level``."""
    names = DEGRADATIONS[degradation]
    return replace(IDEAL, name=f"{degradation} ({level.name})", **{n: getattr(level, n) for n in names})


@dataclass(frozen=True)
class CaptureDraw:
    """One camera's drawn capture parameters (fixed for the camera's life)."""

    code_width: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    blur_px: float
    noise: float
    gain: float
    ae_drift: float
    ae_period_s: float
    ae_phase: float
    gamma: float
    flare: float
    exposure_s: float
    readout_s: float
    centre: tuple[float, float]  # display centre in the frame, fractions of width / height


def draw(level: CaptureLevel, fps: float, refresh_hz: float, rng: random.Random) -> CaptureDraw:
    """Draw one camera's parameters from ``level`` (exposure capped at the frame period)."""
    u = rng.uniform
    period = 1.0 / fps
    exposure = min(u(*level.exposure_refreshes) / refresh_hz, 0.98 * period)
    readout = min(u(*level.readout_s), period - exposure) if level.readout_s[1] > 0 else 0.0
    return CaptureDraw(
        code_width=u(*level.code_width),
        yaw_deg=u(-level.off_axis_deg, level.off_axis_deg),
        pitch_deg=u(-level.off_axis_deg, level.off_axis_deg) * 0.5,
        roll_deg=u(-level.roll_deg, level.roll_deg),
        blur_px=u(*level.blur_px),
        noise=u(*level.noise),
        gain=u(*level.gain),
        ae_drift=level.ae_drift,
        ae_period_s=u(*level.ae_period_s),
        ae_phase=u(0.0, 2 * math.pi),
        gamma=u(*level.gamma),
        flare=u(*level.flare),
        exposure_s=exposure,
        readout_s=max(0.0, readout),
        centre=(0.5 + u(-0.08, 0.08), 0.5 + u(-0.04, 0.04)),
    )


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def display_homography(
    d: CaptureDraw, display_size: tuple[int, int], frame_size: tuple[int, int], layout: CodeLayout = DEFAULT_LAYOUT
) -> np.ndarray:
    """Homography from display pixels (OpenCV centres) to camera pixels for drawn geometry ``d``."""
    dw, dh = display_size
    fw, fh = frame_size
    f = FOCAL_FRAC * fw
    rot = _rotation(math.radians(d.yaw_deg), math.radians(d.pitch_deg), math.radians(d.roll_deg))
    # display plane in metres-like units: width 1, centred; a point (x, y) of the display is
    # rot @ (x - 0.5, (y - 0.5) * aspect, 0) + (0, 0, z)
    aspect = dh / dw
    z = 2.0
    to_plane = np.array([[1.0 / dw, 0, 0.5 / dw - 0.5], [0, aspect / dh, aspect * (0.5 / dh - 0.5)], [0, 0, 1]])
    k = np.array([[f, 0, fw / 2 - 0.5], [0, f, fh / 2 - 0.5], [0, 0, 1]])
    extr = np.column_stack([rot[:, 0], rot[:, 1], np.array([0.0, 0.0, z])])
    h = k @ extr @ to_plane
    # scale about the frame centre so the code spans the drawn fraction of the width, then move
    # the display centre to its drawn place
    code = layout.anchor_corners().reshape(-1, 2) * [dw, dh] - 0.5
    pts = cv2.perspectiveTransform(code.reshape(-1, 1, 2), h).reshape(-1, 2)
    scale = d.code_width * fw / (pts[:, 0].max() - pts[:, 0].min())
    centre = cv2.perspectiveTransform(np.array([[[dw / 2 - 0.5, dh / 2 - 0.5]]]), h).reshape(2)
    target = np.array([d.centre[0] * fw - 0.5, d.centre[1] * fh - 0.5])
    s = np.array([[scale, 0, target[0] - scale * centre[0]], [0, scale, target[1] - scale * centre[1]], [0, 0, 1]])
    return s @ h


class CaptureModel:
    """Films ``scene`` with one camera's drawn parameters; ``capture(t)`` gives its grey frame."""

    def __init__(
        self,
        scene: Scene,
        frame_size: tuple[int, int],
        fps: float,
        level: CaptureLevel,
        seed: int = 0,
        layout: CodeLayout = DEFAULT_LAYOUT,
    ) -> None:
        self.scene = scene
        self.frame_size = frame_size
        self.fps = fps
        self.level = level
        self.layout = layout
        self.seed = seed
        rng = random.Random(seed)
        self.params = draw(level, fps, scene.refresh_hz, rng)
        fw, fh = frame_size
        p = self.params
        # display frames are shrunk (area filter) to about their size in the frame before warping
        h_full = display_homography(p, (scene.width, scene.height), frame_size, layout)
        corners = np.array(
            [
                [-0.5, -0.5],
                [scene.width - 0.5, -0.5],
                [scene.width - 0.5, scene.height - 0.5],
                [-0.5, scene.height - 0.5],
            ]
        )
        quad = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), h_full).reshape(-1, 2)
        shown_w = max(np.hypot(*(quad[1] - quad[0])), np.hypot(*(quad[2] - quad[3])))
        # the display is rendered directly at about its size in the frame (no resize per frame),
        # but never below what the layout can draw
        self._shrink = min(1.0, max(1.1 * shown_w, MIN_RENDER_WIDTH) / scene.width)
        self._work = (round(scene.width * self._shrink), round(scene.height * self._shrink))
        self._display = (
            scene
            if self._shrink == 1.0
            else type(scene)(
                self._work[0],
                self._work[1],
                scene.refresh_hz,
                run_id=getattr(scene, "run_id", 0),
                utc_origin=getattr(scene, "utc_origin", 0.0),
            )
        )
        pad = max(1, round(BEZEL_FRAC * self._work[0]))
        self._pad = pad
        sx, sy = scene.width / self._work[0], scene.height / self._work[1]
        work_to_scene = np.array([[sx, 0, 0.5 * sx - 0.5 - pad * sx], [0, sy, 0.5 * sy - 0.5 - pad * sy], [0, 0, 1]])
        self.homography = h_full  # display (scene) pixels -> camera pixels
        h_work = h_full @ work_to_scene  # padded working display pixels -> camera pixels
        # the region of the frame the display (with bezel and blur margin) covers
        padded = np.array(
            [
                [-0.5, -0.5],
                [self._work[0] + 2 * pad - 0.5, -0.5],
                [self._work[0] + 2 * pad - 0.5, self._work[1] + 2 * pad - 0.5],
                [-0.5, self._work[1] + 2 * pad - 0.5],
            ]
        )
        pq = cv2.perspectiveTransform(padded.reshape(-1, 1, 2), h_work).reshape(-1, 2)
        margin = int(math.ceil(3 * p.blur_px)) + 2
        x0, y0 = max(0, int(pq[:, 0].min()) - margin), max(0, int(pq[:, 1].min()) - margin)
        x1, y1 = (
            min(fw, int(math.ceil(pq[:, 0].max())) + margin + 1),
            min(fh, int(math.ceil(pq[:, 1].max())) + margin + 1),
        )
        self._roi = (x0, y0, x1, y1)
        self._h_roi = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64) @ h_work
        roi_size = (x1 - x0, y1 - y0)
        # the warp as remap tables, built once (a per-frame warpPerspective recomputes them); float
        # tables: exact sub-pixel positions, and OpenCV remaps float32 images faster from them than
        # from fixed-point (CV_16SC2) tables, whose 1/32-pixel steps also show at sharp edges
        inv = np.linalg.inv(self._h_roi)
        gx, gy = np.meshgrid(np.arange(roi_size[0], dtype=np.float64), np.arange(roi_size[1], dtype=np.float64))
        den = inv[2, 0] * gx + inv[2, 1] * gy + inv[2, 2]
        map_x = ((inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]) / den).astype(np.float32)
        map_y = ((inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]) / den).astype(np.float32)
        self._maps = (map_x, map_y)
        coverage = cv2.warpPerspective(
            np.ones((self._work[1] + 2 * pad, self._work[0] + 2 * pad), np.float32),
            self._h_roi,
            roi_size,
            flags=cv2.INTER_LINEAR,
            borderValue=0,
        )
        room = self._room(np.random.default_rng(seed))  # linear light at gain 1
        self._room_outside = room[y0:y1, x0:x1] * (1.0 - coverage)
        self._room_code = self._encode(room + p.flare)  # code values at gain 1, outside the display
        # camera row of each working display row (at the display's centre column), for the shutter
        rows = np.arange(self._work[1] + 2 * pad, dtype=np.float64)
        centre_col = np.full_like(rows, (self._work[0] + 2 * pad) / 2 - 0.5)
        cam = cv2.perspectiveTransform(np.stack([centre_col, rows], -1).reshape(-1, 1, 2), h_work).reshape(-1, 2)
        self._row_offset = (p.readout_s * ((cam[:, 1] + 0.5) / fh - 0.5)).astype(np.float64)
        band = np.array([layout.band_y0, layout.band_y1]) * self._work[1] + pad
        band_rows = slice(int(band[0]), int(math.ceil(band[1])))
        self._band_offsets = (float(self._row_offset[band_rows].min()), float(self._row_offset[band_rows].max()))
        self._eotf = ((np.arange(256, dtype=np.float32) / 255.0) ** DISPLAY_GAMMA).astype(np.float32)
        noise_rng = np.random.default_rng(seed + 1)
        self._noise = (
            [noise_rng.standard_normal((fh, fw), dtype=np.float32) for _ in range(NOISE_BANK)] if p.noise > 0 else []
        )
        self._outside_cache: dict[tuple[int, int], np.ndarray] = {}
        self._linear_cache: dict[int, np.ndarray] = {}

    # -- static parts ---------------------------------------------------------------------
    def _room(self, rng: np.random.Generator) -> np.ndarray:
        """A dim, smooth room around the display (linear light), with a few soft shapes."""
        fw, fh = self.frame_size
        yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
        room = 0.02 + 0.03 * (yy / fh) + 0.01 * (xx / fw)
        for _ in range(4):
            cx, cy = rng.uniform(0, fw), rng.uniform(0, fh)
            r = rng.uniform(0.05, 0.2) * fw
            room += rng.uniform(0.0, 0.04) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        return room.astype(np.float32)

    def _encode(self, linear: np.ndarray, in_place: bool = False) -> np.ndarray:
        """Camera encoding: linear light -> 8-bit code values (float), gamma 1/gamma; ``in_place``
        overwrites ``linear`` (a per-frame working image) instead of allocating three more."""
        out = np.clip(linear, 0.0, 1.0, out=linear if in_place else None)
        cv2.pow(out, 1.0 / self.params.gamma, dst=out)
        out *= 255.0
        return out

    def _linear(self, n: int) -> np.ndarray:
        """Display frame ``n`` in linear light at working size, with its bezel (small cache)."""
        if self._display is not self.scene and self._display.variant != self.scene.variant:
            self._display.variant = self.scene.variant  # the display shows what the bench's scene shows
            self._linear_cache.clear()
        cached = self._linear_cache.get(n)
        if cached is not None:
            return cached
        pad = self._pad
        image = cv2.copyMakeBorder(self._display.frame(n), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=8)
        linear = cv2.LUT(image, self._eotf)
        if len(self._linear_cache) >= 6:
            self._linear_cache.pop(next(iter(self._linear_cache)))
        self._linear_cache[n] = linear
        return linear

    # -- per frame ------------------------------------------------------------------------
    def gain_at(self, t: float) -> float:
        """Exposure gain at ``t``: the drawn gain with a slow auto-exposure wander."""
        p = self.params
        g = p.gain * (1.0 + p.ae_drift * math.sin(2 * math.pi * t / p.ae_period_s + p.ae_phase))
        return float(min(1.0, max(0.05, g)))

    def _weights(self, t: float, offsets: np.ndarray | tuple[float, float]) -> list[tuple[int, np.ndarray]]:
        """Per display frame, the weight of each row (offset) in an exposure centred on ``t``."""
        refresh = self.scene.refresh_hz
        e = self.params.exposure_s
        off = np.asarray(offsets, dtype=np.float64)
        lo, hi = t + off - e / 2, t + off + e / 2
        presentation = getattr(self.scene, "presentation", None)
        if presentation is not None:  # frames on the panel when the display model says (harness/scene/presentation.py)
            spans = presentation.shown(float(lo.min()), float(hi.max()))
        else:
            first = self.scene.index_at(float(lo.min()))
            last = self.scene.index_at(float(hi.max()) - 1e-9)
            spans = [(n, n / refresh, (n + 1) / refresh) for n in range(first, last + 1)]
        out = []
        for n, on, off in spans:
            overlap = np.clip(np.minimum(hi, off) - np.maximum(lo, on), 0.0, None) / e
            if overlap.max() > 1e-6:
                out.append((n, overlap))
        return out

    def seen(self, t: float) -> tuple[int, ...]:
        """Display frames the fine band's rows integrate in the frame at ``t`` (ground truth)."""
        offsets = np.linspace(*self._band_offsets, 8)
        return tuple(n for n, w in self._weights(t, offsets) if w.max() > 1e-6)

    def capture(self, t: float) -> np.ndarray:
        """The camera's grey frame whose centre row is exposed around scene time ``t``."""
        p = self.params
        weights = self._weights(t, self._row_offset)
        if len(weights) == 1 and weights[0][1].min() > 1 - 1e-6:
            display = self._linear(weights[0][0])
        else:  # the rows' exposure-weighted sum of the display frames, without temporaries
            (n0, w0), *rest = weights
            display = np.multiply(self._linear(n0), w0.astype(np.float32)[:, None])
            scratch = np.empty_like(display)
            for n, w in rest:
                display += np.multiply(self._linear(n), w.astype(np.float32)[:, None], out=scratch)
        x0, y0, x1, y1 = self._roi
        roi: np.ndarray = cv2.remap(
            display, self._maps[0], self._maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        roi += self._room_outside
        gain = self.gain_at(t)
        roi *= gain
        roi += p.flare * gain
        if p.blur_px > 0:
            roi = cv2.GaussianBlur(roi, (0, 0), p.blur_px)
        roi = self._encode(roi, in_place=True)
        rng = random.Random(hash((self.seed, round(t * 1e6))))
        which = rng.randrange(NOISE_BANK)
        frame = self._outside(gain, which)
        if self._noise:
            noise = self._noise[which][y0:y1, x0:x1]
            frame[y0:y1, x0:x1] = cv2.addWeighted(roi, 1.0, noise, p.noise, 0.0, dtype=cv2.CV_8U)
        else:
            frame[y0:y1, x0:x1] = cv2.add(roi, 0.0, dtype=cv2.CV_8U)
        return frame

    def _outside(self, gain: float, which: int) -> np.ndarray:
        """A copy of the frame around the display (room, flare, noise field ``which``) at ``gain``.

        Cached per 0.5 % step of gain: auto-exposure moves slowly, so this costs one copy a frame.
        """
        key = (round(gain * 200), which)
        frame = self._outside_cache.get(key)
        if frame is None:
            p = self.params
            scale = (key[0] / 200) ** (1.0 / p.gamma)
            if self._noise:
                fw, fh = self.frame_size
                frame = cv2.addWeighted(
                    self._room_code, scale, self._noise[which][:fh, :fw], p.noise, 0.0, dtype=cv2.CV_8U
                )
            else:
                frame = cv2.addWeighted(self._room_code, scale, self._room_code, 0.0, 0.0, dtype=cv2.CV_8U)
            if len(self._outside_cache) >= 4 * NOISE_BANK:
                self._outside_cache.pop(next(iter(self._outside_cache)))
            self._outside_cache[key] = frame
        return frame.copy()

    def capture_with_truth(self, t: float) -> tuple[np.ndarray, tuple[int, ...]]:
        return self.capture(t), self.seen(t)


def capture_model(profile: CameraProfile, scene: Scene, seed: int = 0) -> CaptureModel | None:
    """The capture model a camera profile asks for, or None when its capture realism is off."""
    spec = profile.emulation.capture
    if spec.level == "off":
        return None
    video = profile.video
    return CaptureModel(scene, profile.written_size, video.fps, LEVELS[spec.level], seed=seed ^ spec.seed)
