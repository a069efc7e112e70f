"""What a long real-time run costs the photodiode present log: its edges decoded as they arrive.

A realistic display (seeded refresh phase, compositor delay, late and dropped refreshes) is
watched by the emulated photodiode for ``--hours`` hours; its edges reach the log in chunks of
``--every`` seconds, as :meth:`PhotodiodePresentLog.kept_up` hands them over on a bench. Prints
the decode time per update (median and largest), the total, the most edges the log held at once,
the peak resident memory, and the present-time error of every frame against the model's truth.

    .venv/bin/python benchmarks/bench_photodiode.py [--hours 12] [--every 60] [--refresh-hz 59.94]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np

from harness.devices.present_photodiode import PhotodiodePresentLog
from harness.devices.rig_controller import LightEdge
from harness.emulator.photodiode import RESPONSE_S, EmulatedPhotodiode
from harness.scene.compose import Scene
from harness.scene.presentation import RealisticPresentation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=12.0)
    parser.add_argument("--every", type=float, default=60.0, help="seconds of edges per update")
    parser.add_argument("--refresh-hz", type=float, default=59.94)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    scene = Scene(640, 360, args.refresh_hz)
    truth = RealisticPresentation(args.refresh_hz, seed=args.seed)
    scene.presentation = truth
    diode = EmulatedPhotodiode(scene, seed=args.seed)
    span = [0.0]

    def source() -> list[LightEdge]:
        t0, t1 = span[0], span[0] + args.every
        span[0] = t1
        return [LightEdge(t, level, 0) for t, level in diode.edges(t0, t1)]

    log = PhotodiodePresentLog(args.refresh_hz, source, latency_s=-RESPONSE_S)
    costs, held = [], 0
    end = args.hours * 3600
    while span[0] < end:
        t = time.perf_counter()
        log.update()
        costs.append(time.perf_counter() - t)
        held = max(held, log.held_edges)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = np.frombuffer(log.n, dtype=np.int64)
    present = np.frombuffer(log.present, dtype=np.float64)
    step = max(1, n.size // 200_000)  # a sample of frames: the truth is asked one frame at a time
    truth_on = [truth.on_panel(int(k)) for k in n[::step]]
    shown = np.array([t is not None for t in truth_on])
    on = np.array([t for t in truth_on if t is not None], dtype=np.float64)
    err = np.abs(present[::step][shown] + log.latency_s - on) * 1000
    print(f"{args.hours:g} h at {args.refresh_hz:g} Hz, edges handed over every {args.every:g} s: {len(costs)} updates")
    print(
        f"decode per update: median {1000 * statistics.median(costs):.1f} ms, max {1000 * max(costs):.1f} ms; "
        f"total {sum(costs):.1f} s"
    )
    print(f"frames in the log: {n.size}; most edges held at once: {held}; peak resident memory {rss:.0f} MB")
    print(
        f"present-time error of {err.size} sampled frames: median {np.median(err):.3f} ms, "
        f"p99.9 {np.percentile(err, 99.9):.3f} ms, max {err.max():.3f} ms; "
        f"{int((~shown).sum())} logged frame(s) the display never showed"
    )


if __name__ == "__main__":
    main()
