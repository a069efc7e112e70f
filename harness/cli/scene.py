"""``bwc scene render``: the scene the display shows, rendered to a file."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from harness.cli.common import FINITE, POSITIVE, REFRESH, console, number


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``scene`` verb and its ``render`` sub-verb."""
    p = sub.add_parser("scene", help="the scene the display shows")
    scene_sub = p.add_subparsers(dest="scene_verb", required=True)
    r = scene_sub.add_parser("render", help="render the ideal scene to a video file or PNG folder")
    r.add_argument("--fps", type=number(0, 1000, above=True), required=True, help="frames per second of the output")
    r.add_argument("--start", type=FINITE, default=0.0, help="scene time of the first frame (s)")
    r.add_argument("--duration", type=POSITIVE, required=True, help="seconds to render")
    r.add_argument("--out", required=True, help="FILE.mp4 (lossless H.264) or a folder for PNG frames")
    r.add_argument("--width", type=number(16, 8192, integer=True), default=1920)
    r.add_argument("--height", type=number(16, 8192, integer=True), default=1080)
    r.add_argument("--refresh", type=REFRESH, default=60.0, help="display refresh the time code counts (Hz)")
    r.add_argument("--codec", choices=["h264", "hevc", "mjpeg"], default="h264", help="video encoder (default h264)")
    r.add_argument(
        "--quality",
        choices=["lossless", "high"],
        default="lossless",
        help="lossless (default) or high quality (wider player support)",
    )
    r.add_argument(
        "--run-id",
        type=number(0, 65535, integer=True),
        default=0,
        help="run id carried in the code's coarse slots (0-65535)",
    )
    r.add_argument(
        "--utc-origin",
        type=number(0),
        default=0.0,
        help="UTC (Unix seconds) of scene time 0, carried in the coarse slots",
    )
    r.add_argument(
        "--scene",
        choices=["standard", "busy"],
        default="standard",
        help="the standard scene, or the busy one a scenario with 'scene: busy' films (default standard)",
    )
    r.set_defaults(run=scene_render)


def scene_render(args: argparse.Namespace) -> int:
    from harness.scene.movie import render_scene

    count = render_scene(
        Path(args.out),
        args.fps,
        args.start,
        args.duration,
        args.width,
        args.height,
        args.refresh,
        run_id=args.run_id,
        utc_origin=args.utc_origin,
        codec=args.codec,
        quality=args.quality,
        variant=args.scene,
    )
    console.print(escape(f"wrote {count} frames to {args.out}"), highlight=False)
    return 0
