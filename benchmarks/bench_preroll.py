"""Figures for the end-to-end pre-roll certification on the emulated camera.

Prints: wall time of the three pre-roll scenarios with its split into clip encoding, clip
analysis and everything else, the cost per simulated minute of that remainder, encode and
analysis speed in frames per second at the default resolution, and each pre-roll measured
against the emulator's ground truth.

Then the held-out pre-roll accuracy per camera profile: for every profile in
scenarios/cameras/*.yaml, ``--takes`` seeded early-activation takes (power on, activation a
seeded 5..25 s after the measured buffering start, a short recording, stop, power off), each on
a fresh emulated rig whose seed sets the camera's frame phase and the supply's reading noise.
Per profile it prints the largest |pre-roll measured by the harness - emulator ground truth| in
seconds and in frames (target: within half a frame), and the largest error of the measured
buffering start against the camera's own boot.

    .venv/bin/python benchmarks/bench_preroll.py [--seeds N] [--takes N] [--profile NAME ...] [--no-timing]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import harness.emulator.recorder as recorder_module
import harness.execution.runner as runner_module
from harness.core.paths import CAMERAS_DIR, SUITE_DIR, camera_profile_path
from harness.core.timeline import BufferingStarted
from harness.execution.runner import run_scenario
from harness.plan.profile import CameraProfile
from harness.plan.scenario import Scenario
from harness.plan.takes import preroll_take
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec

SCENARIOS = ["preroll_full_buffer.yaml", "preroll_early_activation.yaml", "preroll_two_events.yaml"]


class Timed:
    """Wraps a function and adds up its wall time and a count taken from its result."""

    def __init__(self, fn, count) -> None:
        self.fn, self.count, self.seconds, self.frames = fn, count, 0.0, 0

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter()
        result = self.fn(*args, **kwargs)
        self.seconds += time.perf_counter() - t0
        self.frames += self.count(result)
        return result


def early_activation(seed: int, buffer_s: float) -> Scenario:
    """An early-activation take: activation a seeded time after buffering began, before the buffer
    is full, then a short recording (the clip costs only its own frames)."""
    rng = random.Random(seed)
    wait = rng.uniform(5.0, max(6.0, min(25.0, buffer_s - 2.0)))
    return preroll_take(f"early-activation-take-{seed}", "Early activation take", wait, record_s=2.0, settle_s=5.0)


def accuracy(profiles: list[str], takes: int) -> None:
    """Held-out pre-roll accuracy per profile against the emulator's ground truth."""
    print()
    print(f"held-out pre-roll accuracy, {takes} seeded early-activation takes per camera profile:")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in profiles:
            try:
                CameraProfile.load(camera_profile_path(name))
            except Exception as exc:  # a template or a broken file: say so, go on with the others
                print(f"  {name:24s} skipped: {exc}")
                continue
            errors: list[float] = []
            boot_errors: list[float] = []
            failed: list[str] = []
            period = 0.0
            t0 = time.perf_counter()
            for seed in range(1, takes + 1):
                workdir = Path(tmp) / f"{name}-{seed}"
                with open_rig(EmulatedRigSpec(kind="emulated", seed=seed), camera=name, workdir=workdir) as rig:
                    period = rig.profile.frame_period_s
                    scenario = early_activation(seed, rig.profile.pre_event_buffer_s)
                    result = run_scenario(scenario, rig, workdir / "evidence")
                    camera = rig.emulator.camera
                    (event,) = camera.events
                    measured = next(m for m in result.measurements if m.name == "preroll_s[event 1]")
                    if measured.value is None or event.first_frame_t is None:
                        failed.append(f"seed {seed}: pre-roll not measured")
                        continue
                    errors.append(measured.value - (event.activation_t - event.first_frame_t))
                    failed += [f"seed {seed}: {m}" for m in result.failed]
                    truth = next(t for t, what in camera.log if what == "state buffering")
                    start = next(a for a in result.timeline.power("buffering"))
                    if isinstance(start.detail, BufferingStarted) and start.detail.boot_s is not None:
                        boot_errors.append(start.t - truth)
            worst = max(abs(e) for e in errors) if errors else float("nan")
            worst_boot = max(abs(e) for e in boot_errors) if boot_errors else None
            rows.append((name, len(errors), worst, worst / period, worst_boot, len(failed)))
            print(
                f"  {name:24s} {len(errors):3d} takes  max |pre-roll error| {1000 * worst:6.2f} ms = "
                f"{worst / period:.3f} frames ({'within' if worst <= period / 2 else 'OUTSIDE'} half a frame)  "
                + (
                    f"buffering start max |error| {1000 * worst_boot:5.1f} ms"
                    if worst_boot is not None
                    else "buffering start not measurable"
                )
                + f"  failed measurements: {len(failed)}  ({time.perf_counter() - t0:.0f} s)"
            )
            for line in failed[:5]:
                print(f"      {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="repeat with this many camera phase seeds")
    parser.add_argument("--takes", type=int, default=30, help="early-activation takes per camera profile")
    parser.add_argument(
        "--profile", action="append", help="a camera profile name (default: every scenarios/cameras/*.yaml)"
    )
    parser.add_argument("--no-timing", action="store_true", help="only the held-out accuracy per profile")
    args = parser.parse_args()
    profiles = args.profile or sorted(p.stem for p in CAMERAS_DIR.glob("*.yaml"))
    if not args.no_timing:
        timing(args.seeds)
    accuracy(profiles, args.takes)


def timing(seeds: int) -> None:
    """The three pre-roll scenarios: wall time split and each pre-roll against ground truth."""
    encode = Timed(recorder_module.write_clip, lambda n: n)
    analyse = Timed(runner_module.analyse_clip_bounded, lambda a: a.frames or 0)
    recorder_module.write_clip = encode
    runner_module.analyse_clip_bounded = analyse  # the runner's analysis: in its child process, time-bounded
    scenarios = [Scenario.load(SUITE_DIR / name) for name in SCENARIOS]
    errors: list[float] = []
    simulated = 0.0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, seeds + 1):
            with open_rig(EmulatedRigSpec(kind="emulated", seed=seed)) as rig:
                for scenario in scenarios:
                    start = rig.clock.now()
                    before = len(rig.emulator.camera.events)
                    result = run_scenario(scenario, rig, Path(tmp) / f"{seed}-{scenario.id}")
                    simulated += rig.clock.now() - start
                    truth = rig.emulator.camera.events[before:]
                    for ev, measured in zip(truth, [m for m in result.measurements if m.name.startswith("preroll")]):
                        true_preroll = ev.activation_t - ev.first_frame_t
                        errors.append(measured.value - true_preroll)
                        print(
                            f"seed {seed} {scenario.id:26s} {measured.name:20s} measured {measured.value:9.4f} s"
                            f"  truth {true_preroll:9.4f} s  error {1000 * (measured.value - true_preroll):+6.2f} ms"
                            f"  {measured.outcome}"
                        )
    wall = time.perf_counter() - t0
    other = wall - encode.seconds - analyse.seconds
    print()
    print(
        f"wall time, {len(scenarios)} scenarios x {seeds} seed(s): {wall:.2f} s "
        f"for {simulated / 60:.1f} simulated minutes"
    )
    print(
        f"  clip encoding : {encode.seconds:6.2f} s  ({encode.frames} frames, {encode.frames / encode.seconds:.0f} fps, "
        f"render + H.264 + AAC at 640x360)"
    )
    print(
        f"  clip analysis : {analyse.seconds:6.2f} s  ({analyse.frames} frames, {analyse.frames / analyse.seconds:.0f} fps, "
        f"time code, burned-in clock, flashes, audio; in the bounded analysis process)"
    )
    print(f"  everything else: {other:6.2f} s  = {1000 * other / (simulated / 60):.1f} ms per simulated minute")
    print(
        f"pre-roll error against ground truth: mean {1000 * sum(errors) / len(errors):+.2f} ms, "
        f"max |error| {1000 * max(abs(e) for e in errors):.2f} ms over {len(errors)} events "
        f"(frame period 33.33 ms)"
    )


if __name__ == "__main__":
    main()
