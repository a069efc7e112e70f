"""The operator at the bench, behind one protocol: show an instruction, wait for the answer.

A real camera needs a person now and then: confirm that it shows READY, dock it, type in the
folder an export went to. A scenario asks with a ``prompt`` step; docking by hand and the vendor
export ask through the same :class:`Operator`. Whoever answers, the answer comes back as an
:class:`Answer` that says who answered (a person's login name, or ``auto``), how (``terminal`` or
``auto``), what and how long it took, and :func:`ask` writes it into the done-timeline as an
``operator`` action (:class:`~harness.core.timeline.OperatorAnswered`), which the run record and
the report show.

Outcomes: ``confirmed`` and ``value`` let the scenario go on; ``declined`` (the operator says the
instruction could not be done), ``timeout`` (no answer within the prompt's ``timeout_s``) and
``aborted`` (Ctrl-C or end of input) end it as an error, the power made safe by the runner.

A value that does not match the prompt's ``pattern`` (a confirm answer that is neither yes nor
no) is refused with the reason and asked again until the timeout: a typo costs a retype, not the
scenario; the refused values are kept in the record.

:class:`TerminalOperator` reads the keyboard; the emulated rig's automatic operator lives in the
emulator (:mod:`harness.emulator.operator`).
"""

from __future__ import annotations

import codecs
import contextlib
import getpass
import os
import re
import select
import sys
import termios
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, TextIO

from harness.core.clock import wall_utc
from harness.core.timeline import Action, OperatorAnswered

if TYPE_CHECKING:
    from harness.core.clock import Clock
    from harness.core.timeline import Timeline
    from harness.plan.profile import CameraProfile
    from harness.plan.scenario import PromptStep

Expect = Literal["confirm", "value"]
Outcome = Literal["confirmed", "value", "declined", "timeout", "aborted"]
#: outcomes after which the scenario goes on
ANSWERED: tuple[Outcome, ...] = ("confirmed", "value")
#: what a person types to confirm, or to say the instruction could not be done
YES = ("", "y", "yes", "ok", "done")
NO = ("n", "no")


@dataclass(frozen=True)
class Prompt:
    """One instruction for the operator (a scenario's ``prompt`` step, or a dock or export asking)."""

    text: str
    expect: Expect = "confirm"
    timeout_s: float = 300.0
    key: str | None = None  # what the answer is (export_folder, ...): the automatic operator answers by it
    pattern: str | None = None  # a value must match this regular expression, whole

    @classmethod
    def from_step(cls, step: PromptStep, profile: CameraProfile) -> Prompt:
        """The scenario's prompt step as this camera's operator reads it (profile fields filled in)."""
        return cls(step.text_for(profile), step.expect, step.timeout_s, step.key, step.pattern)

    def refusal(self, value: str) -> str | None:
        """Why ``value`` is no answer to this prompt (None: it is one)."""
        if self.expect == "confirm":
            word = value.strip().lower()
            return None if word in YES or word in NO else "answer y (done) or n (cannot be done)"
        if not value.strip():
            return "a value is needed"
        if self.pattern is not None and re.fullmatch(self.pattern, value.strip()) is None:
            return f"the value must match {self.pattern}"
        return None


@dataclass(frozen=True)
class Answer:
    """What came back from the operator."""

    outcome: Outcome
    by: str  # who answered: a login name, or "auto"
    via: str  # how: "terminal", "auto"
    value: str | None = None
    rejected: tuple[str, ...] = ()  # values refused before the answer (or the timeout)
    waited_s: float = 0.0  # wall-clock seconds from showing the instruction to the answer
    answered_utc: str = ""
    note: str | None = None  # why an automatic answer is what it is, or why there was none

    @property
    def ok(self) -> bool:
        """Whether the scenario goes on."""
        return self.outcome in ANSWERED


class Operator(Protocol):
    """Whoever answers the harness's instructions at the bench."""

    @property
    def name(self) -> str:
        """Who answers: a login name, or "auto"."""

    def ask(self, prompt: Prompt) -> Answer:
        """Show ``prompt`` and wait (at most its ``timeout_s``) for the answer. Never raises for a
        missing answer: a timeout or an abort is an :class:`Answer` too."""


class PromptUnanswered(RuntimeError):
    """An instruction was not carried out (declined, timed out, aborted): the scenario ends as an error."""

    def __init__(self, prompt: Prompt, answer: Answer) -> None:
        self.prompt = prompt
        self.answer = answer
        why = {
            "declined": "declined",
            "timeout": f"not answered within {prompt.timeout_s:g} s",
            "aborted": "aborted",
        }.get(answer.outcome, answer.outcome)
        note = f" ({answer.note})" if answer.note else ""
        super().__init__(f"operator prompt {why} by {answer.by}{note}: {prompt.text}")


class NoOperator:
    """No one can answer (no terminal, a bench rig without ``--operator``): asking fails with the reason."""

    via = "none"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    @property
    def name(self) -> str:
        return "nobody"

    def ask(self, prompt: Prompt) -> Answer:
        return Answer("aborted", self.name, self.via, answered_utc=wall_utc().isoformat(), note=self.reason)


def ask(operator: Operator, prompt: Prompt, timeline: Timeline, clock: Clock) -> Answer:
    """Ask ``operator``, record the answer as an ``operator`` action in ``timeline`` (at the
    harness-clock time of the answer) and return it; an answer that does not let the scenario go
    on raises :class:`PromptUnanswered` after it is recorded."""
    asked_t = clock.now()
    answer = operator.ask(prompt)
    timeline.add(
        Action(
            clock.now(),
            "operator",
            "prompt",
            OperatorAnswered(
                text=prompt.text,
                expect=prompt.expect,
                outcome=answer.outcome,
                by=answer.by,
                via=answer.via,
                asked_t=asked_t,
                waited_s=round(answer.waited_s, 3),
                answered_utc=answer.answered_utc or wall_utc().isoformat(),
                key=prompt.key,
                value=answer.value,
                rejected=answer.rejected or None,
                note=answer.note,
            ),
        )
    )
    if not answer.ok:
        raise PromptUnanswered(prompt, answer)
    return answer


def answered(timeline: Timeline, key: str) -> str | None:
    """The value last given for ``key`` in this scenario (None: not asked, or no value)."""
    for action in reversed(timeline.actions):
        detail = action.detail
        if isinstance(detail, OperatorAnswered) and detail.key == key and detail.outcome in ANSWERED:
            return detail.value
    return None


Suspend = Callable[[], AbstractContextManager[object]]


class TerminalOperator:
    """A person at the terminal: the instruction is printed, the answer read from the keyboard.

    Reads ``input_fd`` (default standard input) with ``select``, so the prompt's timeout holds
    however long a person waits. On a terminal the keys are read one by one (the terminal's own
    line editing and signal keys switched off meanwhile, and restored): Ctrl-C aborts the prompt
    and nothing else (no SIGINT reaches the harness's helper processes), Ctrl-D on an empty line
    is the end of input, Backspace and Ctrl-U edit the line. From a pipe, lines are read as they
    come and the end of input aborts. An interrupt from elsewhere (SIGINT) aborts the prompt too;
    either way the run goes on with the next scenario. ``suspend`` steps around output and input
    capture (pytest's) while the operator is asked.
    """

    via = "terminal"

    def __init__(
        self,
        input_fd: int | None = None,
        output: TextIO | None = None,
        suspend: Suspend = contextlib.nullcontext,
        name: str | None = None,
    ) -> None:
        self._input_fd = input_fd
        self._output = output
        self._suspend = suspend
        self._name = name or _login_name()

    @property
    def name(self) -> str:
        return self._name

    def ask(self, prompt: Prompt) -> Answer:
        with self._suspend():
            fd = self._input_fd if self._input_fd is not None else sys.stdin.fileno()
            return _Session(prompt, fd, self._output or sys.stdout, self.name, self.via).run()


class _Session:
    """One prompt at the terminal: shows it, edits the typed line, judges each line."""

    def __init__(self, prompt: Prompt, fd: int, out: TextIO, name: str, via: str) -> None:
        self.prompt, self.fd, self.out, self.name, self.via = prompt, fd, out, name, via
        self.start = time.monotonic()
        self.rejected: list[str] = []
        self.line = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def done(self, outcome: Outcome, value: str | None = None, note: str | None = None) -> Answer:
        return Answer(
            outcome,
            self.name,
            self.via,
            value,
            tuple(self.rejected),
            time.monotonic() - self.start,
            wall_utc().isoformat(),
            note,
        )

    def say(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def run(self) -> Answer:
        prompt = self.prompt
        hint = (
            "Enter or y when done, n if it cannot be done"
            if prompt.expect == "confirm"
            else "type the value and Enter" + (f" (must match {prompt.pattern})" if prompt.pattern else "")
        )
        saved = None
        try:
            if os.isatty(self.fd):
                saved = termios.tcgetattr(self.fd)
                keys = termios.tcgetattr(self.fd)
                keys[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG)  # lflags: we edit, echo and see Ctrl-C
                keys[6][termios.VMIN], keys[6][termios.VTIME] = 1, 0
                termios.tcsetattr(self.fd, termios.TCSANOW, keys)
            self.say(f"\n>>> OPERATOR: {prompt.text}\n    [{hint}; Ctrl-C aborts; {prompt.timeout_s:g} s]\n> ")
            return self._read(saved is not None)
        except KeyboardInterrupt:
            self.say("\n    aborted\n")
            return self.done("aborted", note="Ctrl-C")
        finally:
            if saved is not None:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)

    def _read(self, keys: bool) -> Answer:
        deadline = self.start + self.prompt.timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.say(f"\n    no answer within {self.prompt.timeout_s:g} s\n")
                return self.done("timeout")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self.fd, 4096)
            if not chunk:
                self.say("\n    input closed\n")
                return self.done("aborted", note="end of input")
            for char in self.decoder.decode(chunk):
                answer = self._key(char) if keys else self._char(char)
                if answer is not None:
                    return answer

    def _key(self, char: str) -> Answer | None:
        """One key typed at the terminal (echoed here: the terminal's echo is off)."""
        if char == "\x03":
            self.say("^C\n    aborted\n")
            return self.done("aborted", note="Ctrl-C")
        if char == "\x04" and not self.line:
            self.say("\n    input closed\n")
            return self.done("aborted", note="end of input")
        if char in ("\x7f", "\x08"):
            if self.line:
                self.line = self.line[:-1]
                self.say("\b \b")
            return None
        if char == "\x15":  # Ctrl-U: start the line again
            self.say("\b \b" * len(self.line))
            self.line = ""
            return None
        if char in ("\r", "\n"):
            self.say("\n")
            return self._line()
        if char.isprintable():
            self.line += char
            self.say(char)
        return None

    def _char(self, char: str) -> Answer | None:
        """One character read from a pipe: a line ends at a newline."""
        if char == "\n":
            return self._line()
        if char != "\r":
            self.line += char
        return None

    def _line(self) -> Answer | None:
        """Judge a finished line: the answer, or None (refused, asked again)."""
        line, self.line = self.line, ""
        why = self.prompt.refusal(line)
        if why is not None:
            self.rejected.append(line)
            self.say(f"    not accepted: {why}\n> ")
            return None
        if self.prompt.expect == "confirm":
            word = line.strip().lower()
            return self.done("confirmed" if word in YES else "declined", value=word or None)
        return self.done("value", value=line.strip())


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in a container without a passwd entry
        return "operator"
