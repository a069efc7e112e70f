"""Prompts relayed over a real Unix socket from a suite's process to the station's operator."""

from __future__ import annotations

import threading
from pathlib import Path

from harness.devices.operator import Answer, Prompt
from harness.devices.operator_relay import PromptRelay, RelayOperator, prompt_relay


def test_a_prompt_reaches_the_stations_operator_and_its_answer_comes_back() -> None:
    seen: list[Prompt] = []

    def station_operator(prompt: Prompt) -> Answer:
        seen.append(prompt)
        return Answer("value", by="alice", via="web", value="/exports/run-7", rejected=("x",), waited_s=4.2)

    asked = Prompt("Enter the export folder", "value", 60.0, "export_folder", r"/.+")
    with prompt_relay(station_operator) as relay:
        answer = RelayOperator(relay.path).ask(asked)
    assert seen == [asked]  # every field crossed the socket
    assert (answer.outcome, answer.by, answer.via, answer.value) == ("value", "alice", "relay/web", "/exports/run-7")
    assert answer.rejected == ("x",) and answer.waited_s == 4.2 and answer.ok
    assert not relay.path.exists() and not relay.path.parent.exists()  # nothing left behind


def test_prompts_from_two_benches_are_answered_each_in_turn() -> None:
    lock = threading.Lock()

    def station_operator(prompt: Prompt) -> Answer:
        with lock:  # the station asks one prompt at a time
            return Answer("confirmed", by="bob", via="terminal", note=prompt.text)

    with prompt_relay(station_operator) as relay:
        answers: list[Answer] = []
        threads = [
            threading.Thread(target=lambda t=t: answers.append(RelayOperator(relay.path).ask(Prompt(t))))
            for t in ("bench-1 READY?", "bench-2 READY?")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert sorted(a.note or "" for a in answers) == ["bench-1 READY?", "bench-2 READY?"]
    assert all(a.outcome == "confirmed" and a.via == "relay/terminal" for a in answers)


def test_no_station_behind_the_socket_aborts_the_prompt_with_the_reason(tmp_path: Path) -> None:
    answer = RelayOperator(tmp_path / "gone.sock").ask(Prompt("Confirm READY"))
    assert answer.outcome == "aborted" and not answer.ok
    assert answer.note is not None and f"could not be asked over {tmp_path / 'gone.sock'}" in answer.note


def test_a_station_that_never_answers_aborts_after_the_prompts_timeout() -> None:
    release = threading.Event()

    def never(prompt: Prompt) -> Answer:
        release.wait(10)
        return Answer("confirmed", by="late", via="web")

    relay = PromptRelay(never)
    try:
        answer = RelayOperator(relay.path, margin_s=0.2).ask(Prompt("Confirm READY", timeout_s=0.3))
    finally:
        release.set()
        relay.close()
    assert answer.outcome == "aborted" and "no answer" in (answer.note or "")


def test_a_reply_that_is_not_an_answer_aborts_the_prompt() -> None:
    with prompt_relay(lambda prompt: Answer("maybe", by="x", via="web")) as relay:  # type: ignore[arg-type]
        answer = RelayOperator(relay.path).ask(Prompt("Confirm READY"))
    assert answer.outcome == "aborted" and "outcome 'maybe'" in (answer.note or "")
