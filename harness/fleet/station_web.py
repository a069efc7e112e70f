"""The station's operator page: a Starlette app served by uvicorn in the station's process.

The page shows the current unit, the scenario under way with the progress, each measurement as it
is made, the operator's prompts with confirm and abort buttons, the verdict in large type and the
history of the shift. It follows the station through server-sent events (``/events``); the buttons
post to ``/api/answer``. :class:`WebOperator` is the station's :class:`~harness.devices.operator.
Operator` when the page is used: the same prompts as at the terminal, answered by a click.

Safety: it binds 127.0.0.1 unless told otherwise; bound to any other interface it refuses to start
without a token, and then every request must carry it (``?token=`` or ``Authorization: Bearer``).
Without a token it answers only requests addressed to this machine by name (the ``Host`` header a
loopback address or ``localhost``), so a web page elsewhere cannot reach it through a name that
resolves here. An answer is taken only as JSON from the page's own origin, which another site's page
cannot post in a browser. It serves its one page from memory and nothing from the filesystem.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from harness.core.clock import wall_utc
from harness.devices.operator import NO, YES, Answer, Outcome, Prompt

CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:"
_MEASUREMENTS_KEPT = 200


class PageError(ValueError):
    """The page cannot be served as asked (a non-local address without a token): one line."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class StationPage:
    """What the page shows, kept from the station's events, and the clients following it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.state: dict[str, Any] = {
            "shift": None,
            "unit": None,
            "step": None,
            "measurements": [],
            "verdict": None,
            "prompt": None,
            "history": [],
            "ended": None,
            "warnings": [],
        }
        self._seq = itertools.count(1)
        self._clients: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = []

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self.state, default=str))

    def on_event(self, event: dict[str, Any]) -> None:
        """A station listener: update the state, pass the event to every page open."""
        kind = event.get("type")
        with self._lock:
            s = self.state
            if kind == "shift":
                s["shift"] = event
            elif kind == "unit":
                s["unit"], s["measurements"], s["verdict"], s["step"] = event, [], None, None
            elif kind == "step":
                s["step"] = event
            elif kind == "measurement":
                s["measurements"] = [*s["measurements"], event][-_MEASUREMENTS_KEPT:]
            elif kind == "verdict":
                s["verdict"] = event
                s["history"] = [*s["history"], event]
            elif kind == "end":
                s["ended"] = event
            elif kind == "warning":
                s["warnings"] = [*s["warnings"], event][-20:]
            clients = list(self._clients)
        self.publish(event, clients)

    def set_prompt(self, prompt: dict[str, Any] | None) -> None:
        with self._lock:
            self.state["prompt"] = prompt
            clients = list(self._clients)
        self.publish({"type": "prompt_state", "prompt": prompt}, clients)

    def publish(self, event: dict[str, Any], clients: list[Any] | None = None) -> None:
        event = {**event, "seq": next(self._seq)}
        for loop, q in clients if clients is not None else list(self._clients):
            with contextlib.suppress(RuntimeError):  # a page closed while its loop stops
                loop.call_soon_threadsafe(q.put_nowait, event)

    def follow(self) -> tuple[asyncio.Queue[dict[str, Any]], Any]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        entry = (asyncio.get_running_loop(), q)
        with self._lock:
            self._clients.append(entry)

        def leave() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._clients.remove(entry)

        return q, leave


class WebOperator:
    """The operator answering on the page: a prompt waits for a click (or its timeout)."""

    via = "web"

    def __init__(self, page: StationPage, name: str = "operator") -> None:
        self.page = page
        self._name = name
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._answers: dict[int, tuple[str, str | None]] = {}
        self._pending: int | None = None
        self._closed = False

    @property
    def name(self) -> str:
        return self._name

    def close(self) -> None:
        """No more answers (the page stops): a waiting prompt is aborted."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def answer(self, prompt_id: int, action: str, value: str | None = None) -> str | None:
        """A click: ``confirm``, ``decline``, ``abort`` or ``value``; returns why it is refused (None: taken)."""
        with self._cond:
            if prompt_id != self._pending:
                return "no such prompt is waiting (answered already?)"
            if action not in ("confirm", "decline", "abort", "value"):
                return f"unknown action {action!r}"
            self._answers[prompt_id] = (action, value)
            self._cond.notify_all()
        return None

    def ask(self, prompt: Prompt) -> Answer:
        pid = next(self._ids)
        start = time.monotonic()
        rejected: list[str] = []
        shown = {"id": pid, "text": prompt.text, "expect": prompt.expect, "timeout_s": prompt.timeout_s}
        with self._cond:
            self._pending = pid
        self.page.set_prompt({**shown, "refused": None})
        outcome: Outcome = "timeout"
        value: str | None = None
        note: str | None = None
        try:
            deadline = start + prompt.timeout_s
            while True:
                with self._cond:
                    while pid not in self._answers and not self._closed:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(min(left, 1.0))
                    got = self._answers.pop(pid, None)
                    closed = self._closed
                if got is None:
                    outcome, note = ("aborted", "the operator page stopped") if closed else ("timeout", None)
                    break
                action, typed = got
                if action == "abort":
                    outcome, note = "aborted", "abort pressed on the operator page"
                    break
                if prompt.expect == "confirm":
                    word = "y" if action == "confirm" else "n" if action == "decline" else (typed or "").strip().lower()
                    if word in YES or word in NO:
                        outcome = "confirmed" if word in YES else "declined"
                        value = word
                        break
                elif action == "decline":
                    outcome = "declined"
                    break
                typed = (typed or "").strip()
                why = prompt.refusal(typed)
                if why is None and prompt.expect == "value":
                    outcome, value = "value", typed
                    break
                rejected.append(typed)
                self.page.set_prompt({**shown, "refused": why or "not an answer"})
        finally:
            with self._cond:
                self._pending = None
            self.page.set_prompt(None)
        return Answer(
            outcome, self.name, self.via, value, tuple(rejected), time.monotonic() - start, wall_utc().isoformat(), note
        )


def _page_html() -> str:
    return resources.files("harness.fleet").joinpath("static/station.html").read_text(encoding="utf-8")


def create_app(page: StationPage, operator: WebOperator | None, token: str | None) -> Starlette:
    """The page's routes; every one checks the token when there is one."""
    html = _page_html()

    def allowed(request: Request) -> bool:
        if token is None:
            return is_loopback(urlsplit("//" + request.headers.get("host", "")).hostname or "")
        given = request.query_params.get("token") or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        return secrets.compare_digest(given.encode(), token.encode())

    def denied() -> Response:
        if token is None:
            return JSONResponse({"error": "this page answers only at a loopback address"}, status_code=403)
        return JSONResponse({"error": "a valid token is required"}, status_code=401)

    def headers() -> dict[str, str]:
        return {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}

    async def index(request: Request) -> Response:
        if not allowed(request):
            return denied()
        return HTMLResponse(html, headers=headers())

    async def state(request: Request) -> Response:
        if not allowed(request):
            return denied()
        return JSONResponse(page.snapshot(), headers=headers())

    async def events(request: Request) -> Response:
        if not allowed(request):
            return denied()
        q, leave = page.follow()

        async def stream() -> AsyncIterator[str]:
            try:
                yield f"event: state\ndata: {json.dumps(page.snapshot(), default=str)}\n\n"
                while True:
                    try:
                        event = await asyncio.wait_for(q.get(), timeout=10)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield ": keep-alive\n\n"
                        continue
                    yield f"data: {json.dumps(event, default=str)}\n\n"
            finally:
                leave()

        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers())

    async def answer(request: Request) -> Response:
        if not allowed(request):
            return denied()
        if operator is None:
            return JSONResponse({"error": "prompts are answered at the terminal on this station"}, status_code=409)
        origin = request.headers.get("origin")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json" or (
            origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}"
        ):
            return JSONResponse({"error": "answers come as JSON from this page only"}, status_code=403)
        try:
            body = await request.json()
            pid, action = int(body["id"]), str(body["action"])
            value = body.get("value")
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "expected {id, action[, value]}"}, status_code=400)
        why = operator.answer(pid, action, None if value is None else str(value))
        if why is not None:
            return JSONResponse({"error": why}, status_code=409)
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/state", state),
            Route("/events", events),
            Route("/api/answer", answer, methods=["POST"]),
        ]
    )


class PageServer:
    """uvicorn serving the page on a thread of the station's process."""

    def __init__(self, page: StationPage, operator: WebOperator | None, host: str, port: int, token: str | None):
        import uvicorn

        if not is_loopback(host) and not token:
            raise PageError(
                f"the operator page binds {host}, beyond this machine: give a token (--token, or --token auto)"
            )
        self.host = host
        self.token = token
        config = uvicorn.Config(
            create_app(page, operator, token),
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=1,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout_s: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise PageError(f"the operator page could not be served on {self.host}")
            time.sleep(0.05)

    @property
    def port(self) -> int:
        for server in getattr(self.server, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)
