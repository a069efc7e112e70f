"""Results database fixtures: every database test runs on SQLite and on a real PostgreSQL server.

The server is a throwaway one: ``initdb`` and ``pg_ctl`` on a temporary folder and a free loopback
port, started once per test session (as the ``postgres`` user, or ``nobody``, when the tests run as
root: PostgreSQL refuses to run as root) and stopped at the end. Each test gets a new database on
it. Without PostgreSQL's binaries, or when the server cannot start, the PostgreSQL half skips and
says why, unless ``$BWC_REQUIRE_POSTGRESQL`` is set (.ci/run sets it once the Debian package is
installed): then it fails, so CI cannot pass on SQLite alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))  # synthetic_runs
sys.path.insert(0, str(Path(__file__).resolve().parent))  # pg_server

from pg_server import PgServer


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer | str]:
    """The session's PostgreSQL server, or the reason there is none."""
    server = PgServer()
    why = server.start()
    try:
        yield server if why is None else why
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    server = request.getfixturevalue("pg_server")
    if isinstance(server, str):
        if os.environ.get("BWC_REQUIRE_POSTGRESQL"):
            pytest.fail(f"no PostgreSQL server, and this run requires one: {server}")
        pytest.skip(f"no PostgreSQL server: {server}")
    return server.create_database()
