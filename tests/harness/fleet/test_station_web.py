"""The operator page's server: token, no filesystem, prompts answered over HTTP (WebOperator)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest

from harness.devices.operator import Answer, Prompt
from harness.fleet.station_web import PageError, PageServer, StationPage, WebOperator, is_loopback


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def served():
    page = StationPage()
    operator = WebOperator(page, "bob")
    server = PageServer(page, operator, "127.0.0.1", 0, "s3cret")
    server.start()
    yield page, operator, f"http://127.0.0.1:{server.port}"
    operator.close()
    server.stop()


def test_beyond_localhost_a_token_is_required() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.7")
    with pytest.raises(PageError, match="token"):
        PageServer(StationPage(), None, "0.0.0.0", 0, None)


def test_token_and_nothing_from_the_filesystem(served) -> None:
    _, _, base = served
    assert get(f"{base}/")[0] == 401
    assert get(f"{base}/?token=wrong")[0] == 401
    status, headers, body = get(f"{base}/?token=s3cret")
    assert status == 200 and b"<title>bwc station</title>" in body
    assert "default-src 'none'" in headers["content-security-policy"]
    assert get(f"{base}/api/state", {"Authorization": "Bearer s3cret"})[0] == 200
    for path in ("/etc/passwd", "/../../etc/passwd", "/static/station.html", "/harness/fleet/station.py", "/%2e%2e/x"):
        assert get(f"{base}{path}?token=s3cret")[0] == 404, path


def ask_in_thread(operator: WebOperator, prompt: Prompt) -> tuple[threading.Thread, list[Answer]]:
    got: list[Answer] = []
    t = threading.Thread(target=lambda: got.append(operator.ask(prompt)), daemon=True)
    t.start()
    return t, got


def wait_prompt(page: StationPage) -> dict[str, Any]:
    for _ in range(200):
        p = page.snapshot()["prompt"]
        if p is not None:
            return p
        threading.Event().wait(0.02)
    raise AssertionError("no prompt shown")


def test_prompts_answered_from_the_page(served) -> None:
    page, operator, base = served
    url = f"{base}/api/answer?token=s3cret"
    t, got = ask_in_thread(operator, Prompt("Connect unit 1", key="unit_connected"))
    p = wait_prompt(page)
    assert p["text"] == "Connect unit 1" and p["expect"] == "confirm"
    assert post(url, {"id": p["id"] + 1, "action": "confirm"})[0] == 409  # not the prompt waiting
    assert post(url, {"id": p["id"], "action": "confirm"}) == (200, {"ok": True})
    t.join(5)
    assert got[0].outcome == "confirmed" and got[0].by == "bob" and got[0].via == "web"
    assert page.snapshot()["prompt"] is None

    t, got = ask_in_thread(operator, Prompt("Serial?", "value", key="camera_serial", pattern=r"[A-Z]{3}-\d+"))
    p = wait_prompt(page)
    post(url, {"id": p["id"], "action": "value", "value": "abc"})
    for _ in range(100):
        if (page.snapshot()["prompt"] or {}).get("refused"):
            break
        threading.Event().wait(0.02)
    assert "must match" in page.snapshot()["prompt"]["refused"]
    post(url, {"id": p["id"], "action": "value", "value": "EMU-7"})
    t.join(5)
    assert (got[0].outcome, got[0].value, got[0].rejected) == ("value", "EMU-7", ("abc",))

    t, got = ask_in_thread(operator, Prompt("Re-test?", key="retest"))
    post(url, {"id": wait_prompt(page)["id"], "action": "abort"})
    t.join(5)
    assert got[0].outcome == "aborted" and not got[0].ok


def test_an_unanswered_prompt_times_out(served) -> None:
    _, operator, _ = served
    answer = operator.ask(Prompt("Nobody there", timeout_s=0.3))
    assert answer.outcome == "timeout"


def test_the_page_follows_the_station(served) -> None:
    page, _, base = served
    page.on_event({"type": "shift", "bench": "b1", "lot": "L", "operator": "bob"})
    page.on_event({"type": "unit", "serial": "S1", "attempt": 1, "index": 1})
    page.on_event({"type": "measurement", "name": "stop_lag_s[event 1]", "value": 2.5, "outcome": "fail"})
    page.on_event({"type": "verdict", "serial": "S1", "verdict": "fail", "reasons": ["BWC-STOP-01 stop_lag_s"]})
    req = urllib.request.Request(f"{base}/events?token=s3cret")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        head = resp.readline().decode()
        data = json.loads(resp.readline().decode().removeprefix("data: "))
    assert head.strip() == "event: state"
    assert data["unit"]["serial"] == "S1" and data["verdict"]["verdict"] == "fail"
    assert data["history"][0]["reasons"] == ["BWC-STOP-01 stop_lag_s"] and len(data["measurements"]) == 1


def test_without_a_token_only_this_machine_and_this_page_are_answered() -> None:
    """A tokenless page (loopback) refuses a Host that is not a loopback name (DNS rebinding), and
    takes answers only as JSON from its own origin (another site's page in the same browser)."""
    page = StationPage()
    operator = WebOperator(page, "bob")
    server = PageServer(page, operator, "127.0.0.1", 0, None)
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert get(f"{base}/")[0] == 200
        assert get(f"{base}/api/state", {"Host": f"localhost:{server.port}"})[0] == 200
        assert get(f"{base}/api/state", {"Host": f"attacker.example:{server.port}"})[0] == 403
        t, got = ask_in_thread(operator, Prompt("Connect the unit", key="unit_connected"))
        pid = wait_prompt(page)["id"]
        url = f"{base}/api/answer"
        body = json.dumps({"id": pid, "action": "confirm"}).encode()
        for headers in (
            {"Content-Type": "text/plain"},  # what a cross-site form or a simple fetch can send
            {"Content-Type": "application/json", "Origin": "http://attacker.example"},
        ):
            req = urllib.request.Request(url, data=body, headers=headers)
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(req, timeout=10)
            assert refused.value.code == 403
        assert page.snapshot()["prompt"] is not None  # still waiting
        origin = {"Content-Type": "application/json", "Origin": base}
        req = urllib.request.Request(url, data=body, headers=origin)
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        t.join(5)
        assert got and got[0].outcome == "confirmed"
    finally:
        operator.close()
        server.stop()
