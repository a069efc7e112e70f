"""The terminal operator on a real pseudo-terminal: confirm, a wrong value, a timeout and Ctrl-C
each give their recorded outcome; the automatic operator answers from the emulated bench."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness.core.clock import VirtualClock
from harness.core.timeline import OperatorAnswered, Timeline
from harness.devices.operator import NoOperator, Prompt, PromptUnanswered, answered, ask
from harness.emulator.operator import AutoOperator, register_auto_answer
from tests.pty_session import PtySession

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

ASK = """
import json, sys
from harness.devices.operator import Prompt, TerminalOperator
answer = TerminalOperator(name="tester").ask(Prompt(**json.loads(sys.argv[1])))
print("ANSWER " + json.dumps(answer.__dict__), flush=True)
"""


def asking(**prompt: object) -> PtySession:
    """A program that asks ``prompt`` at its terminal and prints the answer as JSON."""
    return PtySession([sys.executable, "-c", ASK, json.dumps(prompt)], cwd=Path(__file__).resolve().parents[3])


def answer_of(session: PtySession) -> dict:
    session.expect("ANSWER ")
    assert session.wait(30) == 0, session.text
    line = session.text[session.text.rindex("ANSWER ") :].splitlines()[0]
    return json.loads(line.removeprefix("ANSWER "))


def test_confirm_with_enter() -> None:
    session = asking(text="Confirm that the camera shows READY", timeout_s=30)
    session.expect(">>> OPERATOR: Confirm that the camera shows READY")
    session.expect("> ")
    session.send("\r")
    answer = answer_of(session)
    assert answer["outcome"] == "confirmed" and answer["by"] == "tester" and answer["via"] == "terminal"
    assert answer["answered_utc"] and answer["rejected"] == []


def test_no_declines() -> None:
    session = asking(text="Dock the camera", timeout_s=30)
    session.expect("> ")
    session.send("maybe\r")  # neither yes nor no: asked again
    session.expect("not accepted: answer y (done) or n (cannot be done)")
    session.send("n\r")
    answer = answer_of(session)
    assert answer["outcome"] == "declined" and answer["value"] == "n" and answer["rejected"] == ["maybe"]


def test_a_wrong_value_is_asked_again() -> None:
    session = asking(text="Enter the export folder", expect="value", pattern=r"/\S+", timeout_s=30)
    session.expect("> ")
    session.send("exports\r")
    session.expect(r"not accepted: the value must match /\S+")
    session.send("/srv/exports/run-7\r")
    answer = answer_of(session)
    assert answer["outcome"] == "value" and answer["value"] == "/srv/exports/run-7"
    assert answer["rejected"] == ["exports"]


def test_only_wrong_values_end_in_a_timeout() -> None:
    session = asking(text="Enter the export folder", expect="value", pattern=r"/\S+", timeout_s=2)
    session.expect("> ")
    session.send("exports\r")
    answer = answer_of(session)
    assert answer["outcome"] == "timeout" and answer["value"] is None and answer["rejected"] == ["exports"]


def test_no_answer_is_a_timeout() -> None:
    session = asking(text="Dock the camera", timeout_s=1.5)
    answer = answer_of(session)
    assert "no answer within 1.5 s" in session.text
    assert answer["outcome"] == "timeout" and 1.5 <= answer["waited_s"] < 5


def test_ctrl_c_aborts_the_prompt_not_the_program() -> None:
    session = asking(text="Dock the camera", timeout_s=30)
    session.expect("> ")
    session.send("\x03")  # the terminal turns it into SIGINT for the program
    answer = answer_of(session)  # the program went on and printed the answer
    assert answer["outcome"] == "aborted" and answer["note"] == "Ctrl-C"


def test_end_of_input_aborts() -> None:
    session = asking(text="Dock the camera", timeout_s=30)
    session.expect("> ")
    session.send("\x04")  # Ctrl-D on an empty line: end of input
    answer = answer_of(session)
    assert answer["outcome"] == "aborted" and answer["note"] == "end of input"


class Bench:
    """What the automatic operator reads of an emulated bench."""

    def __init__(self, state: str) -> None:
        from harness.emulator.camera_parts import CameraState

        self.camera = type("Camera", (), {"state": CameraState(state), "serial": "EMU-7"})()
        self.clock = VirtualClock()
        self.clip_folder = Path("/camera/DCIM")
        self.run_id = 42


def test_the_automatic_operator_answers_what_the_bench_shows() -> None:
    auto = AutoOperator(Bench("buffering"))
    assert auto.ask(Prompt("Confirm READY", key="camera_ready")).outcome == "confirmed"
    off = Bench("off")
    assert AutoOperator(off).ask(Prompt("Confirm READY", key="camera_ready", timeout_s=30)).outcome == "declined"
    assert off.clock.now() >= 30  # like a person, it waited for READY until the prompt's timeout
    assert auto.ask(Prompt("Dock the camera")).outcome == "confirmed"  # nothing to contradict it
    serial = auto.ask(Prompt("Serial?", "value", key="camera_serial"))
    assert (serial.outcome, serial.value, serial.by, serial.via) == ("value", "EMU-7", "auto", "auto")
    unknown = auto.ask(Prompt("Export folder?", "value", key="nothing_known"))
    assert unknown.outcome == "declined" and "no answer for 'nothing_known'" in (unknown.note or "")
    refused = auto.ask(Prompt("Run id?", "value", key="run_id", pattern=r"[a-z]+"))
    assert refused.outcome == "declined" and "refused" in (refused.note or "")


def test_the_automatic_operator_confirms_ready_once_the_camera_has_booted() -> None:
    from harness.emulator.camera_parts import CameraState

    bench = Bench("booting")
    bench.clock.call_at(7.0, lambda: setattr(bench.camera, "state", CameraState.BUFFERING))
    answer = AutoOperator(bench).ask(Prompt("Confirm READY", key="camera_ready", timeout_s=30))
    assert answer.outcome == "confirmed" and 7.0 <= bench.clock.now() < 7.2


def test_auto_answer_hooks_by_key() -> None:
    """Other code registers what the emulated rig can answer; one operator can override it."""
    register_auto_answer("export_folder_test", lambda bench, prompt: f"/exports/{bench.run_id}")
    auto = AutoOperator(Bench("buffering"))
    prompt = Prompt("Export folder?", "value", key="export_folder_test")
    assert auto.ask(prompt).value == "/exports/42"
    auto.answer_with("export_folder_test", lambda bench, prompt: "/elsewhere")
    assert auto.ask(prompt).value == "/elsewhere"


def test_ask_records_every_answer_and_raises_for_a_missing_one() -> None:
    timeline, clock = Timeline(), VirtualClock()
    auto = AutoOperator(Bench("buffering"))
    assert ask(auto, Prompt("Serial?", "value", key="camera_serial"), timeline, clock).value == "EMU-7"
    with pytest.raises(PromptUnanswered, match="operator prompt aborted by nobody .no terminal.: Dock"):
        ask(NoOperator("no terminal"), Prompt("Dock"), timeline, clock)
    details = [a.detail for a in timeline.actions]
    assert all(isinstance(d, OperatorAnswered) for d in details)
    assert [(a.kind, a.details()["outcome"]) for a in timeline.actions] == [
        ("operator", "value"),
        ("operator", "aborted"),
    ]
    assert answered(timeline, "camera_serial") == "EMU-7"
