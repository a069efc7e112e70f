"""Is the stated uncertainty honest? Error against the emulator's ground truth beside the stated U.

Two present-time sources on the same emulated bench, whose display has the realistic presentation
model (harness/scene/presentation.py: a seeded refresh phase and compositor delay, an occasional
late or dropped refresh) that the emulated camera films:

* ``software log``: the display's log of nominal times plus the calibrated mean display latency;
  it cannot see the refresh phase, so its calibration states a refresh-wide uncertainty;
* ``photodiode``: present times rebuilt from the photodiode's light edges on the patch,
  timestamped by the emulated rig controller on its pty (harness/devices/present_photodiode.py).

Seeded emulated takes measure the pre-roll (early activation, a fresh frame phase every power
cycle; each rig seed a fresh display phase and delay) and the A/V offset (the av_sync scenario,
one rig seed each). Per source and measurement it prints the error distribution (mean, standard
deviation, 95th percentile and largest |error|), the stated expanded uncertainty U (k=2), the
coverage (share of takes with |error| <= U, which should be at least 95 %), and the median of
each budget line. ``--display ideal`` runs the ideal display instead (every frame on time).

    .venv/bin/python benchmarks/bench_uncertainty.py [--seeds N] [--takes N] [--av-seeds N]
        [--source 'software log'|photodiode] [--refresh-hz HZ] [--display realistic|ideal]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

from harness.core.measurement import Measurement
from harness.core.paths import RIGS_DIR, SUITE_DIR
from harness.emulator.photodiode import JITTER_S, RESPONSE_S
from harness.emulator.rig import EmulatedRig
from harness.execution.runner import run_scenario
from harness.plan.scenario import Scenario
from harness.plan.takes import preroll_take
from harness.rig.factory import Rig, open_rig
from harness.rig.specs import EmulatedRigSpec
from harness.scene.presentation import COMPOSITOR_S

#: how long each take buffers before the activation (s): around the 45 s of the shipped
#: preroll_early_activation scenario, where the frame phase sweeps the 59.94 Hz refresh almost 3 times
PREROLL_S = [40.0, 50.0]


def take(rng: random.Random, n: int) -> Scenario:
    return preroll_take(f"bench-take-{n}", "Uncertainty take", rng.uniform(*PREROLL_S))


def software_latency_ms(refresh_hz: float) -> tuple[float, float]:
    """The realistic display's latency as a software log's calibration states it: mean and standard
    uncertainty of compositor delay (uniform in its range) plus refresh phase (uniform over a refresh)."""
    lo, hi = COMPOSITOR_S
    period = 1.0 / refresh_hz
    mean = (lo + hi) / 2 + period / 2
    u = math.sqrt((hi - lo) ** 2 / 12 + period**2 / 12)
    return mean * 1000, u * 1000


def calibrations(tmp: Path) -> dict[str, Path]:
    """The built-in calibration as it is (ideal display), or, for the realistic display, the
    software log's mean latency and refresh-wide U, and the photodiode's response and its jitter."""
    base = RIGS_DIR / "emulated-calibration.yaml"
    if DISPLAY["model"] == "ideal":
        data = yaml.safe_load(base.read_text())
        data["calibration"]["present_time"] = "photodiode"
        data["calibration"]["display_latency_ms"].update(uncertainty=0.05, method="photodiode edges")
        photodiode = tmp / "photodiode-calibration.yaml"
        photodiode.write_text(yaml.safe_dump(data))
        return {"software log": base, "photodiode": photodiode}
    out = {}
    mean, u = software_latency_ms(REFRESH.get("refresh_hz", EmulatedRigSpec.model_fields["refresh_hz"].default))
    for source, value, unc, method in (
        ("software log", mean, u, "compositor delay and refresh phase, mean and spread (rectangular)"),
        ("photodiode", -RESPONSE_S * 1000, JITTER_S * 1000, "photodiode response to the comparator edge"),
    ):
        data = yaml.safe_load(base.read_text())
        data["calibration"]["present_time"] = source
        data["calibration"]["display_latency_ms"].update(
            value=round(value, 4), uncertainty=round(unc, 4), method=method
        )
        path = tmp / f"{source.replace(' ', '-')}-calibration.yaml"
        path.write_text(yaml.safe_dump(data))
        out[source] = path
    return out


Row = tuple[float, Measurement]  # (error, measurement)


REFRESH: dict[str, float] = {}  # the rig spec's refresh_hz, when the command line sets one
DISPLAY: dict[str, str] = {"model": "realistic"}  # the emulated display's presentation model


PRESENT: list[tuple[float, float]] = []  # (present-time error, its stated U) per sampled frame, in s


def present_errors(rig: Rig, t0: float, t1: float, stated_u: float) -> None:
    """Every display frame due in [t0, t1) that the panel showed: the rig's present log against the
    presentation model's truth (the instant the frame reached the panel), with the stated U (k=2)."""
    assert isinstance(rig.emulator, EmulatedRig) and rig.display is not None
    truth = rig.emulator.scene.presentation
    if truth is None:
        return
    r = rig.refresh_hz
    for n in range(math.ceil(t0 * r), math.floor(t1 * r)):
        on = truth.on_panel(n)
        if on is not None:
            PRESENT.append((rig.display.log.to_present(n / r) - on, stated_u))


def present_summary() -> None:
    if not PRESENT:
        return
    err = np.array([e for e, _ in PRESENT]) * 1000
    u = np.array([u for _, u in PRESENT]) * 1000
    cover = float(np.mean(np.abs(err) <= u)) * 100
    print(
        f"  {'present time (frames)':22s} n={err.size:5d} error mean {err.mean():+6.2f} ms  sd {err.std():5.2f}  "
        f"p95 |e| {np.percentile(np.abs(err), 95):5.2f}  max |e| {np.abs(err).max():5.2f}  "
        f"stated U median {np.median(u):5.2f} ms  coverage {cover:5.1f} %"
    )
    PRESENT.clear()


def preroll_rows(calibration: Path, seeds: int, takes: int, tmp: Path) -> list[Row]:
    rows: list[Row] = []
    for seed in range(1, seeds + 1):
        rng = random.Random(seed)
        spec = EmulatedRigSpec(
            kind="emulated", seed=seed, calibration=str(calibration), display_model=DISPLAY["model"], **REFRESH
        )
        with open_rig(spec, workdir=tmp / f"pre{seed}") as rig:
            assert rig.emulator is not None  # an emulated rig: its ground truth
            for n in range(takes):
                before = len(rig.emulator.camera.events)
                t0 = rig.clock.now()
                result = run_scenario(take(rng, n), rig, tmp / f"pre{seed}-{n}")
                (event,) = rig.emulator.camera.events[before:]
                m = next(m for m in result.measurements if m.quantity == "preroll_s")
                if m.value is not None and event.first_frame_t is not None:
                    rows.append((m.value - (event.activation_t - event.first_frame_t), m))
                    u = next(b.u for b in m.budget if b.source.startswith("present time"))
                    present_errors(rig, t0 + 1.0, event.activation_t, 2 * u)
    return rows


def av_rows(calibration: Path, seeds: int, tmp: Path) -> list[Row]:
    rows: list[Row] = []
    for seed in range(1, seeds + 1):
        spec = EmulatedRigSpec(
            kind="emulated", seed=seed, calibration=str(calibration), display_model=DISPLAY["model"], **REFRESH
        )
        with open_rig(spec, workdir=tmp / f"av{seed}") as rig:
            truth_ms = rig.profile.emulation.av_offset_ms
            result = run_scenario(Scenario.load(SUITE_DIR / "av_sync.yaml"), rig, tmp / f"av{seed}-ev")
            m = next(m for m in result.measurements if m.name == "av_offset_ms[event 1]")
            if m.value is not None:
                rows.append(((m.value - truth_ms) / 1000.0, m))  # in seconds, like the pre-roll
    return rows


def summary(label: str, rows: list[Row], unit_scale: float) -> None:
    """``unit_scale``: the measurement's unit per second (U is stated in it)."""
    if not rows:
        print(f"  {label:22s} no measurement")
        return
    err = np.array([e for e, _ in rows]) * 1000
    u = np.array([(m.uncertainty or 0.0) / unit_scale for _, m in rows]) * 1000
    cover = float(np.mean(np.abs(err) <= u)) * 100
    print(
        f"  {label:22s} n={err.size:3d}  error mean {err.mean():+6.2f} ms  sd {err.std():5.2f}  "
        f"p95 |e| {np.percentile(np.abs(err), 95):5.2f}  max |e| {np.abs(err).max():5.2f}  "
        f"stated U median {np.median(u):5.2f} ms  coverage {cover:5.1f} %"
    )
    lines: dict[str, list[float]] = defaultdict(list)
    for _, m in rows:
        for b in m.budget:
            lines[b.source].append(b.u / unit_scale * 1000)
    for source, values in lines.items():
        print(f"  {'':22s}   u {source:32s} median {statistics.median(values):6.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="rig seeds for the pre-roll takes")
    parser.add_argument("--takes", type=int, default=5, help="power cycles (frame phases) per rig seed")
    parser.add_argument("--av-seeds", type=int, default=3, help="rig seeds for the A/V offset")
    parser.add_argument("--source", choices=("software log", "photodiode"), help="only this present-time source")
    parser.add_argument("--refresh-hz", type=float, help="the emulated display's refresh (default: the rig's)")
    parser.add_argument(
        "--preroll",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        default=PREROLL_S,
        help="buffering time before each activation, drawn uniformly in [LO, HI] s (default: %(default)s)",
    )
    parser.add_argument("--display", choices=("realistic", "ideal"), default="realistic", help="presentation model")
    args = parser.parse_args()
    DISPLAY["model"] = args.display
    PREROLL_S[:] = args.preroll
    if args.refresh_hz:
        REFRESH["refresh_hz"] = args.refresh_hz
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for source, path in calibrations(tmp).items():
            if args.source and source != args.source:
                continue
            t0 = time.perf_counter()
            print(
                f"present time: {source} ({path.name}), {DISPLAY['model']} display "
                f"{REFRESH.get('refresh_hz', 'default')} Hz"
            )
            summary("pre-roll", preroll_rows(path, args.seeds, args.takes, tmp / source), 1.0)
            present_summary()
            summary("A/V offset", av_rows(path, args.av_seeds, tmp / source), 1000.0)
            print(f"  ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
