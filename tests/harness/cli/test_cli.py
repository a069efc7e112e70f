"""`bwc` end to end on the emulated rig: healthy camera passes, each fault is caught and measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, load_json, run_bwc

FRAME = 1 / 30
SCENARIOS = "scenarios"


def _measurement(record: dict, scenario: str, prefix: str) -> list[dict]:
    test = next(t for t in record["tests"] if t["scenario"] == scenario)
    return [m for m in test["measurements"] if m["name"].startswith(prefix)]


SUITE = {p.stem.replace("_", "-") for p in (REPO / "scenarios").glob("*.yaml")} - {"requirements"}


def test_certify_healthy_camera_passes_every_scenario(healthy_run) -> None:
    """The README's main job: a verdict per scenario printed, all pass, record and Allure results written."""
    proc, out = healthy_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for scenario in ("preroll-full-buffer", "preroll-early-activation", "preroll-two-events"):
        assert scenario in proc.stdout
    assert proc.stdout.count("PASS") >= len(SUITE) - 1  # max-recording: not applicable to this camera
    record = load_json(out / "record.json")
    assert record["status"] == "complete" and record["phase"] == "Phase 1"
    assert record["camera"]["serial"] == "EMU-0001"
    # max-recording is not applicable to the emulated camera (it has no maximum length)
    expected = {name: "skip" if name == "max-recording" else "pass" for name in SUITE}
    assert {t["scenario"]: t["verdict"] for t in record["tests"]} == expected
    full = _measurement(record, "preroll-full-buffer", "preroll_s")
    assert len(full) == 1 and abs(full[0]["value"] - 120.0) <= FRAME / 2
    two = _measurement(record, "preroll-two-events", "preroll_s")
    assert abs(two[0]["value"] - 120.0) <= FRAME / 2
    assert 50.0 < two[1]["value"] < 51.5  # refilled from the stop, not the full 120 s
    for test in record["tests"]:
        for m in test["measurements"]:
            assert {"name", "value", "unit", "low", "high", "outcome", "requirement"} <= set(m)
        for clip in test["clips"]:
            assert len(clip["sha256"]) == 64


def test_certify_writes_allure_results_with_phase_and_requirements(healthy_run) -> None:
    """Each scenario is one Allure result labelled with phase (epic) and requirement ids (story)."""
    _, out = healthy_run
    results = [json.loads(p.read_text()) for p in (out / "allure-results").glob("*-result.json")]
    assert len(results) == len(SUITE)
    # max-recording is not applicable to the emulated camera (it has no maximum length): skipped
    assert sum(r["status"] == "skipped" for r in results) == 1
    for result in results:
        if result["status"] == "skipped":
            continue
        assert result["status"] == "passed"
        labels = {(lab["name"], lab["value"]) for lab in result["labels"]}
        assert ("epic", "Phase 1") in labels
        assert any(name == "story" and value.startswith("BWC-") for name, value in labels)
        assert any(a["name"] == "measurements" for a in result["attachments"])
        assert result["steps"], "scenario steps appear as Allure steps"


def test_analyze_json_reports_the_analysis_record_of_an_emulator_clip(healthy_run) -> None:
    """`bwc analyze --json` on a saved clip has every field of the analysis record contract."""
    _, out = healthy_run
    record = load_json(out / "record.json")
    clip = next(t for t in record["tests"] if t["scenario"] == "preroll-full-buffer")["clips"][0]
    press = next(m for m in _measurement(record, "preroll-full-buffer", "preroll_s"))
    proc = run_bwc("analyze", clip["path"], "--press-at", "400", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["clips"][0]
    for field in (
        "path",
        "sha256",
        "codec",
        "width",
        "height",
        "fps",
        "frames",
        "decoded",
        "blended",
        "undecodable",
        "first_ref_s",
        "last_ref_s",
        "gaps",
        "duplicates",
        "preroll_s",
        "error",
    ):
        assert field in data
    assert data["sha256"] == clip["sha256"] and data["codec"] == "h264" and data["error"] is None
    assert data["frames"] == data["decoded"] > 2500 and data["gaps"] == [] and data["duplicates"] == []
    assert data["preroll_s"] == pytest.approx(400 - data["first_ref_s"])
    assert press["outcome"] == "pass"


def test_faults_verb_lists_each_fault_with_its_check() -> None:
    """`bwc faults` names every fault and the check that catches it, and the device faults."""
    proc = run_bwc("faults")
    assert proc.returncode == 0
    for name in ("short-buffer", "drop-at-join", "no-refill", "late-stop", "serial-vanish", "foreign-serial"):
        assert name in proc.stdout


def test_unknown_fault_is_a_clear_error(tmp_path) -> None:
    """A misspelt fault name stops the run with the known names listed, and nothing passes."""
    proc = run_bwc(
        "certify", f"{SCENARIOS}/preroll_early_activation.yaml", "--fault", "shrot-buffer", "--out", str(tmp_path)
    )
    assert proc.returncode != 0
    assert "unknown fault 'shrot-buffer'" in proc.stdout + proc.stderr
    assert "short-buffer" in proc.stdout + proc.stderr


def test_scene_render_reads_back_exactly(tmp_path) -> None:
    """The rendered scene decodes frame for frame: no gaps, first frame at the requested start."""
    out = tmp_path / "scene.mp4"
    proc = run_bwc(
        "scene",
        "render",
        "--fps",
        "30",
        "--start",
        "12",
        "--duration",
        "2",
        "--out",
        str(out),
        "--width",
        "640",
        "--height",
        "360",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(run_bwc("analyze", str(out), "--json").stdout)["clips"][0]
    assert data["frames"] == data["decoded"] == 60
    assert data["first_ref_s"] == pytest.approx(12 + 0.5 / 60)
    assert data["gaps"] == [] and data["duplicates"] == []


def test_analyze_gives_each_broken_clip_its_verdict_and_goes_on(tmp_path) -> None:
    """A clip cut short, an empty file and a good clip: a verdict each, in order, and exit status 1."""
    from harness.analysis.bad_clips import CORPUS_TIMES, write_scene_clip

    good = write_scene_clip(tmp_path / "good.mp4", CORPUS_TIMES[:30], size=(160, 120), faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size * 3 // 4])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    proc = run_bwc("analyze", str(cut), str(empty), str(good), "--json")
    assert proc.returncode == 1, proc.stderr
    clips = json.loads(proc.stdout)["clips"]
    assert [Path(c["path"]).name for c in clips] == ["cut.mp4", "empty.mp4", "good.mp4"]
    assert clips[0]["verdict"].startswith(f"partial: {clips[0]['frames']} frames analysed; decode error at pts ")
    assert "truncated: the file ends inside its mdat box" in clips[0]["verdict"] and 0 < clips[0]["frames"] < 30
    assert clips[1]["verdict"] == "unreadable: empty file (0 bytes)" and clips[1]["frames"] is None
    assert clips[2]["verdict"] == "analysed" and clips[2]["frames"] == 30 and clips[2]["error"] is None
    table = run_bwc("analyze", str(cut), str(good))
    assert table.returncode == 1 and "partial:" in table.stdout and "analysed" in table.stdout


def test_analyze_with_a_present_log_puts_reference_time_on_the_display(tmp_path) -> None:
    """`--present-log`: the clip's reference times move onto the logged present times (here every
    frame shown 30 ms late); a damaged log is refused naming its file and line."""
    from harness.analysis.bad_clips import CORPUS_TIMES, write_scene_clip
    from harness.devices.display import RecordedPresentLog

    clip = write_scene_clip(tmp_path / "clip.mp4", CORPUS_TIMES[:30], size=(320, 240))
    shown = RecordedPresentLog(60.0)
    first = int(CORPUS_TIMES[0] * 60) - 120
    for n in range(first, first + 400):
        shown.record(n, n / 60 + 0.02, n / 60 + 0.03)
    log_file = tmp_path / "display_present_log.csv"
    shown.write_csv(log_file)
    plain = json.loads(run_bwc("analyze", str(clip), "--json").stdout)["clips"][0]
    proc = run_bwc("analyze", str(clip), "--json", "--present-log", str(log_file))
    assert proc.returncode == 0, proc.stderr
    moved = json.loads(proc.stdout)["clips"][0]
    assert moved["first_ref_s"] - plain["first_ref_s"] == pytest.approx(0.03, abs=1e-6)
    assert moved["last_ref_s"] - plain["last_ref_s"] == pytest.approx(0.03, abs=1e-6)
    lines = log_file.read_text().splitlines()
    lines[3] = lines[3].replace(",", ";", 1)
    log_file.write_text("\n".join(lines) + "\n")
    bad = run_bwc("analyze", str(clip), "--present-log", str(log_file))
    assert bad.returncode == 2 and "display_present_log.csv: line 4" in " ".join(bad.stdout.split())


# folders whose joined path reads "run [red]x[/red] [/] [bold": markup, a closing tag with nothing
# to close, an open bracket
ODD = Path("run [red]x[", "red] [", "] [bold")


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "clip.mp4", "--refresh", "0"],
        ["analyze", "clip.mp4", "--refresh", "-60"],
        ["analyze", "clip.mp4", "--refresh", "nan"],
        ["analyze", "clip.mp4", "--refresh", "inf"],
        ["analyze", "clip.mp4", "--press-at", "nan"],
        ["analyze", "clip.mp4", "--press-at", "inf"],
        ["analyze", "clip.mp4", "--timeout", "0"],
        ["analyze", "clip.mp4", "--timeout", "nan"],
        ["certify", "--workers", "-1"],
        ["scene", "render", "--duration", "1", "--out", "x.mp4", "--fps", "0"],
        ["scene", "render", "--fps", "30", "--duration", "nan", "--out", "x.mp4"],
        ["scene", "render", "--fps", "30", "--duration", "1", "--start", "inf", "--out", "x.mp4"],
        ["scene", "render", "--fps", "30", "--duration", "1", "--width", "0", "--out", "x.mp4"],
        ["scene", "render", "--fps", "30", "--duration", "1", "--height", "-1080", "--out", "x.mp4"],
        ["scene", "render", "--fps", "30", "--duration", "1", "--refresh", "0", "--out", "x.mp4"],
        ["scene", "render", "--fps", "30", "--duration", "1", "--run-id", "65536", "--out", "x.mp4"],
        ["scene", "render", "--fps", "30", "--duration", "1", "--utc-origin", "nan", "--out", "x.mp4"],
        ["emulate", "--duration", "nan"],
        ["emulate", "--duration", "-5"],
        ["calibrate", "display", "--rig", "rig.yaml", "--seconds", "0"],
        ["calibrate", "press", "--rig", "rig.yaml", "--presses", "1"],
    ],
)
def test_every_cli_number_is_checked_with_one_clear_line(argv: list[str], capsys, tmp_path, monkeypatch) -> None:
    """A figure that is not finite, or out of its range, stops the verb at once: exit code 2 and
    one error line naming the option and the value, before any clip, camera or file is touched."""
    from harness.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    option = next(a for a in reversed(argv) if a.startswith("--") and a != "--out")
    value = argv[argv.index(option) + 1]
    assert f"error: argument {option}: expected a " in err and f"got '{value}'" in err, err
    assert not list(tmp_path.iterdir())


def test_cli_numbers_in_range_are_taken() -> None:
    from harness.cli.common import FINITE, POSITIVE, REFRESH, number

    assert FINITE("-1.5") == -1.5 and POSITIVE("1e-3") == 0.001 and REFRESH("1000") == 1000.0
    assert number(0, 65535, integer=True)("65535") == 65535


def _printed(capsys) -> str:
    """What the command printed, lines joined: rich wraps long lines at the console width."""
    return "".join(capsys.readouterr().out.splitlines())


def test_verify_evidence_prints_an_odd_folder_name_as_it_is(tmp_path, capsys) -> None:
    """Brackets in a path are text, not rich markup: no MarkupError, the name is not altered."""
    from harness.cli import main

    folder = tmp_path / ODD
    folder.mkdir(parents=True)
    assert main(["verify-evidence", str(folder)]) == 2
    assert str(folder) in _printed(capsys)


def test_report_prints_odd_folder_and_scenario_names_as_they_are(tmp_path, capsys) -> None:
    from harness.cli import main
    from tests.harness.report.synthetic_runs import two_scenarios, write_run

    tests = two_scenarios()
    tests[1]["scenario"] = "stop [red]x[/red]"
    record = write_run(tmp_path / ODD, tests)
    assert main(["report", "--record", str(record), "--no-pdf"]) == 0
    printed = _printed(capsys)
    assert str(tmp_path / ODD / "report.html") in printed and str(tmp_path / ODD / "manifest.sha256") in printed
    assert main(["report", "--record", str(tmp_path / ODD / "missing [b].json"), "--no-pdf"]) == 2
    assert str(tmp_path / ODD / "missing [b].json") in _printed(capsys)


def test_requirements_prints_odd_scenario_file_names_as_they_are(tmp_path, capsys) -> None:
    from harness.cli import main

    folder = tmp_path / ODD
    folder.mkdir(parents=True)
    (folder / "[red]bad [i].yaml").write_text("id: [\n")
    assert main(["requirements", "--scenarios", str(folder)]) == 1
    printed = _printed(capsys)
    assert "[red]bad [i].yaml: cannot be read: line 2" in printed
    assert main(["requirements", "--scenarios", str(folder / "none [b]")]) == 2
    assert f"{folder / 'none [b]'}: not a folder of scenario files" in _printed(capsys)


def test_certify_table_prints_odd_camera_and_scenario_names_as_they_are(capsys) -> None:
    from harness.cli.certify import print_verdicts

    record = {
        "phase": "Phase [/] 1",
        "camera": {"vendor": "Acme [red]", "model": "[/red]", "firmware": "1"},
        "faults": [],
        "tests": [
            {
                "scenario": "stop [b]x[/b]",
                "requirements": ["BWC-STOP-01"],
                "verdict": "pass",
                "measurements": [],
                "error": None,
            }
        ],
    }
    print_verdicts(record)
    printed = _printed(capsys)
    assert "Acme [red] [/red] fw 1 - phase Phase [/] 1" in printed and "stop [b]x[/b]" in printed


@pytest.mark.skipif(not __import__("shutil").which("tesseract"), reason="Tesseract (tesseract-ocr) not installed")
def test_analyze_reads_a_text_overlay_given_its_layout(tmp_path) -> None:
    """`--burned-in text` with the overlay's layout reads the serial; the wrong layout says so in findings."""
    from harness.plan.profile import TextOverlay
    from tests.harness.emulator.test_overlay import overlay_camera, record

    cam = overlay_camera(tmp_path, (640, 360), TextOverlay(format="%m/%d/%Y %H:%M:%S", device_id=True), capture="off")
    ev, _ = record(cam, seconds=0.5)
    layout = ["--burned-in", "text", "--overlay-format", "%m/%d/%Y %H:%M:%S", "--overlay-device-id"]
    (clip,) = json.loads(run_bwc("analyze", str(ev.path), *layout, "--json").stdout)["clips"]
    assert clip["overlay_serial"] == cam.serial and clip["findings"] == []
    wrong = run_bwc("analyze", str(ev.path), *layout, "--overlay-corner", "bottom-right", "--json")
    (clip,) = json.loads(wrong.stdout)["clips"]
    assert clip["overlay_serial"] is None and any("bottom-right corner" in f for f in clip["findings"])
