"""Fault ``display-drops-refresh``: the bench's display drops about one refresh a second.

Its proof: on the emulated bench timed by a photodiode, the present log finds every refresh the
display dropped (a finding on the clip), and the camera's pre-roll is measured as on a healthy
display (within its stated U of the emulator's ground truth, and passing).
"""

from __future__ import annotations

import math
from pathlib import Path

from harness.core.paths import RIGS_DIR
from harness.emulator.device_faults import DEVICE_FAULTS
from harness.execution.runner import run_scenario
from harness.plan.takes import preroll_take
from harness.rig.factory import open_rig
from harness.rig.kinds import load_rig_spec
from harness.scene.presentation import MARK_EVERY


def test_dropped_refreshes_are_found_by_the_photodiode_and_the_preroll_is_untouched(tmp_path: Path) -> None:
    assert DEVICE_FAULTS["display-drops-refresh"].device == "display"
    spec, base = load_rig_spec(RIGS_DIR / "emulated-photodiode.yaml")
    with open_rig(spec, base, faults=("display-drops-refresh",), workdir=tmp_path / "rig") as rig:
        assert rig.emulator is not None and rig.display is not None
        truth = rig.emulator.scene.presentation
        assert truth is not None and truth.drop_rate > 0.01
        start = rig.clock.now()
        result = run_scenario(
            preroll_take("display-drops-take", "Pre-roll on a display that drops refreshes", 4.0), rig, tmp_path / "ev"
        )
        (event,) = rig.emulator.camera.events
        m = next(m for m in result.measurements if m.quantity == "preroll_s")
        assert m.value is not None and m.uncertainty is not None and event.first_frame_t is not None
        error = m.value - (event.activation_t - event.first_frame_t)
        assert abs(error) <= m.uncertainty, (error, m.uncertainty)
        assert m.outcome == "pass"
        assert any(b.source == "present time (photodiode)" for b in m.budget)
        # every refresh the display dropped while the clip was filmed is in the log and on the clip
        (clip,) = result.analyses
        r = rig.refresh_hz
        lo, hi = math.ceil(start * r) + 5, math.floor(rig.clock.now() * r) - 5
        never = [n for n in range(lo, hi) if truth.on_panel(n) is None]
        assert len(never) > 10
        found = rig.display.log.dropped(lo / r, hi / r)

        # a drop of a marked frame (which keeps the patch's level) looks like a drop of the frame
        # before it: one bit per refresh cannot tell those two apart
        def clear(frames: list[int]) -> list[int]:
            return [n for n in frames if n % MARK_EVERY not in (0, MARK_EVERY - 1)]

        assert clear(found) == clear(never)
        assert len(found) == len(never)
        assert any("dropped" in f and "display" in f for f in clip.findings), clip.findings
