"""A real pseudo-terminal that the harness opens exactly like a USB serial device."""

from __future__ import annotations

import logging
import os
import select
import threading
import tty
from collections.abc import Callable

log = logging.getLogger(__name__)


class PtyLineServer:
    """Owns a pty pair; calls ``on_line`` for each line the harness writes to the slave side.

    The slave side stays open in this process so the port survives the harness closing and
    reopening it, as a USB CDC device does. :meth:`vanish` unplugs it: both sides close, the
    path disappears and the harness's reads and writes fail, as when a cable falls out.
    """

    def __init__(self, on_line: Callable[[str], None], name: str = "pty") -> None:
        self._on_line = on_line
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self._master)
        self.path = os.ttyname(self._slave)
        self._write_lock = threading.Lock()
        self._stop_r, self._stop_w = os.pipe()
        self._gone = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"{name}-reader", daemon=True)
        self._thread.start()

    @property
    def gone(self) -> bool:
        """Whether the port has been unplugged (:meth:`vanish`) or closed."""
        return self._gone

    def write_line(self, line: str) -> None:
        self.write_raw((line + "\n").encode("ascii", "replace"))

    def write_raw(self, data: bytes) -> None:
        """Bytes onto the line as they are (line noise is not ASCII)."""
        with self._write_lock:
            if self._gone:
                return
            try:
                os.write(self._master, data)
            except OSError as exc:  # port closed while a timer fired
                log.debug("pty write dropped: %s", exc)

    def _run(self) -> None:
        buf = b""
        while not self._gone:
            ready, _, _ = select.select([self._master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            buf += chunk
            while b"\n" in buf and not self._gone:
                raw, buf = buf.split(b"\n", 1)
                try:
                    self._on_line(raw.decode("ascii", "replace").rstrip("\r"))
                except Exception:  # a handler bug must not kill the port
                    log.exception("serial line handler failed on %r", raw)
            if len(buf) > 4096:  # a line that never ends: drop it
                buf = b""
                self._on_line("\x00" * 200)

    def vanish(self) -> None:
        """Unplug the device: close both sides of the pty, so its path is removed and the
        harness's port reports an I/O error. Callable from the line handler itself."""
        if threading.current_thread() is not self._thread:
            self._stop_reader()
        self._close_pty()
        log.warning("serial port %s vanished", self.path)

    def _stop_reader(self) -> None:
        try:
            os.write(self._stop_w, b"x")
        except OSError:
            pass
        self._thread.join(timeout=2)

    def _close_pty(self) -> None:
        with self._write_lock:
            if self._gone:
                return
            self._gone = True  # before the close, so no one uses a number the OS may hand out again
            for fd in (self._master, self._slave):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._stop_reader()
        self._close_pty()
        for fd in (self._stop_r, self._stop_w):
            try:
                os.close(fd)
            except OSError:
                pass
