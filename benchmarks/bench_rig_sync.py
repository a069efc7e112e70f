"""Clock mapping over a real pty: how well the host knows the rig controller's offset and drift.

Runs the emulated controller (crystal 150 ppm fast, booted 83 minutes ago) in real time, syncs
as the driver does before gestures, and compares the fitted offset and drift with the truth.
Prints one line per trial and a summary. Usage: python benchmarks/bench_rig_sync.py [TRIALS]
"""

from __future__ import annotations

import statistics
import sys

from harness.core.clock import RealClock
from harness.devices.rig_controller import SerialRigController
from harness.emulator.rig_controller import EmulatedRigController

DRIFT_PPM = 150.0


def trial(syncs: int = 6, gap_s: float = 0.3) -> tuple[float, float, float, float, float]:
    clock = RealClock()
    emu = EmulatedRigController(clock, ("event",), lambda b, d: None, drift_ppm=DRIFT_PPM, boot_ticks=5_000_000_000)
    driver = SerialRigController(emu.url, clock, timeout_s=1.0)
    try:
        for _ in range(syncs):
            clock.sleep(gap_s)
            m = driver.sync(8)
        rtt = min(s.rtt_s for s in driver.samples)
        true_offset = (m.ref_t - emu._boot) * emu._rate / 1e6 - m.ref_t
        return m.offset_s - true_offset, m.uncertainty_s, m.drift_ppm - DRIFT_PPM, m.drift_uncertainty_ppm, rtt
    finally:
        driver.close()
        emu.close()
        clock.close()


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rows = [trial() for _ in range(trials)]
    for err, unc, derr, dunc, rtt in rows:
        print(
            f"offset error {err * 1e6:+7.1f} us (bound {unc * 1e6:6.1f} us)  "
            f"drift error {derr:+7.1f} ppm (bound {dunc:6.1f} ppm)  best rtt {rtt * 1e6:6.1f} us"
        )
    inside = sum(abs(r[0]) <= r[1] and abs(r[2]) <= r[3] for r in rows)
    print(
        f"median |offset error| {statistics.median(abs(r[0]) for r in rows) * 1e6:.1f} us, "
        f"median bound {statistics.median(r[1] for r in rows) * 1e6:.1f} us; "
        f"median |drift error| {statistics.median(abs(r[2]) for r in rows):.1f} ppm over 1.8 s; "
        f"{inside}/{len(rows)} trials inside both bounds"
    )


if __name__ == "__main__":
    main()
