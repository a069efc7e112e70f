"""How much more a camera's encoder spends on the busy scene than on the standard one.

A camera that keeps its pre-event buffer in storage of a fixed size (Axis W100 family) holds
fewer seconds when the encoder spends more bits per second. The emulated camera models that with
one figure per scene variant, ``harness.scene.busy.BITRATE_FACTOR``; this script measures it.

Each variant is filmed through the emulated camera's capture model (moderate realism, as CI
runs it) at 30 fps for ``--seconds`` and encoded with x264 at the emulated camera's preset
(ultrafast, one thread) at constant quality (CRF 23: a camera's VBR spends what the picture
needs), and for comparison with x265 (HEVC). Prints the bitrate of each and the busy/standard
ratio; the figure kept in the scene is the H.264 ratio, rounded.

    .venv/bin/python benchmarks/bench_scene_bitrate.py [--seconds 10] [--sizes 640x360,1280x720]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.emulator.capture import LEVELS, CaptureModel
from harness.scene.busy import BITRATE_FACTOR, SceneVariant
from harness.scene.compose import Scene
from harness.scene.video import yuv420_frame

FPS = 30
ENCODERS = {
    "h264": ("libx264", {"preset": "ultrafast", "threads": "1", "crf": "23"}),
    "hevc": ("libx265", {"preset": "ultrafast", "crf": "26", "x265-params": "log-level=error:pools=1:frame-threads=1"}),
}


def bitrate_kbps(variant: SceneVariant, size: tuple[int, int], seconds: float, codec: str, folder: Path) -> float:
    """Encoded bitrate of ``seconds`` of ``variant`` filmed at ``size`` (kbit/s)."""
    width, height = size
    scene = Scene(width, height, 60.0, run_id=7, variant=variant)
    camera = CaptureModel(scene, size, FPS, LEVELS["moderate"], seed=11)
    encoder, options = ENCODERS[codec]
    out = folder / f"{variant}-{codec}-{width}x{height}.mp4"
    with av.open(str(out), "w") as container:
        stream = container.add_stream(encoder, rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = dict(options)
        for k in range(round(seconds * FPS)):
            frame = yuv420_frame(camera.capture(5.0 + k / FPS))
            frame.pts = k
            frame.time_base = Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.stat().st_size * 8 / 1000 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sizes", default="640x360,1280x720")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    print(f"{'size':>10} {'codec':>5} {'standard kbps':>14} {'busy kbps':>10} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for codec in ENCODERS:
                std = bitrate_kbps("standard", size, args.seconds, codec, Path(tmp))  # type: ignore[arg-type]
                busy = bitrate_kbps("busy", size, args.seconds, codec, Path(tmp))  # type: ignore[arg-type]
                print(f"{size[0]:>5}x{size[1]:<4} {codec:>5} {std:>14.0f} {busy:>10.0f} {busy / std:>6.2f}")
    print(f"figure kept in harness/scene/busy.py: BITRATE_FACTOR['busy'] = {BITRATE_FACTOR['busy']}")


if __name__ == "__main__":
    main()
