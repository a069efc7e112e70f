"""A program run on a real pseudo-terminal, driven as a person at the keyboard drives it.

``pty.fork`` makes the terminal the child's controlling terminal, so what the test types goes
through the kernel's line discipline: Enter ends a line, Ctrl-C (``\\x03``) becomes SIGINT for
the child's process group, as at a real terminal.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import time
from pathlib import Path


class PtySession:
    """``argv`` on a new pseudo-terminal; ``expect`` waits for text, ``send`` types."""

    def __init__(self, argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec at once (nothing of the test process runs here)
            try:
                if cwd is not None:
                    os.chdir(cwd)
                os.execvpe(argv[0], argv, {**os.environ, **(env or {})})
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.text = ""  # everything the program wrote so far
        self._seen = 0  # where the next expect starts looking
        self.status: int | None = None

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.text += chunk.decode("utf-8", "replace")
        return True

    def expect(self, needle: str, timeout: float = 60.0) -> str:
        """Wait until ``needle`` appears after what an earlier expect matched; returns the text up to it."""
        deadline = time.monotonic() + timeout
        while True:
            at = self.text.find(needle, self._seen)
            if at >= 0:
                self._seen = at + len(needle)
                return self.text[: self._seen]
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.5)) and needle not in self.text[self._seen :]):
                raise AssertionError(f"{needle!r} not seen within {timeout} s; output so far:\n{self.text[-3000:]}")

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait(self, timeout: float = 120.0) -> int:
        """Read the rest of the output until the program ends; its exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = self._read(0.2)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0.1) and select.select([self.fd], [], [], 0)[0]:
                    pass
                self.status = os.waitstatus_to_exitcode(status)
                os.close(self.fd)
                return self.status
            if not alive:
                time.sleep(0.05)
        self.kill()
        raise AssertionError(f"program still running after {timeout} s; output:\n{self.text[-3000:]}")

    def kill(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except ProcessLookupError:
                pass
            self.status = -9
            os.close(self.fd)
