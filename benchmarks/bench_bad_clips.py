"""Bad clips: every case of the corpus and a long seeded fuzz run through the bounded analysis.

Prints each corpus case with its verdict and time, then the fuzz figures: iterations, verdict
kinds, crashes (an exception out of the analysis, or its process dying), hangs (the time bound
reached) and wall time per clip (the analysis process is started once, before the timing).
Any crash or hang is printed with its seed, iteration and mutations, so it can be made again.

    .venv/bin/python benchmarks/bench_bad_clips.py [--iterations N] [--seed S] [--timeout S]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from harness.analysis import bounded
from harness.analysis.bad_clips import corpus, fuzz, write_scene_clip
from harness.analysis.bounded import analyse_clip_bounded, clip_verdict

FUZZ_SIZE = (160, 120)  # small frames: the fuzz exercises the container and decoder paths, not pixels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=4000, help="fuzz iterations (half per layout)")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--timeout", type=float, default=30.0, help="time bound per clip (s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        bounded.prepare()
        cases = corpus(folder / "corpus")
        print(
            f"corpus of {len(cases)} bad-clip cases written in {time.perf_counter() - t0:.2f} s "
            "(analysis process starting meanwhile)"
        )
        for name, path in cases.items():
            start = time.perf_counter()
            analysis = analyse_clip_bounded(path, timeout_s=args.timeout)
            verdict = clip_verdict(analysis)
            print(f"  {name:26s} {time.perf_counter() - start:6.3f} s  {verdict}")
            for finding in analysis.findings if verdict == "analysed" else []:
                print(f"  {'':26s} {'':8s}  finding: {finding}")
        reports = []
        t0 = time.perf_counter()
        for faststart in (False, True):  # index last, then index first (more frames survive damage)
            good = write_scene_clip(
                folder / "fuzz-good.mp4", [10.0 + k / 30 for k in range(30)], size=FUZZ_SIZE, faststart=faststart
            )
            reports.append(
                fuzz(
                    good,
                    folder,
                    args.iterations // 2,
                    args.seed + faststart,
                    lambda p: analyse_clip_bounded(p, timeout_s=args.timeout),
                    clip_verdict,
                )
            )
        wall = time.perf_counter() - t0
    bounded.shutdown()
    times = sorted(t for r in reports for t in r.seconds)
    kinds = sum((r.kinds for r in reports), Counter())
    problems = [line for r in reports for line in r.crashes + r.hangs + r.no_verdict]
    print()
    print(f"bad-clip cases: {len(cases)}")
    print(
        f"fuzz iterations: {sum(r.iterations for r in reports)} (seeds {args.seed}, {args.seed + 1}; "
        f"{FUZZ_SIZE[0]}x{FUZZ_SIZE[1]} 1 s clip, index last / index first; 1-4 mutations each in mdat/moov/anywhere)"
    )
    print(f"verdicts: {dict(kinds)}")
    print(f"crashes: {sum(len(r.crashes) for r in reports)}")
    print(f"hangs: {sum(len(r.hangs) for r in reports)}")
    print(f"without a verdict: {sum(len(r.no_verdict) for r in reports)}")
    print(
        f"time per clip: mean {1000 * statistics.fmean(times):.1f} ms, median {1000 * times[len(times) // 2]:.1f} ms, "
        f"max {1000 * times[-1]:.1f} ms; fuzz wall time {wall:.1f} s"
    )
    for line in problems:
        print("  " + line)


if __name__ == "__main__":
    main()
