"""The report in a real browser: headless Chromium loads it with no console message at all.

The page carries a Content-Security-Policy that allows only inline styles and data: images, so an
attempt to fetch anything would be blocked and show up on the console. A control page proves the
console is really being read.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_page import parse_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian package 'chromium'; .ci/run installs it when apt-get can)",
)
CONSOLE = re.compile(r":CONSOLE[:(]\d+\)?\] (.*)")


def load_in_chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """(DOM after load, console messages) of ``page`` opened from disk, no network, throwaway profile."""
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, [m.group(1) for m in CONSOLE.finditer(proc.stderr)]


def test_the_console_reader_sees_errors_and_blocked_loads(tmp_path: Path) -> None:
    control = tmp_path / "control.html"
    control.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\"><title>c</title></head><body>"
        "<img src=\"http://127.0.0.1:9/x.png\"><script>console.error('control error')</script></body></html>"
    )
    dom, console = load_in_chromium(control, tmp_path / "profile")
    assert "<title>c</title>" in dom
    assert any("control error" in line for line in console), console
    assert any("Content Security Policy" in line for line in console), console


def test_healthy_report_loads_with_a_silent_console(healthy_run, tmp_path: Path) -> None:
    _, out = healthy_run
    report = out / "report.html"
    dom, console = load_in_chromium(report, tmp_path / "profile")
    assert console == []
    rendered, written = parse_report(dom), parse_report(report.read_text())
    assert {k: r.status for k, r in rendered.rows.items()} == {k: r.status for k, r in written.rows.items()}
    assert rendered.verdict == written.verdict and len(rendered.srcs) == len(written.srcs) > 0
