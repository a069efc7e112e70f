"""Operator prompts relayed over a Unix socket, for a suite running in a process of its own.

A test station runs each unit's suite as a child ``bwc certify`` (a unit that hangs costs that
unit only), but the person answering sits at the station: its terminal or its operator page. The
child's :class:`RelayOperator` sends each prompt to the station's :class:`PromptRelay`, which asks
the station's own operator and sends the answer back; the child records it as any other answer
(who answered, how, when), with ``via`` naming both ends (``relay/web``).

The wire format is one JSON object per line each way: the prompt's fields, then the answer's.
Nothing else crosses the socket; it lives in a private folder (mode 0700) of the station.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

from harness.core.clock import wall_utc
from harness.devices.operator import Answer, Prompt

log = logging.getLogger(__name__)

#: longest line either end accepts (a prompt's text is at most 2000 characters)
MAX_LINE = 64 * 1024
#: how long past the prompt's own timeout the child waits for the station (s)
REPLY_MARGIN_S = 30.0


class RelayOperator:
    """Answers a prompt by asking the station behind the socket at ``path``."""

    via = "relay"

    def __init__(self, path: Path | str, margin_s: float = REPLY_MARGIN_S) -> None:
        self.path = str(path)
        self.margin_s = margin_s

    @property
    def name(self) -> str:
        return "relay"

    def ask(self, prompt: Prompt) -> Answer:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(prompt.timeout_s + self.margin_s)
                sock.connect(self.path)
                sock.sendall(json.dumps(asdict(prompt)).encode() + b"\n")
                with sock.makefile("rb") as reply:
                    line = reply.readline(MAX_LINE)
            return _answer(json.loads(line))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            why = "no answer" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            return Answer(
                "aborted",
                by="relay",
                via=self.via,
                answered_utc=wall_utc().isoformat(),
                note=f"the station's operator could not be asked over {self.path}: {why}",
            )


def _answer(data: dict[str, object]) -> Answer:
    """An answer from its wire form (a reply that is not one raises KeyError, TypeError or ValueError)."""
    outcome = str(data["outcome"])
    if outcome not in ("confirmed", "value", "declined", "timeout", "aborted"):
        raise ValueError(f"the station replied with outcome {outcome!r}")
    value = data.get("value")
    rejected = data.get("rejected") or ()
    if not isinstance(rejected, list | tuple):
        raise TypeError("rejected must be a list")
    return Answer(
        outcome,  # type: ignore[arg-type]  # checked above
        by=str(data["by"]),
        via=f"relay/{data.get('via') or 'station'}",
        value=None if value is None else str(value),
        rejected=tuple(str(v) for v in rejected),
        waited_s=float(data.get("waited_s") or 0.0),  # type: ignore[arg-type]
        answered_utc=str(data.get("answered_utc") or wall_utc().isoformat()),
        note=None if data.get("note") is None else str(data.get("note")),
    )


class PromptRelay:
    """The station's end: every prompt arriving at the socket is put to ``ask`` (the station's
    operator), one connection per prompt, each on its own thread; the answer goes back."""

    def __init__(self, ask: Callable[[Prompt], Answer]) -> None:
        self.ask = ask
        self._dir = Path(tempfile.mkdtemp(prefix="bwc-operator-"))  # 0700: only this user reaches it
        self.path = self._dir / "prompts.sock"
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        self._server.listen(4)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="prompt-relay", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._one, args=(conn,), name="prompt-relay-ask", daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            try:
                data = json.loads(lines.readline(MAX_LINE))
                prompt = Prompt(
                    text=str(data["text"]),
                    expect="value" if data.get("expect") == "value" else "confirm",
                    timeout_s=float(data.get("timeout_s") or 300.0),
                    key=None if data.get("key") is None else str(data["key"]),
                    pattern=None if data.get("pattern") is None else str(data["pattern"]),
                )
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("a prompt relayed to the station was not one (%s): ignored", exc)
                return
            answer = self.ask(prompt)
            reply = asdict(answer)
            with contextlib.suppress(OSError):  # the suite ended meanwhile: nobody to tell
                conn.sendall(json.dumps(reply).encode() + b"\n")

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            self._dir.rmdir()


@contextlib.contextmanager
def prompt_relay(ask: Callable[[Prompt], Answer]) -> Iterator[PromptRelay]:
    """A :class:`PromptRelay` for the time of the block."""
    relay = PromptRelay(ask)
    try:
        yield relay
    finally:
        relay.close()
