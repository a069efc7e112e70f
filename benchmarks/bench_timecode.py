"""Figures for the time code under capture realism: robustness, pre-roll accuracy, analysis speed.

Prints three tables:

1. **Robustness** at 1280x720: for each degradation of the capture model alone (at its severe,
   full range), H.264 alone, and all combined at the moderate and the severe level, the frames
   decoded clean, blended, undecodable and wrong (a value or bracket naming a display frame the
   code band did not see). Each row is >= 2,000 frames from several cameras (seeded), cycling
   through 30, 29.97 and 25 fps against a 60 Hz display.
2. **Pre-roll accuracy** against the emulator's ground truth: the emulated camera (capture
   realism on) is driven directly on virtual time; each run buffers, is activated and stops, and
   the analysis's first-frame reference time is compared with the true exposure midpoint.
3. **Speed and memory**: analysis time of a 720p30 H.264 clip over PyAV decode-only time of the
   same clip (same process, same threading), frames per second, and peak resident memory of the
   analysis (fresh process) for a 2-minute and a 20-minute clip.

    .venv/bin/python benchmarks/bench_timecode.py [--frames 2000] [--runs 60] [--long-minutes 20]
    .venv/bin/python benchmarks/bench_timecode.py --only robustness|preroll|speed
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.emulator.capture import DEGRADATIONS, IDEAL, MODERATE, SEVERE, CaptureLevel, CaptureModel, only
from harness.scene.compose import Scene
from harness.scene.timecode import COUNTER_MODULUS, TimecodeDecoder
from harness.scene.video import luma, yuv420_frame

W, H, REFRESH = 1280, 720, 60.0
FPS_CYCLE = (30.0, 30000 / 1001, 25.0)
RUN_FRAMES = 250


# --------------------------------------------------------------------------- robustness


def _encode_decode(frames: list[np.ndarray], fps: float, kbps: int) -> list[np.ndarray]:
    """H.264 (libx264 ultrafast, as the emulated camera) at ``kbps`` and back, frame for frame."""
    import io

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.bit_rate = kbps * 1000
        stream.options = {"preset": "ultrafast"}
        for k, img in enumerate(frames):
            f = yuv420_frame(img)
            f.pts = k
            f.time_base = Fraction(1, 1) / stream.codec_context.framerate
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf) as inp:
        return [np.array(luma(f)) for f in inp.decode(video=0)]


def _run(job: tuple[CaptureLevel, int | None, int, int]) -> dict[str, int]:
    """One camera: RUN_FRAMES frames at a random start, scored against the capture truth."""
    level, kbps, seed, fps_index = job
    rng = random.Random(seed)
    fps = FPS_CYCLE[fps_index % len(FPS_CYCLE)]
    scene = Scene(W, H, REFRESH, run_id=seed % 65536, utc_origin=1.7e9 + rng.uniform(0, 1e6))
    model = CaptureModel(scene, (W, H), fps, level, seed=seed)
    t0 = rng.uniform(10.0, 50_000.0)
    times = [t0 + k / fps for k in range(RUN_FRAMES)]
    shots = [model.capture_with_truth(t) for t in times]
    images = [img for img, _ in shots]
    if kbps is not None:
        images = _encode_decode(images, fps, kbps)
    decoder = TimecodeDecoder(W, H)
    counts = {"clean": 0, "blended": 0, "undecodable": 0, "wrong": 0}
    for image, (_, seen) in zip(images, shots):
        reading = decoder.decode(image)
        if reading.kind == "undecodable":
            counts["undecodable"] += 1
            continue
        lo, hi = reading.bracket
        seen_mod = {n % COUNTER_MODULUS for n in seen}
        if lo % COUNTER_MODULUS in seen_mod and hi % COUNTER_MODULUS in seen_mod:
            counts[reading.kind] += 1
        else:
            counts["wrong"] += 1
    return counts


def robustness(frames: int, pool: mp.pool.Pool) -> None:
    rows: list[tuple[str, CaptureLevel, int | None]] = [("ideal (reference)", IDEAL, None)]
    rows += [(f"{name} alone", only(name, SEVERE), None) for name in DEGRADATIONS]
    rows += [("H.264 1 Mbit/s alone", IDEAL, 1000), ("H.264 4 Mbit/s alone", IDEAL, 4000)]
    rows += [
        ("all combined, moderate + H.264 2 Mbit/s", MODERATE, 2000),
        ("all combined, severe + H.264 1 Mbit/s", SEVERE, 1000),
    ]
    runs = -(-frames // RUN_FRAMES)
    print(
        f"\n## Robustness at {W}x{H}, 60 Hz display, cameras at 30 / 29.97 / 25 fps "
        f"({runs} cameras x {RUN_FRAMES} frames per row)\n"
    )
    print(
        f"{'condition':44s} {'frames':>7s} {'clean':>7s} {'blended':>8s} {'undecod.':>9s} {'wrong':>6s}"
        f" {'clean+blended':>14s}"
    )
    for i, (name, level, kbps) in enumerate(rows):
        t0 = time.perf_counter()
        jobs = [(level, kbps, 1000 * i + j + 1, j) for j in range(runs)]
        total = {"clean": 0, "blended": 0, "undecodable": 0, "wrong": 0}
        for counts in pool.map(_run, jobs):
            for key in total:
                total[key] += counts[key]
        n = sum(total.values())
        ok = total["clean"] + total["blended"]
        print(
            f"{name:44s} {n:7d} {total['clean']:7d} {total['blended']:8d} {total['undecodable']:9d} "
            f"{total['wrong']:6d} {100 * ok / n:13.2f}%   ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    print(
        "\nlevels: "
        + "; ".join(
            f"{lv.name}: code {lv.code_width[0]:.0%}-{lv.code_width[1]:.0%} of width, "
            f"off-axis <= {lv.off_axis_deg:g} deg, blur {lv.blur_px[0]}-{lv.blur_px[1]} px, "
            f"noise {lv.noise[0]}-{lv.noise[1]}, gain {lv.gain[0]}-{lv.gain[1]} "
            f"(AE +/-{lv.ae_drift:.0%}), gamma {lv.gamma[0]}-{lv.gamma[1]}, "
            f"flare {lv.flare[0]:.0%}-{lv.flare[1]:.0%}, exposure "
            f"{lv.exposure_refreshes[0]}-{lv.exposure_refreshes[1]} refreshes, readout "
            f"{1000 * lv.readout_s[0]:g}-{1000 * lv.readout_s[1]:g} ms"
            for lv in (MODERATE, SEVERE)
        )
    )


# --------------------------------------------------------------------------- pre-roll accuracy


def _preroll_run(job: tuple[int, float, str]) -> tuple[float, float, float, float]:
    """Drive the emulated camera: boot, buffer, activate, stop; returns (fps, error s, uncertainty s, truth)."""
    from harness.analysis.clip import analyze_clip
    from harness.core.clock import VirtualClock
    from harness.core.paths import CAMERAS_DIR
    from harness.emulator.camera import EmulatedCamera
    from harness.emulator.faults import Behaviour
    from harness.plan.profile import CameraProfile

    seed, fps, level = job
    rng = random.Random(seed)
    base = CameraProfile.load(CAMERAS_DIR / "emulated.yaml")
    capture = base.emulation.capture.model_copy(update={"level": level, "seed": seed})
    emulation = base.emulation.model_copy(update={"capture": capture})
    video = base.video.model_copy(update={"fps": fps})
    profile = base.model_copy(update={"video": video, "emulation": emulation, "pre_event_buffer_s": 4.0})
    clock = VirtualClock()
    scene = Scene(video.width, video.height, REFRESH)
    with tempfile.TemporaryDirectory() as tmp:
        cam = EmulatedCamera(profile, Behaviour.from_profile(profile), clock, scene, Path(tmp), seed=seed)
        cam.set_power(True)
        clock.sleep(profile.boot_s + 5.0 + rng.uniform(0, 1.0))
        for _ in range(2):  # the start gesture: two presses
            cam.button("event", True)
            clock.sleep(0.15)
            cam.button("event", False)
            clock.sleep(0.25)
        activation = next(t for t, what in cam.log if what == "gesture start")
        clock.sleep(1.5)
        cam.button("event", True)
        clock.sleep(3.2)
        cam.button("event", False)
        clock.sleep(1.0)
        event = cam.events[-1]
        analysis = analyze_clip(event.path, REFRESH, press_at=activation)
        if analysis.first_ref_s is None:
            return fps, float("nan"), float("nan"), event.first_frame_t
        true_preroll = activation - event.first_frame_t
        return fps, analysis.preroll_s - true_preroll, analysis.first_ref_uncertainty_s, event.first_frame_t


def preroll(runs: int, pool: mp.pool.Pool) -> None:
    print(
        f"\n## Pre-roll accuracy against ground truth ({runs} randomised runs per level, emulated camera "
        f"640x360 H.264 1.5 Mbit/s, fps cycling 30 / 29.97 / 25)\n"
    )
    print(
        f"{'level':9s} {'fps':>6s} {'runs':>5s} {'mean error':>11s} {'max |error|':>12s} {'max/period':>11s} "
        f"{'mean uncert.':>13s} {'within uncert.':>15s}"
    )
    for level in ("moderate", "severe"):
        jobs = [(7000 + i, FPS_CYCLE[i % 3], level) for i in range(runs)]
        results = pool.map(_preroll_run, jobs)
        for fps in (*FPS_CYCLE, None):
            sel = [r for r in results if fps is None or r[0] == fps]
            err = np.array([r[1] for r in sel])
            unc = np.array([r[2] for r in sel])
            bad = int(np.isnan(err).sum())
            err, unc = err[~np.isnan(err)], unc[~np.isnan(unc)]
            period = 1 / (fps or 30.0)
            label = "all" if fps is None else f"{fps:.2f}"
            print(
                f"{level:9s} {label:>6s} {len(sel):5d} {1000 * err.mean():+9.2f} ms {1000 * np.abs(err).max():9.2f} ms "
                f"{np.abs(err).max() / period:10.3f} {1000 * unc.mean():10.2f} ms "
                f"{int((np.abs(err) <= unc + 1e-9).sum()):8d}/{len(err)}" + (f"  ({bad} unreadable)" if bad else "")
            )
    print("\ngoal: max |error| <= 1/2 frame period (16.7 ms) at 30 fps")


# --------------------------------------------------------------------------- speed and memory


def _clip_worker(job: tuple[float, int, int]) -> list[np.ndarray]:
    start, count, seed = job
    scene = Scene(W, H, REFRESH, run_id=3, utc_origin=1.7e9)
    model = CaptureModel(scene, (W, H), 30.0, MODERATE, seed=seed)
    return [model.capture(start + k / 30.0) for k in range(count)]


def make_clip(path: Path, minutes: float, pool: mp.pool.Pool) -> int:
    """A 720p30 H.264 2 Mbit/s clip of the scene filmed at the moderate capture level."""
    from harness.emulator.clip_writer import VideoFrame, write_clip

    total = int(minutes * 60 * 30)
    chunk = 60
    jobs = [(100.0 + k / 30.0, min(chunk, total - k), 11) for k in range(0, total, chunk)]

    def frames():
        """Frames in order, with at most four chunks in flight (memory stays bounded)."""
        pending: deque = deque()
        i = 0
        for job in jobs:
            pending.append(pool.apply_async(_clip_worker, (job,)))
            if len(pending) < 4:
                continue
            for img in pending.popleft().get():
                yield VideoFrame(i / 30.0, img)
                i += 1
        while pending:
            for img in pending.popleft().get():
                yield VideoFrame(i / 30.0, img)
                i += 1

    return write_clip(path, frames(), 30.0, 2000, datetime(2026, 1, 1, tzinfo=UTC))


_SPEED_CHILD = r"""
import json, sys, time
import av
mode, path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = {"decode_s": [], "analyze_s": []}

def decode_only():
    t = time.perf_counter(); n = 0
    with av.open(path) as c:
        s = c.streams.video[0]; s.thread_type = "AUTO"
        for f in c.decode(s):
            n += 1
    out["decode_s"].append(time.perf_counter() - t)
    out["frames"] = n

def analysis():
    from harness.analysis.clip import analyze_clip
    t = time.perf_counter(); a = analyze_clip(path)
    out["analyze_s"].append(time.perf_counter() - t)
    out.update(frames=a.frames, decoded=a.decoded, error=a.error, drift_ppm=a.drift_ppm,
               drift_ppm_uncertainty=a.drift_ppm_uncertainty, first_ref_uncertainty_s=a.first_ref_uncertainty_s,
               gaps=len(a.gaps), duplicates=len(a.duplicates))

for _ in range(reps):  # interleaved, so a busy moment on the machine hits both alike
    if mode in ("decode", "both"):
        decode_only()
    if mode in ("analyze", "both"):
        analysis()
# VmHWM: this process's own peak (ru_maxrss would carry the forking parent's peak across exec)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
out["maxrss_mb"] = int(hwm.split()[1]) / 1024
print(json.dumps(out))
"""


def _child(mode: str, path: Path, reps: int = 1) -> dict:
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", _SPEED_CHILD, mode, str(path), str(reps)],
        capture_output=True,
        text=True,
        cwd=repo,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def speed(long_minutes: float, pool: mp.pool.Pool) -> None:
    print(
        "\n## Speed and memory (720p30 H.264 2 Mbit/s, moderate capture realism, PyAV threading AUTO on this machine)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in (2.0, long_minutes):
            path = Path(tmp) / f"clip_{minutes:g}min.mp4"
            t0 = time.perf_counter()
            frames = make_clip(path, minutes, pool)
            made = time.perf_counter() - t0
            reps = 3 if minutes <= 5 else 2
            both = _child("both", path, reps)  # decode-only and analysis, interleaved, in one process
            mem_an = _child("analyze", path)["maxrss_mb"]
            mem_dec = _child("decode", path)["maxrss_mb"]
            dec, an = min(both["decode_s"]), min(both["analyze_s"])
            print(
                f"{minutes:4g} min: {frames} frames ({path.stat().st_size / 1e6:.0f} MB, made in {made:.0f} s); "
                f"best of {reps}: decode-only {dec:.1f} s ({frames / dec:.0f} fps), "
                f"analysis {an:.1f} s ({frames / an:.0f} fps); ratio analysis/decode {an / dec:.2f} (goal <= 1.15)"
            )
            print(
                f"        all runs: decode {', '.join(f'{x:.1f}' for x in both['decode_s'])} s; analysis "
                f"{', '.join(f'{x:.1f}' for x in both['analyze_s'])} s"
            )
            print(
                f"        peak RSS (fresh process): analysis {mem_an:.0f} MB, decode-only {mem_dec:.0f} MB; "
                f"decoded {both['decoded']}/{both['frames']}, gaps {both['gaps']}, dups {both['duplicates']}, "
                f"drift {both['drift_ppm']:+.2f} +/- {both['drift_ppm_uncertainty']:.2f} ppm, first-frame "
                f"uncertainty {1000 * both['first_ref_uncertainty_s']:.2f} ms, error {both['error']}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000, help="frames per robustness row (>= 2000)")
    parser.add_argument("--runs", type=int, default=60, help="randomised pre-roll runs per level (>= 50)")
    parser.add_argument("--long-minutes", type=float, default=20.0, help="length of the long speed clip")
    parser.add_argument("--only", choices=["robustness", "preroll", "speed"], help="one section only")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with mp.get_context("fork").Pool(args.workers) as pool:
        if args.only in (None, "robustness"):
            robustness(args.frames, pool)
        if args.only in (None, "preroll"):
            preroll(args.runs, pool)
        if args.only in (None, "speed"):
            speed(args.long_minutes, pool)
    print(f"\n(benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
