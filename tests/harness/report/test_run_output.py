"""What a run writes when it cannot write: a full disk or an unwritable ``--out`` gives one clear line,
exit code 2 and (where anything can be written) a record that says ``aborted: <reason>``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_bwc


def _mount_tmpfs(folder: Path, options: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a real full or read-only disk needs root to mount a small tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MB file system: the emulated camera's storage and the evidence fill it within a scenario."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    _mount_tmpfs(mnt, "size=2m")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "INTERNALERROR" not in text, text[-3000:]


def test_a_full_disk_aborts_the_run_with_one_line_and_a_record_that_says_so(small_disk: Path) -> None:
    out = small_disk / "out"
    proc = run_bwc("certify", "scenarios/stop.yaml", "--out", str(out), "--no-pdf")
    _no_traceback(proc)
    assert proc.returncode == 2, proc.stdout[-2000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("run aborted: ")]
    assert len(lines) == 1 and "No space left on device" in lines[0], proc.stdout[-2000:]
    record = json.loads((out / "record.json").read_text())
    assert record["status"].startswith("aborted: No space left on device")
    assert [t["scenario"] for t in record["tests"]] == ["stop"]  # what was measured before is kept
    left = [p for p in out.rglob("*") if p.is_file() and (p.name.endswith(".tmp") or p.stat().st_size == 0)]
    assert left == [], left


def test_an_out_that_is_a_file_is_one_clear_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("not a folder")
    proc = run_bwc("certify", "scenarios/stop.yaml", "--out", str(out))
    _no_traceback(proc)
    assert proc.returncode == 2 and f"--out {out}: is a file, not a folder" in proc.stdout


def test_a_read_only_out_is_one_clear_line(tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    _mount_tmpfs(out, "size=1m,ro")
    try:
        proc = run_bwc("certify", "scenarios/stop.yaml", "--out", str(out))
    finally:
        subprocess.run(["umount", "-l", str(out)], check=False)
    _no_traceback(proc)
    assert proc.returncode == 2 and f"--out {out}: cannot be written (Read-only file system)" in proc.stdout
