"""Figures for reading the camera clock from its burned-in text overlay (OCR with Tesseract).

For every camera profile in scenarios/cameras/ whose clock is burned in as text, and for a built-in
set of overlay styles like those of common body cameras (formats, corners, with and without a
device id, 360p to 1080p), the emulated camera records short clips with the profile's overlay,
picture size, frame rate and codec and its clock set 7 s ahead; each clip is then analysed with
the overlay as the only clock in it (no container time, no metadata, no bit strip).

Prints per style: decode time of the clip without the overlay reader, OCR calls and OCR time per
clip and per call, the rest of the reader's cost, the measured clock offset and its error against
the emulator's ground truth (the camera clock at the first frame), and the worst error overall.

    .venv/bin/python benchmarks/bench_ocr.py [--seeds N] [--record-s S] [--profile FILE ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.analysis.clip import analyze_clip
from harness.analysis.overlay_text import OverlayTextProbe
from harness.core.clock import VirtualClock
from harness.core.paths import CAMERAS_DIR
from harness.emulator.camera import EmulatedCamera
from harness.emulator.faults import Behaviour
from harness.plan.profile import CameraProfile, TextOverlay, VideoSpec
from harness.scene.compose import Scene

OFFSET_S = 7.0
REFRESH_HZ = 60.0


@dataclass(frozen=True)
class Style:
    """One overlay to measure: its layout and the video it is printed on."""

    name: str
    overlay: TextOverlay
    video: VideoSpec
    serial: str


#: overlays in the styles of common body cameras (used besides any text-overlay profile in scenarios/cameras/)
BUILT_IN = [
    Style(
        "iso-date top-right, serial (1080p)",
        TextOverlay(format="%Y-%m-%d %H:%M:%S", corner="top-right", height_frac=0.03, device_id=True),
        VideoSpec(width=1920, height=1080, fps=30.0, bitrate_kbps=6000),
        "X60A1234B",
    ),
    Style(
        "US date bottom-left, serial (1080p, 29.97 fps)",
        TextOverlay(format="%m/%d/%Y %H:%M:%S", corner="bottom-left", height_frac=0.035, device_id=True),
        VideoSpec(width=1920, height=1080, fps=30000 / 1001, bitrate_kbps=6000),
        "V300-0042",
    ),
    Style(
        "iso-date bottom-right, no serial (720p, 25 fps)",
        TextOverlay(format="%Y-%m-%d %H:%M:%S", corner="bottom-right", height_frac=0.04),
        VideoSpec(width=1280, height=720, fps=25.0, bitrate_kbps=3000),
        "ACCC8E0001",
    ),
    Style(
        "EU date top-left, serial (360p)",
        TextOverlay(format="%d.%m.%Y %H:%M:%S", corner="top-left", height_frac=0.045, device_id=True),
        VideoSpec(width=640, height=360, fps=30.0, bitrate_kbps=1500),
        "MS-77012",
    ),
]


def profile_styles(paths: list[Path]) -> list[Style]:
    """The text overlays of the camera profiles, at the size their clips are written."""
    out = []
    for path in paths:
        try:
            profile = CameraProfile.load(path)
        except Exception as exc:  # a profile being edited: said, not fatal to the benchmark
            print(f"{path.name}: not loaded ({exc})")
            continue
        if profile.clock.burned_in != "text" or profile.clock.overlay is None:
            continue
        width, height = profile.written_size
        video = profile.video.model_copy(update={"width": width, "height": height})
        out.append(Style(f"profile {path.stem} ({height}p)", profile.clock.overlay, video, profile.serial))
    return out


def camera(style: Style, folder: Path, seed: int) -> EmulatedCamera:
    """The emulated camera (its own gestures and scene) with this overlay and video, clock 7 s ahead."""
    base = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    clock = base.clock.model_copy(
        update={"burned_in": "text", "overlay": style.overlay, "container_time": False, "metadata_key": None}
    )
    emulation = base.emulation.model_copy(update={"clock_offset_s": OFFSET_S})
    profile = base.model_copy(
        update={
            "video": style.video,
            "serial": style.serial,
            "pre_event_buffer_s": 1.0,
            "clock": clock,
            "emulation": emulation,
            "event_marker_key": None,
        }
    )
    scene = Scene(style.video.width, style.video.height, REFRESH_HZ)
    return EmulatedCamera(profile, Behaviour.from_profile(profile), VirtualClock(), scene, folder / "DCIM", seed=seed)


def press(cam: EmulatedCamera, seconds: float) -> None:
    cam.button("event", True)
    cam.clock.sleep(seconds)
    cam.button("event", False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="clips per style (camera frame phase seeds)")
    parser.add_argument("--record-s", type=float, default=1.0, help="recording time after the start gesture")
    parser.add_argument(
        "--profile",
        action="append",
        type=Path,
        help="camera profile file to measure (repeatable; default: every profile in scenarios/cameras/)",
    )
    args = parser.parse_args()
    styles = profile_styles(args.profile or sorted(CAMERAS_DIR.glob("*.yaml"))) + BUILT_IN
    print(f"{len(styles)} overlay styles, {args.seeds} clips each, camera clock {OFFSET_S:+.1f} s")
    header = (
        f"{'style':50} {'frames':>6} {'decode ms':>9} {'OCR calls':>9} {'OCR ms/clip':>11} "
        f"{'ms/call':>8} {'rest ms':>7} {'offset s':>9} {'error ms':>8} serial"
    )
    print(header)
    worst, worst_frames, offset_off, ocr_ms, calls_all = 0.0, 0.0, 0.0, [], []
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for s_index, style in enumerate(styles):
            for seed in range(1, args.seeds + 1):
                cam = camera(style, Path(tmp) / f"{s_index}-{seed}", seed)
                cam.set_power(True)
                cam.clock.sleep(cam.profile.boot_s + 1.3)
                press(cam, 0.15)
                cam.clock.sleep(0.25)
                press(cam, 0.15)
                cam.clock.sleep(args.record_s)
                press(cam, 3.1)
                ev = cam.events[-1]
                assert ev.stop_t is not None
                times = cam.frame_times(ev.clip_start_t, ev.stop_t)
                t0 = time.perf_counter()
                plain = analyze_clip(ev.path, REFRESH_HZ)
                decode_s = time.perf_counter() - t0
                probe = OverlayTextProbe(style.overlay)
                t0 = time.perf_counter()
                clip = analyze_clip(ev.path, REFRESH_HZ, probes=[probe])
                with_probe_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                reading = probe.finish(clip.frame_period_s)
                finish_s = time.perf_counter() - t0
                rest_s = (with_probe_s - decode_s) + (finish_s - reading.ocr_s)
                truth = (cam.rtc(times[0]) - cam.clock.utc(times[0])).total_seconds()
                diffs = [
                    utc - cam.clock.utc(ref).timestamp()
                    for i, utc in reading.samples
                    if (ref := clip.ref_s[i]) is not None
                ]
                if diffs:
                    offset = statistics.median(diffs)
                    error_ms = (offset - truth) * 1000
                    worst = max(worst, abs(error_ms))
                    worst_frames = max(worst_frames, abs(error_ms) / 1000 * style.video.fps)
                    offset_off = max(offset_off, abs(offset - OFFSET_S))
                    shown = f"{offset:9.3f} {error_ms:+8.1f}"
                else:
                    failures += 1
                    shown = f"{'none':>9} {'-':>8}"
                ocr_ms.append(reading.ocr_s * 1000)
                calls_all.append(reading.ocr_calls)
                per_call = reading.ocr_s * 1000 / max(1, reading.ocr_calls)
                serial_ok = "ok" if reading.serial == style.serial else repr(reading.serial)
                if not style.overlay.device_id:
                    serial_ok = "-" if reading.serial is None else repr(reading.serial)
                print(
                    f"{style.name:50} {plain.frames or 0:6d} {decode_s * 1000:9.0f} {reading.ocr_calls:9d} "
                    f"{reading.ocr_s * 1000:11.0f} {per_call:8.0f} {rest_s * 1000:7.0f} {shown} {serial_ok}"
                    + (f"  ({'; '.join(reading.findings)})" if reading.findings else "")
                )
    print(
        f"OCR per clip: median {statistics.median(ocr_ms):.0f} ms, max {max(ocr_ms):.0f} ms; "
        f"calls per clip: median {statistics.median(calls_all):g}, max {max(calls_all)}"
    )
    print(
        f"worst offset error against the emulator's truth: {worst:.1f} ms, {worst_frames:.2f} frames; "
        f"measured offsets within {offset_off:.3f} s of {OFFSET_S:g} s; clips not read: {failures}"
    )


if __name__ == "__main__":
    main()
