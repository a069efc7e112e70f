"""A whole station session driven from the operator page in headless Chromium, on emulated units.

Chromium (Debian's) loads the page the station serves and is driven over its DevTools protocol:
the test reads the page as the operator sees it and clicks its buttons. Two units: a healthy one
that must show PASS, and one with the late-stop fault that must show FAIL with the stop lag as the
reason; the failed unit is re-tested once from the page (every attempt kept), then let go.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from harness.core.paths import SUITE_DIR
from harness.fleet.db.query import lot_units
from harness.fleet.db.store import connect
from harness.fleet.station import Station, StationConfig, UnitSlot
from harness.fleet.station_web import PageServer, StationPage, WebOperator
from harness.report.verify import verify_evidence

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian package 'chromium'; .ci/run installs it when apt-get can)",
)
websockets_sync = pytest.importorskip("websockets.sync.client")

READ_PAGE = """(() => {
  const t = (id) => document.getElementById(id).textContent;
  return JSON.stringify({
    prompt: document.getElementById('prompt').className === 'open' ? t('prompt-text') : null,
    unit: t('unit'), verdict: t('verdict'), verdictClass: document.getElementById('verdict').className,
    reasons: t('reasons'), status: t('status'), bench: t('bench'), lot: t('lot'),
    history: Array.from(document.querySelectorAll('#history tr')).map(r => Array.from(r.children).map(c => c.textContent)),
    measurements: document.querySelectorAll('#measurements tr').length,
  });
})()"""


class Browser:
    """Headless Chromium with one page, spoken to over the DevTools protocol."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        self.proc = subprocess.Popen(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        port = None
        deadline = time.monotonic() + 60
        assert self.proc.stderr is not None
        while port is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
            elif not line and self.proc.poll() is not None:
                break
        assert port is not None, "Chromium did not open its DevTools port"
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # keep its pipe drained
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websockets_sync.connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self._id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == self._id:
                assert "error" not in msg, msg
                return dict(msg.get("result") or {})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def close(self) -> None:
        self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def test_a_station_session_from_the_operator_page(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'results.db'}")
    config = StationConfig(
        profile="emulated",
        suite=[SUITE_DIR / "stop.yaml"],
        out=tmp_path / "units",
        phase="Phase 2",
        lot="LOT-WEB",
        bench="web-bench",
        operator_name="alice",
        answer="relay",  # as on a bench: the suite's own prompts (READY) are asked on the page too
    )
    page = StationPage()
    operator = WebOperator(page, "alice")
    station = Station(config, operator, engine)
    station.listeners.append(page.on_event)
    server = PageServer(page, operator, "127.0.0.1", 0, None)
    server.start()
    units = [UnitSlot("WEB-0001", (), 11), UnitSlot("WEB-0002", ("late-stop",), 12)]
    shift = threading.Thread(target=station.run, args=(units,), daemon=True)
    browser = Browser(tmp_path / "chromium")
    seen: list[dict[str, Any]] = []
    clicks: list[str] = []
    retests = 0
    try:
        browser.call("Page.enable")
        browser.call("Page.navigate", url=server.url)
        shift.start()
        deadline = time.monotonic() + 900
        answered_prompt: str | None = None
        while time.monotonic() < deadline:
            view = json.loads(browser.evaluate(READ_PAGE) or "{}")
            if not view:
                time.sleep(0.3)
                continue
            seen.append(view)
            prompt = view["prompt"]
            if prompt is not None and prompt != answered_prompt:
                if prompt.startswith("Connect unit") or prompt.startswith("Confirm the camera is on and ready"):
                    button = "confirm"
                else:
                    assert "Re-test it?" in prompt, prompt
                    button = "confirm" if retests == 0 else "decline"
                    retests += 1
                browser.evaluate(f"document.getElementById('{button}').click()")
                clicks.append(f"{button}: {prompt}")
                answered_prompt = prompt
            elif prompt is None:
                answered_prompt = None
            if not shift.is_alive() and view["status"].startswith("shift ended"):
                break
            time.sleep(0.4)
        assert not shift.is_alive(), f"the shift did not end; last view {seen[-1] if seen else None}"
    finally:
        browser.close()
        operator.close()
        server.stop()

    verdicts = [(v["unit"], v["verdict"], v["reasons"]) for v in seen if v["verdictClass"] in ("pass", "fail")]
    assert any(unit == "WEB-0001" and word == "PASS" for unit, word, _ in verdicts), verdicts[-3:]
    failed = [reasons for unit, word, reasons in verdicts if unit.startswith("WEB-0002") and word == "FAIL"]
    assert failed and "stop_lag_s" in failed[-1], verdicts[-3:]
    last = seen[-1]
    assert last["bench"] == "web-bench" and last["lot"] == "LOT-WEB"
    assert [row[1] for row in last["history"]] == ["WEB-0001", "WEB-0002", "WEB-0002"]
    assert [row[4] for row in last["history"]] == ["PASS", "FAIL", "FAIL"]
    assert any(v["measurements"] > 0 for v in seen)
    assert sum(c.startswith("confirm: Connect unit") for c in clicks) == 2 and retests == 2
    assert sum(c.startswith("confirm: Confirm the camera is on and ready") for c in clicks) == 3  # one per attempt
    ready = [
        a
        for rec in sorted((tmp_path / "units").rglob("record.json"))
        for t in json.loads(rec.read_text())["tests"]
        for a in t["timeline"]
        if a["kind"] == "operator" and a.get("key") == "camera_ready"
    ]
    assert len(ready) == 3 and all(
        (a["by"], a["via"], a["outcome"]) == ("alice", "relay/web", "confirmed") for a in ready
    )

    # each attempt in its own folder, its record labelled from the start and its evidence intact
    folders = sorted(p.relative_to(tmp_path / "units").as_posix() for p in (tmp_path / "units").glob("*/attempt-*"))
    assert folders == [
        "WEB-0001/attempt-1", "WEB-0001/attempt-1.log",
        "WEB-0002/attempt-1", "WEB-0002/attempt-1.log", "WEB-0002/attempt-2", "WEB-0002/attempt-2.log",
    ]  # fmt: skip
    for n, run in enumerate(["WEB-0002/attempt-1", "WEB-0002/attempt-2"], 1):
        record = json.loads((tmp_path / "units" / run / "record.json").read_text())
        assert record["station"] == {
            "lot": "LOT-WEB", "operator": "alice", "bench": "web-bench", "attempt": n, "profile": "emulated"
        }  # fmt: skip
        assert [f for f in verify_evidence(tmp_path / "units" / run) if not f.ok] == []

    units_db = {u.serial: u for u in lot_units(engine, "LOT-WEB", "Phase 2")}
    assert units_db["WEB-0001"].verdict == "pass"
    assert [a.verdict for a in units_db["WEB-0002"].attempts] == ["fail", "fail"]  # every attempt kept
    assert all(a.operator == "alice" and a.bench == "web-bench" for u in units_db.values() for a in u.attempts)
    assert any("stop_lag_s" in r for r in units_db["WEB-0002"].attempts[-1].reasons)
