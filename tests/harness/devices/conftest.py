"""A private X server for the live display tests (the OpenCV window and the OpenGL presenter)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

#: the private screen's size: the display tests show the scene full screen at this size
WIDTH, HEIGHT = 640, 360


@pytest.fixture(scope="module")
def xserver():
    """A private Xvfb server; DISPLAY points at it for the module's tests."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian package 'xvfb'; .ci/run installs it)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    # Xvfb writes the number and the newline separately, and fails if the pipe closes in between:
    # read the whole line and keep our end open while the server runs.
    answer = b""
    while not answer.endswith(b"\n") and (chunk := os.read(read_fd, 64)):
        answer += chunk
    number = answer.decode().strip()
    if not number:
        proc.kill()
        os.close(read_fd)
        pytest.fail("Xvfb did not report a display number")
    saved = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{number}"
    try:
        yield f":{number}"
    finally:
        if saved is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = saved
        proc.terminate()
        proc.wait(timeout=10)
        os.close(read_fd)
