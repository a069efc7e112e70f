"""A throwaway PostgreSQL server for the results database tests and benchmarks/bench_db.py.

``initdb`` and ``pg_ctl`` on a temporary folder and a free loopback port (as the ``postgres``
user, or ``nobody``, when run as root: PostgreSQL refuses to run as root), trusted local
connections only, stopped and removed by :meth:`PgServer.stop`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


def _pg_bin(name: str) -> str | None:
    """A PostgreSQL server binary: on the PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """A PostgreSQL server in a temporary folder, trusted local connections only."""

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        self.root = Path(tempfile.mkdtemp(prefix="bwc-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                break

    def _run(self, *cmd: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        if self.user is not None:
            cmd = ("runuser", "-u", self.user, "--", *cmd)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)

    def start(self) -> str | None:
        """Start it; None, or why it could not start."""
        if self.initdb is None or self.pg_ctl is None:
            return "PostgreSQL's initdb/pg_ctl not found (Debian package postgresql)"
        if os.geteuid() == 0 and self.user is None:
            return "running as root with no postgres or nobody user to run the server as"
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chmod(self.root, 0o755)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        init = self._run(self.initdb, "-D", str(self.data), "-U", "bwc", "--auth=trust", "-E", "UTF8", "--no-sync")
        if init.returncode != 0:
            return f"initdb failed: {(init.stderr or init.stdout).strip().splitlines()[-1:]}"
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} -c fsync=off"
        )
        start = self._run(
            self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "-t", "60", "start"
        )
        if start.returncode != 0:
            log = (self.root / "log").read_text(errors="replace") if (self.root / "log").exists() else start.stderr
            return f"pg_ctl start failed: {log.strip().splitlines()[-1:]}"
        return None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://bwc@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=bwc dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self.pg_ctl is not None and self.data.exists():
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
