"""Figures for the end-to-end pre-roll certification on the emulated camera.

Prints: wall time of the three pre-roll scenarios with its split into clip encoding, clip
analysis and everything else, the cost per simulated minute of that remainder, encode and
analysis speed in frames per second at the default resolution, and each pre-roll measured
against the emulator's ground truth.

    .venv/bin/python benchmarks/bench_preroll.py [--seeds N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import harness.emulator.recorder as recorder_module
import harness.execution.runner as runner_module
from harness.core.paths import SUITE_DIR
from harness.execution.runner import run_scenario
from harness.plan.scenario import Scenario
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="repeat with this many camera phase seeds")
    args = parser.parse_args()
    encode = Timed(recorder_module.write_clip, lambda n: n)
    analyse = Timed(runner_module.analyse_clip_bounded, lambda a: a.frames or 0)
    recorder_module.write_clip = encode
    runner_module.analyse_clip_bounded = analyse  # the runner's analysis: in its child process, time-bounded
    scenarios = [Scenario.load(SUITE_DIR / name) for name in SCENARIOS]
    errors: list[float] = []
    simulated = 0.0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.seeds + 1):
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
        f"wall time, {len(scenarios)} scenarios x {args.seeds} seed(s): {wall:.2f} s "
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
