"""``bwc analyze``: analyse clips without a rig."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from harness.cli.common import FINITE, POSITIVE, REFRESH, console, num


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``analyze`` verb and its options."""
    p = sub.add_parser("analyze", help="analyse clips without a rig")
    p.add_argument("clips", nargs="+", metavar="CLIP")
    p.add_argument("--press-at", type=FINITE, help="activation time, seconds of scene reference time")
    p.add_argument("--refresh", type=REFRESH, default=60.0, help="display refresh of the filmed scene (Hz)")
    p.add_argument("--json", action="store_true", help="print the analysis record as JSON")
    p.add_argument(
        "--burned-in",
        choices=["bits", "text"],
        help="also read the camera's burned-in timestamp: 'bits' (the emulator's strip) or 'text' (its date and "
        "time overlay, by OCR)",
    )
    p.add_argument(
        "--overlay-format", default="%Y-%m-%d %H:%M:%S", help="with --burned-in text: the overlay's strftime layout"
    )
    p.add_argument(
        "--overlay-corner",
        choices=["top-left", "top-right", "bottom-left", "bottom-right"],
        default="top-left",
        help="with --burned-in text: the corner the overlay sits in",
    )
    p.add_argument(
        "--overlay-device-id",
        action="store_true",
        help="with --burned-in text: the overlay prints a serial after the time",
    )
    p.add_argument(
        "--present-log",
        metavar="CSV",
        help="a bench display's display_present_log.csv (run evidence): reference time = the time each "
        "frame was really shown, on the harness clock (--press-at then on that clock too)",
    )
    p.add_argument(
        "--timeout", type=POSITIVE, help="time bound per clip in seconds (default: grows with the file size)"
    )
    p.set_defaults(run=analyze)


def analyze(args: argparse.Namespace) -> int:
    from harness.analysis.bounded import analyse_clip_bounded, clip_verdict
    from harness.plan.profile import TextOverlay

    burned_in: str | TextOverlay | None = args.burned_in
    if burned_in == "text":
        burned_in = TextOverlay(
            format=args.overlay_format, corner=args.overlay_corner, device_id=args.overlay_device_id
        )
    # each clip in a child process with a time bound: a broken one gets its verdict, the next is analysed
    results = [
        analyse_clip_bounded(c, args.refresh, burned_in, args.press_at, timeout_s=args.timeout) for c in args.clips
    ]
    if args.present_log:
        from harness.analysis.present import at_present_times
        from harness.devices.display import read_present_log

        try:
            shown = read_present_log(Path(args.present_log), args.refresh)
        except ValueError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            return 2
        at_present_times(results, shown, None, args.refresh)
    if args.json:
        print(json.dumps({"clips": [{**r.model_dump(), "verdict": clip_verdict(r)} for r in results]}, indent=2))
    else:
        table = Table(title="clip analysis")
        for col in (
            "clip",
            "frames",
            "decoded",
            "blended",
            "first ref s",
            "last ref s",
            "gaps",
            "dups",
            "pre-roll s",
            "verdict",
        ):
            table.add_column(col)
        for r in results:
            table.add_row(
                escape(Path(r.path).name),
                num(r.frames),
                num(r.decoded),
                num(r.blended),
                num(r.first_ref_s),
                num(r.last_ref_s),
                str(r.missing_frames),
                str(r.duplicated_frames),
                num(r.preroll_s),
                escape(clip_verdict(r)),
            )
        console.print(table)
    return 0 if all(r.error is None for r in results) else 1
