"""``bwc certify --place NAME`` / ``--reserve TAGS [--places N]``: the run on labgrid places.

The places are held for the whole run and released on every way out (harness/devices/labgrid_place.py);
each place becomes a bench rig file under ``--out``/places, and several places run as several
pytest-xdist workers, one per place, exactly as ``--workers N --rig a.yaml --rig b.yaml`` does.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape

from harness.cli.common import console, number


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The place options of ``bwc certify``."""
    g = p.add_argument_group("labgrid places (benches shared through a labgrid coordinator)")
    g.add_argument("--place", metavar="NAME", help="acquire this labgrid place and run on its bench")
    g.add_argument(
        "--reserve",
        metavar="TAGS",
        help="reserve a place with these tags (e.g. model=axon-body-4,photodiode=yes), waiting for one to be free",
    )
    g.add_argument(
        "--places",
        type=number(1, 64, integer=True),
        default=1,
        metavar="N",
        help="with --reserve: up to N matching places at once, one pytest-xdist worker each (default 1)",
    )
    g.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help="labgrid coordinator (default: LG_COORDINATOR, else 127.0.0.1:20408)",
    )


def wants_places(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "place", None) or getattr(args, "reserve", None))


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def certify_on_places(args: argparse.Namespace, run: Callable[[argparse.Namespace], int]) -> int:
    """Hold the places, point the run at their rig files, run, release. Exit 2 with one line when a
    place cannot be had (held by someone, unknown, coordinator down); 130 when interrupted while waiting."""
    from harness.core.config import ConfigError
    from harness.devices.labgrid_place import PlaceError, held_places, parse_tags
    from harness.rig.kinds import load_rig_spec
    from harness.rig.place import write_place_rig

    def fail(message: str) -> int:
        console.print(f"[red]{escape(message)}[/red]", highlight=False, soft_wrap=True)
        return 2

    if args.place and args.reserve:
        return fail("give --place NAME or --reserve TAGS, not both")
    if args.places > 1 and not args.reserve:
        return fail("--places N goes with --reserve TAGS (--place names one place)")
    if len(args.rig) > 1:
        return fail("with a place, at most one --rig: the bench rig file whose calibration the places share")
    if args.workers:
        return fail("with places, the run has one worker per place (--places N), not --workers")
    try:
        tags = parse_tags(args.reserve) if args.reserve else None
        template = base = None
        if args.rig:
            spec, base = load_rig_spec(args.rig[0])
            template = spec.model_dump(mode="json", exclude_none=True)
    except (ValueError, ConfigError) as exc:
        return fail(str(exc))
    camera = args.profile
    if camera and Path(camera).suffix in (".yaml", ".yml"):
        camera = str(Path(camera).resolve())
    out = Path(args.out).resolve()
    try:
        with held_places(args.coordinator, args.place, tags, args.places, say=_say) as places:
            try:
                rigs = [str(write_place_rig(p, out / "places", template, base, camera)) for p in places]
            except (ValueError, OSError) as exc:
                return fail(str(exc))
            args.rig = rigs
            if len(rigs) > 1:
                args.workers = len(rigs)
            return run(args)
    except PlaceError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        _say("interrupted: places released, reservations cancelled")
        return 130
