"""The emulated supply's TCP transport: a threaded, line-oriented raw-socket SCPI server with
misbehaviour switches, so driver error paths can be tested for real."""

from __future__ import annotations

import logging
import socket
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.emulator.scpi.instrument import COMMAND_GROUPS, PLAIN_SUPPLY_GROUPS, SupplyEmulator, build_command_table
from harness.emulator.scpi.model import DEFAULT_IDENTITY, Identity, SupplyState
from harness.emulator.scpi.parser import ScpiError

if TYPE_CHECKING:  # only for annotations
    from harness.core.clock import Clock

log = logging.getLogger(__name__)

#: Longest accepted program message (bytes, without terminator). Longer lines are discarded
#: whole and reported as -363, so a runaway client cannot grow the server's memory.
MAX_LINE = 4096


#: What a garbled reply looks like: not ASCII, not a number, but properly terminated so the
#: client reads it as one (bad) message rather than timing out.
GARBAGE_REPLY = b"\xfe\xb5#?\x00gArB\x1b\xff\n"


class ScpiServer:
    """Raw-socket SCPI server (like port 5025 on a real instrument) around a SupplyEmulator.

    One thread per connection; each connection's lines are executed in order and a reply is
    sent only after everything before it took effect, so a query round trip is a barrier.
    Misbehaviour switches: ``mute`` (execute, never reply), ``drop_replies`` (execute, but lose
    the next N replies: a reply lost once, then normal service), ``garble`` (reply with
    :data:`GARBAGE_REPLY`), ``error_on_next`` (reject the next non-diagnostic command with
    that error; a rejected query gets no reply, as on real instruments).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        identity: Identity = DEFAULT_IDENTITY,
        on_output: Callable[[bool], None] | None = None,
        load_current: Callable[[], float] | None = None,
        clock: Clock | None = None,
        max_line: int = MAX_LINE,
        on_change: Callable[[], None] | None = None,
        battery: bool = True,
    ) -> None:
        """``battery=False`` emulates a supply without the battery simulator (``:BATT`` undefined)."""
        self.host = host
        self._requested_port = port
        self.max_line = max_line
        table = build_command_table(COMMAND_GROUPS if battery else PLAIN_SUPPLY_GROUPS)
        self.instrument = SupplyEmulator(identity, on_output, load_current, clock, table, on_change)
        self.mute = False
        self.drop_replies = 0
        self.garble = False
        #: Last lines received (decoded), newest last: lets tests prove what was never sent.
        self.received: deque[str] = deque(maxlen=1000)
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._conn_lock = threading.Lock()
        self._closing = threading.Event()

    # -- public
    @property
    def state(self) -> SupplyState:
        return self.instrument.state

    @property
    def error_on_next(self) -> ScpiError | int | tuple[int, str] | None:
        return self.instrument.error_on_next

    @error_on_next.setter
    def error_on_next(self, error: ScpiError | int | tuple[int, str] | None) -> None:
        self.instrument.error_on_next = error

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("ScpiServer not started")
        return self._listener.getsockname()[1]

    @property
    def resource(self) -> str:
        """VISA resource string for pyvisa-py (needs read/write termination "\\n")."""
        return f"TCPIP::{self.host}::{self.port}::SOCKET"

    def connection_count(self) -> int:
        with self._conn_lock:
            return len(self._connections)

    def start(self) -> ScpiServer:
        if self._listener is not None:
            raise RuntimeError("ScpiServer already started")
        self._closing.clear()
        self._listener = socket.create_server((self.host, self._requested_port))
        self._listener.settimeout(0.25)  # belt and braces: close() also shuts the socket down
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"scpi-accept-{self.port}", daemon=True)
        self._accept_thread.start()
        log.info("emulated supply listening on %s", self.resource)
        return self

    def close(self) -> None:
        """Stop accepting, drop every connection, join the threads. Idempotent."""
        self._closing.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            _quiet_shutdown(listener)
            listener.close()
        with self._conn_lock:
            connections = dict(self._connections)
        for conn in connections:
            _quiet_shutdown(conn)
        threads = list(connections.values())
        if self._accept_thread is not None:
            threads.append(self._accept_thread)
            self._accept_thread = None
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)

    def __enter__(self) -> ScpiServer:
        if self._listener is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- threads
    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._closing.is_set():
            try:
                conn, addr = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._closing.is_set():
                    return
                log.warning("accept failed on the emulated supply", exc_info=True)
                self._closing.wait(0.05)
                continue
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(target=self._serve, args=(conn, addr), name=f"scpi-conn-{addr[1]}", daemon=True)
            with self._conn_lock:
                self._connections[conn] = thread
            thread.start()

    def _serve(self, conn: socket.socket, addr: tuple) -> None:
        log.debug("SCPI client %s connected", addr)
        buffer = bytearray()
        discarding = False  # inside an over-long line: drop bytes up to its newline
        try:
            while not self._closing.is_set():
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    break
                if not chunk:
                    break
                buffer += chunk
                while True:
                    newline = buffer.find(b"\n")
                    if newline < 0:
                        if len(buffer) > self.max_line:
                            if not discarding:
                                self.instrument.push_error(-363)
                            discarding = True
                            buffer.clear()
                        break
                    raw = bytes(buffer[:newline])
                    del buffer[: newline + 1]
                    if discarding:
                        discarding = False
                        continue
                    if len(raw) > self.max_line:
                        self.instrument.push_error(-363)
                        continue
                    if not self._handle_line(conn, raw):
                        return
        finally:
            with self._conn_lock:
                self._connections.pop(conn, None)
            _quiet_shutdown(conn)
            conn.close()
            log.debug("SCPI client %s gone", addr)

    def _handle_line(self, conn: socket.socket, raw: bytes) -> bool:
        """Execute one line and answer it; False when the client is gone."""
        text = raw.rstrip(b"\r").decode("ascii", errors="replace")
        self.received.append(text)
        try:
            reply = self.instrument.execute_line(text)
        except Exception:  # an emulator bug must not take the rig down
            log.exception("emulated supply failed on %r", text)
            self.instrument.push_error(-300)
            reply = None
        if reply is None or self.mute:
            return True
        if self.drop_replies > 0:
            self.drop_replies -= 1
            log.warning("emulated supply drops its reply to %r", text)
            return True
        data = GARBAGE_REPLY if self.garble else reply.encode("ascii", errors="replace") + b"\n"
        try:
            conn.sendall(data)
        except OSError:
            return False
        return True


def _quiet_shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
