"""Figures for the certification report: build time and size for a 30-scenario run.

Synthesises a run folder like `bwc certify` leaves it: record.json with 30 scenarios of realistic
measurements, one clip per scenario (random bytes of a real emulated clip's size, so hashing costs
what it costs), and the pictures the plugin makes per clip (timeline plot of a 3-minute clip,
five key frames from a really encoded clip, an audio envelope). Then it times `build_report`.

Prints: time to make one scenario's pictures, time to build the report (HTML + manifest, evidence
re-hashed; median of three), the same with a --compare section, the PDF on top, and the sizes.

    .venv/bin/python benchmarks/bench_report.py [--scenarios 30] [--clip-mb 15]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from harness.report.html import build_report
from harness.report.keyframes import read_frames, select_key_frames
from harness.report.plots import ClipTimeline, audio_envelope_png, timeline_png
from harness.scene.movie import render_scene

FPS = 30.0
CLIP_S = 183.0  # pre-roll 120 s + a minute of event, as in preroll-full-buffer
REQUIREMENTS = [
    "BWC-PRE-01",
    "BWC-PRE-02",
    "BWC-EVT-01",
    "BWC-ACT-01",
    "BWC-CONT-01",
    "BWC-CONT-02",
    "BWC-SEG-01",
    "BWC-STOP-01",
    "BWC-STOP-02",
    "BWC-CLK-01",
    "BWC-CLK-02",
    "BWC-AV-01",
    "BWC-AV-02",
    "BWC-AUD-01",
]


def measurements(i: int, rng: np.random.Generator) -> list[dict]:
    """A dozen measurements like a real scenario's, one in ten scenarios with a failure."""

    def m(name: str, value: float, low: float | None, high: float | None, req: str, unit: str) -> dict:
        ok = (low is None or value >= low) and (high is None or value <= high)
        return {
            "name": name,
            "value": value,
            "unit": unit,
            "low": low,
            "high": high,
            "outcome": "pass" if ok else "fail",
            "requirement": req,
            "note": "synthetic",
        }

    join = 10 if i % 10 == 7 else 0
    return [
        m("clips_saved", 1, 1, 1, "BWC-EVT-01", "clips"),
        m("preroll_s[event 1]", 120 + float(rng.normal(0, 0.008)), 119.9667, 120.0333, "BWC-PRE-01", "s"),
        m("join_missing_frames[event 1]", join, 0, 0, "BWC-CONT-01", "frames"),
        m("missing_frames[event 1]", 0, 0, 0, "BWC-CONT-02", "frames"),
        m("duplicated_frames[event 1]", 0, 0, 0, "BWC-CONT-02", "frames"),
        m("undecodable_frames[event 1]", 0, 0, None, "BWC-CONT-02", "frames"),
        m("stop_lag_s[event 1]", float(rng.uniform(0, 0.03)), -0.0333, 1.0, "BWC-STOP-01", "s"),
        m("unplayable_files", 0, 0, 0, "BWC-STOP-02", "files"),
        m("clock_offset_s[event 1]", float(rng.normal(0.15, 0.05)), -1, 1, "BWC-CLK-01", "s"),
        m("av_offset_ms[event 1]", float(rng.normal(9, 2)), -40, 60, "BWC-AV-01", "ms"),
        m("av_offset_extreme_ms[event 1]", float(rng.normal(12, 2)), -45, 125, "BWC-AV-02", "ms"),
        m("audio_start_s[event 1]", float(rng.uniform(0, 0.02)), -0.1, 0.1, "BWC-AUD-01", "s"),
    ]


def make_pictures(folder: Path, keyframe_pngs: list[tuple[str, bytes]], rng: np.random.Generator) -> list[dict]:
    """Timeline plot of a 3-minute clip with a press, five key frames and an audio envelope."""
    n = int(CLIP_S * FPS)
    pts = np.arange(n) / FPS
    ref = 300.0 + pts + (rng.random(n) < 0.3) * (0.5 / 60)
    refs: list[float | None] = list(ref)
    pictures = [
        (
            "timeline",
            "clip 1 timeline",
            timeline_png(
                ClipTimeline(
                    "clip 1", pts, refs, 1 / FPS, presses=[("press (event 1)", 420.0), ("stop (event 1)", 483.0)]
                )
            ),
        )
    ]
    pictures += [("keyframe", f"clip 1 {label}", png) for label, png in keyframe_pngs]
    envelope = np.where(pts[::3] > 120, 0.003, 0.0)
    pictures.append(
        ("audio", "clip 1 audio envelope", audio_envelope_png(envelope, 0.0, 0.1, [121.0 + 3 * k for k in range(20)]))
    )
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k, (kind, title, png) in enumerate(pictures):
        path = folder / f"clip1-{k}.png"
        path.write_bytes(png)
        out.append(
            {
                "kind": kind,
                "title": title,
                "path": str(path.relative_to(folder.parent.parent)),
                "clip": "clip.mp4",
                "sha256": hashlib.sha256(png).hexdigest(),
            }
        )
    return out


def real_key_frames(tmp: Path) -> list[tuple[str, bytes]]:
    """Five key frames read from a really encoded scene clip (sizes and content as in a run)."""
    clip = tmp / "scene.mp4"
    render_scene(clip, FPS, 300.0, 4.0, 640, 360)
    from harness.analysis.clip import analyze_clip

    an = analyze_clip(clip, 60.0)
    chosen = select_key_frames(an.pts_s, an.ref_s, [("event 1", 302.0)])
    return [(kf.label, png) for kf, png in read_frames(clip, chosen)]


def synthesise(root: Path, scenarios: int, clip_mb: float, phase: str, seed: int) -> tuple[Path, float]:
    rng = np.random.default_rng(seed)
    keyframes = real_key_frames(root)
    tests, picture_s = [], []
    for i in range(scenarios):
        name = f"scenario-{i + 1:02d}"
        clip = root / "evidence" / name / f"EMU-0001_{i + 1:04d}.mp4"
        clip.parent.mkdir(parents=True, exist_ok=True)
        clip.write_bytes(os.urandom(int(clip_mb * 1e6)))
        t0 = time.perf_counter()
        pictures = make_pictures(root / "artifacts" / name, keyframes, rng)
        picture_s.append(time.perf_counter() - t0)
        ms = measurements(i, rng)
        tests.append(
            {
                "scenario": name,
                "title": f"Synthetic scenario {i + 1}",
                "requirements": sorted({m["requirement"] for m in ms}),
                "verdict": "fail" if any(m["outcome"] == "fail" for m in ms) else "pass",
                "measurements": ms,
                "clips": [{"path": str(clip), "sha256": hashlib.sha256(clip.read_bytes()).hexdigest()}],
                "error": None,
                "duration_s": 20.0,
                "timeline": [],
                "artifacts": pictures,
                "notes": [],
            }
        )
    record = {
        "phase": phase,
        "status": "complete",
        "start_utc": "2026-01-01T00:00:00+00:00",
        "end_utc": "2026-01-01T00:30:00+00:00",
        "rig": {"name": "emulated", "clock": "VirtualClock", "kind": "emulated"},
        "camera": {"vendor": "BWC Harness", "model": "Emulated BWC-1", "serial": "EMU-0001", "firmware": "1.0.0"},
        "instruments": {"power": "KEITHLEY INSTRUMENTS,MODEL 2281S-20-6,1,1"},
        "faults": [],
        "tests": tests,
    }
    path = root / "record.json"
    path.write_text(json.dumps(record, indent=2))
    return path, statistics.median(picture_s)


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=30)
    parser.add_argument(
        "--clip-mb", type=float, default=15.0, help="size of each synthetic clip (emulated 3-min clip: ~15 MB)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        old, _ = synthesise(root / "phase1", args.scenarios, 0.01, "Phase 1", seed=1)
        record, picture_s = synthesise(root / "phase2", args.scenarios, args.clip_mb, "Phase 2", seed=2)
        out = root / "report"
        html_s = timed(lambda: build_report(record, out, pdf=False))
        html_size = (out / "report.html").stat().st_size
        compare_s = timed(lambda: build_report(record, out, compare_with=old, pdf=False))
        unverified_s = timed(lambda: build_report(record, out, pdf=False, verify=False))
        t0 = time.perf_counter()
        files = build_report(record, out, pdf=True)
        pdf_s = time.perf_counter() - t0
        pictures = sum(len(t["artifacts"]) for t in json.loads(record.read_text())["tests"])
        print(
            f"run: {args.scenarios} scenarios, {pictures} embedded pictures, {args.scenarios} clips of {args.clip_mb:g} MB"
        )
        print(f"pictures per scenario (timeline plot + 5 key frames + audio envelope): {picture_s:.2f} s")
        print(f"report build, HTML + manifest, evidence re-hashed: {html_s:.2f} s (median of 3)")
        print(f"  of which re-hashing {args.scenarios * args.clip_mb:g} MB of evidence: {html_s - unverified_s:.2f} s")
        print(f"report build with --compare: {compare_s:.2f} s")
        print(f"report build with PDF (WeasyPrint): {pdf_s:.2f} s" + (f" - {files.pdf_note}" if files.pdf_note else ""))
        print(f"report.html size: {html_size / 1e6:.2f} MB ({html_size / args.scenarios / 1e3:.0f} kB per scenario)")
        if files.pdf is not None:
            print(f"report.pdf size: {files.pdf.stat().st_size / 1e6:.2f} MB")
        print(f"verdict: {files.verdict.word}; {files.verdict.counts}")


if __name__ == "__main__":
    main()
