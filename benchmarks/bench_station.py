"""A simulated shift: seeded healthy and faulty emulated units through the station on parallel benches.

Every unit runs the acceptance suite (the scenarios tagged ``acceptance``) through ``bwc certify``;
the results go into a fresh SQLite results database. Prints the wall time, units per minute, the
database size, and checks that every faulty unit was rejected with the measurement its fault
breaks (``ACCEPTANCE_FAULTS``) and that no healthy unit was rejected. Exit code 1 when not.

    .venv/bin/python benchmarks/bench_station.py [--units N] [--workers 2] [--seed S] [--faulty-share F]
        [--each-fault] [--profile P] [--out DIR]

The default is a quick run of a few units; ``--units 500`` is the full shift of the figure.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from harness.core.paths import camera_profile_path
from harness.fleet.db.query import lot_units
from harness.fleet.db.store import connect
from harness.fleet.station import ACCEPTANCE_FAULTS, Station, StationConfig, UnitSlot, seeded_units, suite_files
from harness.plan.profile import CameraProfile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=4, help="emulated units (default 4; the figure: 500)")
    parser.add_argument("--workers", type=int, default=2, help="benches in parallel (default 2)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--faulty-share", type=float, default=0.4)
    parser.add_argument(
        "--each-fault",
        action="store_true",
        help="one unit per acceptance fault and one healthy unit (overrides --units)",
    )
    parser.add_argument("--profile", default="emulated")
    parser.add_argument("--out", help="keep the run folders and database here (default: a temporary folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-station-") as tmp:
        root = Path(args.out).resolve() if args.out else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        db_path = root / "bench-station.db"
        engine = connect(f"sqlite:///{db_path}")
        profile = CameraProfile.load(camera_profile_path(args.profile, None))
        units = seeded_units(args.units, args.seed, faulty_share=args.faulty_share)
        if args.each_fault:
            units = [
                UnitSlot(f"EMU-{args.seed:03d}-{i + 1:04d}", (fault,) if fault else (), args.seed * 10_000 + i + 1)
                for i, fault in enumerate(["", *sorted(ACCEPTANCE_FAULTS)])
            ]
            args.units = len(units)
        config = StationConfig(
            profile=args.profile,
            suite=suite_files("acceptance", profile),
            out=root / "units",
            phase="bench",
            lot=f"BENCH-{args.seed}",
            bench="bench",
            operator_name="auto",
            workers=args.workers,
        )
        station = Station(config, None, engine)  # None: the automatic operator of emulated units
        done = [0]

        def progress(event: dict) -> None:
            if event.get("type") == "verdict":
                done[0] += 1
                why = f" ({event['reasons'][0]})" if event.get("reasons") else ""
                faults = ",".join(event.get("faults") or []) or "healthy"
                print(
                    f"[{done[0]}/{args.units}] {event['serial']} [{faults}] {event['verdict'].upper()}"
                    f" in {event['duration_s']:.0f} s{why}",
                    flush=True,
                )

        station.listeners.append(progress)
        print(f"suite: {', '.join(station.scenarios)}; {args.units} unit(s) on {args.workers} bench(es)", flush=True)
        t0 = time.monotonic()
        station.run(units)
        wall = time.monotonic() - t0

        problems = []
        by_serial = {a.serial: a for a in station.latest()}
        for slot in units:
            got = by_serial.get(slot.serial or "")
            if got is None:
                problems.append(f"{slot.serial}: not tested")
                continue
            if slot.faults:
                wanted = {ACCEPTANCE_FAULTS[f] for f in slot.faults}
                if got.verdict != "fail":
                    problems.append(f"{slot.serial} [{','.join(slot.faults)}]: {got.verdict}, expected fail")
                elif not wanted & set(got.failed_quantities):
                    problems.append(
                        f"{slot.serial} [{','.join(slot.faults)}]: failed on {sorted(set(got.failed_quantities))}, "
                        f"not on {sorted(wanted)}"
                    )
            elif got.verdict != "pass":
                problems.append(f"{slot.serial} [healthy]: {got.verdict}: {'; '.join(got.reasons[:2])}")
        stored = lot_units(engine, config.lot or "")
        if len(stored) != len(units):
            problems.append(f"database holds {len(stored)} unit(s) of the lot, not {len(units)}")
        engine.dispose()
        faulty = sum(1 for u in units if u.faults)
        size = db_path.stat().st_size
        print(f"units: {len(units)} ({faulty} faulty, {len(units) - faulty} healthy), workers {args.workers}")
        print(
            f"wall time: {wall:.1f} s; {len(units) / (wall / 60):.2f} units per minute; {wall / len(units):.1f} s per unit"
        )
        print(f"database: {size / 1024:.0f} KiB ({size / len(units) / 1024:.1f} KiB per unit)")
        if args.units < 500:
            est = 500 * wall / len(units)
            print(f"extrapolated (not measured) to 500 units at this rate: {est / 3600:.1f} h")
        for p in problems:
            print(f"PROBLEM: {p}")
        print("all faulty units rejected with the right reason, no healthy one rejected" if not problems else "FAILED")
        return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
