"""``bwc certify`` with operator prompts: at a real pseudo-terminal (Ctrl-C, a timeout, a confirm
and a wrong then right value each recorded, the run going on after each failure), answered by the
emulated rig with ``--operator auto``, and refused up front where nobody could answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from harness.devices.operator import Answer, Prompt
from harness.devices.operator_relay import prompt_relay
from tests.conftest import REPO, bench_rig_file
from tests.pty_session import PtySession

ABORTED = {
    "id": "a-dock",
    "title": "Dock the camera (aborted)",
    "requirements": ["BWC-EVT-01"],
    "steps": [{"power": "on"}, {"prompt": {"text": "Dock the camera", "timeout_s": 60}}, {"wait": {"seconds": 5}}],
    "expect": {"clips": 0, "checks": ["clip_count"]},
}
TIMED_OUT = {
    **ABORTED,
    "id": "b-undock",
    "title": "Undock the camera (no answer)",
    "steps": [{"power": "on"}, {"prompt": {"text": "Undock the camera", "timeout_s": 1.5}}],
}
ANSWERED = {
    "id": "c-ready",
    "title": "Confirm READY, then one event",
    "requirements": ["BWC-EVT-01"],
    "steps": [
        {"power": "on"},
        {"wait": {"seconds": 15, "since": "power_on"}},
        {"prompt": {"text": "Confirm that the camera shows READY", "key": "camera_ready", "timeout_s": 60}},
        {
            "prompt": {
                "text": "Enter the camera serial",
                "expect": "value",
                "key": "camera_serial",
                "pattern": "EMU-[0-9]+",
            }
        },
        {"gesture": "start"},
        {"wait": {"seconds": 5}},
        {"gesture": "stop"},
        {"wait": {"seconds": 8}},
        {"power": "off"},
    ],
    "expect": {"clips": 1, "checks": ["clip_count"]},
}


def scenarios(tmp_path: Path, *docs: dict) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for doc in docs:
        (folder / f"{doc['id']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def certify(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``bwc certify`` as a job with no terminal (standard input empty), as CI and a station run it."""
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "certify", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )


def operator_actions(test: dict) -> list[dict]:
    return [a for a in test["timeline"] if a["kind"] == "operator"]


def test_prompts_at_a_terminal(tmp_path: Path) -> None:
    """Ctrl-C and a timeout each end their scenario as an error and the run goes on; the next
    scenario's confirm and value (one wrong value refused first) are recorded with who answered."""
    folder = scenarios(tmp_path, ABORTED, TIMED_OUT, ANSWERED)
    out = tmp_path / "out"
    bwc = [sys.executable, "-m", "harness.cli", "certify", "--operator", "terminal", "--out", str(out)]
    session = PtySession([*bwc, "--no-pdf", str(folder)], cwd=REPO)  # on an emulated rig: auto unless asked
    try:
        session.expect(">>> OPERATOR: Dock the camera", 180)
        session.expect("> ")
        session.send("\x03")
        session.expect(">>> OPERATOR: Undock the camera", 120)
        session.expect("no answer within 1.5 s", 30)
        session.expect(">>> OPERATOR: Confirm that the camera shows READY", 120)
        session.expect("> ")
        session.send("\r")
        session.expect(">>> OPERATOR: Enter the camera serial")
        session.expect("> ")
        session.send("EMU 1\r")
        session.expect("not accepted: the value must match EMU-[0-9]+")
        session.send("EMU-0001\r")
        code = session.wait(300)
    finally:
        session.kill()
    assert code == 1, session.text  # two scenarios in error
    record = json.loads((out / "record.json").read_text())
    tests = {t["scenario"]: t for t in record["tests"]}
    assert record["rig"]["operator"] not in ("auto", "nobody")
    assert tests["a-dock"]["verdict"] == "error" and "operator prompt aborted" in tests["a-dock"]["error"]
    assert tests["b-undock"]["verdict"] == "error" and "not answered within 1.5 s" in tests["b-undock"]["error"]
    assert tests["c-ready"]["verdict"] == "pass"
    (aborted,) = operator_actions(tests["a-dock"])
    assert (aborted["outcome"], aborted["note"], aborted["via"]) == ("aborted", "Ctrl-C", "terminal")
    (timeout,) = operator_actions(tests["b-undock"])
    assert timeout["outcome"] == "timeout" and timeout["waited_s"] >= 1.5
    ready, serial = operator_actions(tests["c-ready"])
    assert ready["outcome"] == "confirmed" and ready["by"] == record["rig"]["operator"]
    assert (serial["outcome"], serial["value"], serial["rejected"]) == ("value", "EMU-0001", ["EMU 1"])
    assert serial["answered_utc"] and serial["asked_t"] >= 15
    html = (out / "report.html").read_text()
    assert 'data-outcome="aborted"' in html and 'data-outcome="timeout"' in html and "<code>EMU-0001</code>" in html


def test_auto_operator_answers_on_the_emulated_rig(tmp_path: Path) -> None:
    folder = scenarios(tmp_path, ANSWERED)
    out = tmp_path / "out"
    proc = certify("--operator", "auto", "--out", str(out), "--no-pdf", str(folder))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((out / "record.json").read_text())
    assert record["rig"]["operator"] == "auto"
    ready, serial = operator_actions(record["tests"][0])
    assert (ready["outcome"], ready["by"], ready["via"]) == ("confirmed", "auto", "auto")
    assert (serial["outcome"], serial["value"]) == ("value", "EMU-0001")
    assert (
        'operator prompts answered by</th><td data-field="operator">auto (the emulated rig'
        in (out / "report.html").read_text()
    )


def test_nobody_to_answer_on_a_bench_is_refused_before_the_run(tmp_path: Path) -> None:
    folder = scenarios(tmp_path, ABORTED)
    rig = bench_rig_file(
        tmp_path / "bench.yaml",
        "bench-1",
        {"url": "/dev/ttyBWC-none"},
        {"resource": "TCPIP::127.0.0.1::9::SOCKET"},
        clips=str(tmp_path / "clips"),
    )
    for extra, expected in (
        ([], "standard input is not a terminal and the rig is a bench"),
        (["--operator", "auto"], "--operator auto answers only on an emulated rig"),
    ):
        proc = certify("--rig", str(rig), *extra, "--out", str(tmp_path / "o"), str(folder))
        assert proc.returncode == 2, proc.stdout + proc.stderr
        (line,) = proc.stdout.strip().splitlines()
        assert line.startswith("scenario(s) a-dock (its prompt steps) ask the operator: ") and expected in line


def test_a_hand_over_by_a_person_is_refused_before_the_run_when_nobody_can_answer(tmp_path: Path) -> None:
    """No prompt step, but the footage comes from the vendor's export: someone must export it."""
    no_prompt = {**ABORTED, "id": "d-plain", "steps": [{"power": "on"}, {"wait": {"seconds": 5}}]}
    folder = scenarios(tmp_path, no_prompt)
    (tmp_path / "export").mkdir()
    rig = bench_rig_file(
        tmp_path / "bench.yaml",
        "bench-1",
        {"url": "/dev/ttyBWC-none"},
        {"resource": "TCPIP::127.0.0.1::9::SOCKET"},
        clips={"kind": "export", "path": str(tmp_path / "export")},
    )
    proc = certify("--rig", str(rig), "--out", str(tmp_path / "o"), str(folder))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stdout.strip().splitlines()
    assert line.startswith("scenario(s) d-plain (the export folder) ask the operator: operator prompts need someone")
    assert not (tmp_path / "o" / "record.json").exists()


def test_a_stations_operator_answers_through_the_prompt_socket(tmp_path: Path) -> None:
    """How a station's unit run asks: every prompt goes over the socket to the station's operator
    (here a person called carol on the operator page), and the record says so."""
    asked: list[Prompt] = []

    def station_operator(prompt: Prompt) -> Answer:
        asked.append(prompt)
        if prompt.expect == "confirm":
            return Answer("confirmed", by="carol", via="web", waited_s=1.5)
        return Answer("value", by="carol", via="web", value="EMU-0001")

    folder = scenarios(tmp_path, ANSWERED)
    out = tmp_path / "out"
    with prompt_relay(station_operator) as relay:
        proc = certify("--operator-socket", str(relay.path), "--out", str(out), "--no-pdf", "--no-db", str(folder))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p.key for p in asked] == ["camera_ready", "camera_serial"]
    record = json.loads((out / "record.json").read_text())
    assert record["rig"]["operator"] == "relay"
    ready, serial = operator_actions(record["tests"][0])
    assert (ready["outcome"], ready["by"], ready["via"], ready["waited_s"]) == ("confirmed", "carol", "relay/web", 1.5)
    assert (serial["outcome"], serial["value"], serial["by"]) == ("value", "EMU-0001", "carol")
