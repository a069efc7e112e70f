"""A real pseudo-terminal that the harness opens exactly like a USB serial device."""

from __future__ import annotations

import logging
import os
import select
import threading
import tty
from typing import Callable

log = logging.getLogger(__name__)


class PtyLineServer:
    """Owns a pty pair; calls ``on_line`` for each line the harness writes to the slave side.

    The slave side stays open in this process so the port survives the harness closing and
    reopening it, as a USB CDC device does.
    """

    def __init__(self, on_line: Callable[[str], None], name: str = "pty") -> None:
        self._on_line = on_line
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self._master)
        self.path = os.ttyname(self._slave)
        self._write_lock = threading.Lock()
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"{name}-reader", daemon=True)
        self._thread.start()

    def write_line(self, line: str) -> None:
        data = (line + "\n").encode("ascii", "replace")
        with self._write_lock:
            try:
                os.write(self._master, data)
            except OSError as exc:  # port closed while a timer fired
                log.debug("pty write dropped: %s", exc)

    def _run(self) -> None:
        buf = b""
        while True:
            ready, _, _ = select.select([self._master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                try:
                    self._on_line(raw.decode("ascii", "replace").rstrip("\r"))
                except Exception:  # a handler bug must not kill the port
                    log.exception("serial line handler failed on %r", raw)
            if len(buf) > 4096:  # a line that never ends: drop it
                buf = b""
                self._on_line("\x00" * 200)

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=2)
        for fd in (self._master, self._slave, self._stop_r, self._stop_w):
            try:
                os.close(fd)
            except OSError:
                pass
