"""The uncertainty budget is honest: over seeded emulated takes, the pre-roll measured by the
harness lies within its stated expanded uncertainty U of the emulator's ground truth at least 95 %
of the time, and every time measurement states U with the budget it came from."""

from __future__ import annotations

import random
from pathlib import Path

from harness.execution.runner import run_scenario
from harness.plan.scenario import Scenario
from harness.plan.takes import preroll_take
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec

RIG_SEEDS = (1, 2, 3, 4)  # each draws the camera's capture (exposure, rolling shutter, aim)
TAKES = 5  # power cycles per rig: each draws a new frame phase against the display


def take(rng: random.Random, n: int) -> Scenario:
    """Power on, activate a seeded few seconds into the buffer, record briefly, stop, power off."""
    return preroll_take(f"coverage-take-{n}", "Coverage take", rng.uniform(3.0, 6.0))


def test_stated_u_covers_the_pre_roll_error_at_least_95_percent_of_the_time(tmp_path: Path) -> None:
    inside, errors = 0, []
    for seed in RIG_SEEDS:
        rng = random.Random(seed)
        with open_rig(EmulatedRigSpec(kind="emulated", seed=seed), workdir=tmp_path / f"rig{seed}") as rig:
            for n in range(TAKES):
                before = len(rig.emulator.camera.events)
                result = run_scenario(take(rng, n), rig, tmp_path / f"ev{seed}-{n}")
                (event,) = rig.emulator.camera.events[before:]
                m = next(m for m in result.measurements if m.quantity == "preroll_s")
                assert m.value is not None and m.uncertainty is not None and event.first_frame_t is not None
                assert {b.source for b in m.budget} >= {
                    "present time (software log)",
                    "camera frame quantisation",
                    "rolling-shutter readout",
                    "controller clock sync",
                    "press latency",
                }
                error = m.value - (event.activation_t - event.first_frame_t)
                errors.append((error, m.uncertainty))
                inside += abs(error) <= m.uncertainty
    assert inside >= 0.95 * len(errors), [f"{e * 1000:+.2f} ms vs U {u * 1000:.2f} ms" for e, u in errors]
