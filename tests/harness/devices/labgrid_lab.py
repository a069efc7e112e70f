"""A real labgrid lab on the loopback for tests: coordinator, exporter (ser2net), places.

The coordinator and exporter are labgrid's own programs, run as subprocesses on free ports; the
places are set up with ``labgrid-client``, as a lab administrator does. The exporter exports an
emulated bench (``bwc emulate`` in its own process): the rig controller's pty as a RawSerialPort
(served through ser2net as RFC 2217), the supply as a PyVISADevice, the camera storage as a
BwcClipSource and a display host as a NetworkService.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

BIN = Path(sys.executable).parent


def ser2net_path() -> str | None:
    return shutil.which("ser2net") or ("/usr/sbin/ser2net" if os.path.exists("/usr/sbin/ser2net") else None)


def skip_without_labgrid() -> None:
    """Skip, saying why, when labgrid (pip extra ``labgrid``) or ser2net (Debian) is missing."""
    if importlib.util.find_spec("labgrid") is None or not (BIN / "labgrid-coordinator").exists():
        pytest.skip("labgrid is not installed (pip install -e '.[labgrid]')")
    if ser2net_path() is None:
        pytest.skip("ser2net is not installed (Debian: apt-get install ser2net)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class Bench:
    """An emulated bench in its own process and where its parts are."""

    proc: subprocess.Popen
    pty: str
    resource: str
    storage: Path


def start_bench(storage: Path, profile: str | None = None) -> Bench:
    args = [sys.executable, "-m", "harness.cli", "emulate", "--storage", str(storage)]
    if profile:
        args += ["--profile", profile]
    proc = subprocess.Popen(
        args,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    found: dict[str, str] = {}
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while len(found) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if m := re.search(r"serial port \(rig controller, BWC-RIG/1\): (\S+)", line):
            found["pty"] = m.group(1)
        if m := re.search(r"VISA resource \(power supply\): (\S+)", line):
            found["resource"] = m.group(1)
    if len(found) < 2:
        stop(proc, signal.SIGKILL)
        raise AssertionError("bwc emulate did not say where its parts are")
    return Bench(proc, found["pty"], found["resource"], storage)


@dataclass
class Lab:
    """A coordinator and its exporters on the loopback, in ``folder``."""

    folder: Path
    port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def coordinator(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self, user: str | None = None) -> dict[str, str]:
        """A client's environment: this lab's coordinator, lease files in the test's folder, a user name."""
        env = {**os.environ, "LG_COORDINATOR": self.coordinator, "XDG_STATE_HOME": str(self.folder / "state")}
        if user is not None:
            env["LG_USERNAME"] = user
        return env

    def start(self, places: dict[str, tuple[str, dict[str, str]]] | None = None) -> None:
        """Start the coordinator, with ``places`` (name -> match, tags) set up as a lab keeps them in
        the coordinator's places.yaml (``labgrid-client create/add-match/set-tags`` writes the same)."""
        if places:
            state = {}
            for name, (match, tags) in places.items():
                exporter, group, cls, rname = (match.split("/") + ["*", "*"])[:4]
                state[name] = {
                    "acquired": None,
                    "acquired_resources": [],
                    "aliases": [],
                    "allowed": [],
                    "comment": "",
                    "matches": [
                        {
                            "exporter": exporter,
                            "group": group,
                            "cls": cls,
                            "name": None if rname == "*" else rname,
                            "rename": None,
                        }
                    ],
                    "reservation": None,
                    "tags": dict(tags),
                }
            (self.folder / "places.yaml").write_text(yaml.safe_dump(state))
        log = open(self.folder / "coordinator.log", "w")  # noqa: SIM115 - kept open for the process
        self.procs.append(
            subprocess.Popen(
                [str(BIN / "labgrid-coordinator"), "-l", self.coordinator],
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                return False

        wait_for(listening, 30, "the labgrid coordinator")

    def export(self, name: str, groups: dict[str, dict]) -> Path:
        """Start an exporter named ``name`` for ``groups`` (group -> resource -> cls and parameters)."""
        config = self.folder / f"exporter-{name}.yaml"
        config.write_text(yaml.safe_dump(groups, sort_keys=False))
        log = open(self.folder / f"exporter-{name}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [str(BIN / "labgrid-exporter"), "-c", self.coordinator, "-n", name, "--hostname", "127.0.0.1", str(config)],
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin"},
        )
        self.procs.append(proc)
        wanted = {f"{name}/{group}" for group in groups}
        time.sleep(1.0)  # its registration takes about that long; each check is a labgrid-client run

        def listed() -> bool:
            shown = self.client("resources", check=False).stdout
            return all(w in shown for w in wanted)

        wait_for(listed, 30, f"exporter {name} to register")
        return config

    def client(self, *args: str, user: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(BIN / "labgrid-client"), "-x", self.coordinator, *args],
            capture_output=True,
            text=True,
            env=self.env(user),
            timeout=60,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"labgrid-client {' '.join(args)}: {proc.stdout}{proc.stderr}")
        return proc

    def holder(self, place: str) -> str | None:
        """Who holds the place (host/user), as the coordinator says."""
        shown = self.client("-p", place, "show").stdout
        m = re.search(r"^\s*acquired: (\S+)", shown, re.M)
        return None if m is None or m.group(1) == "None" else m.group(1)

    def close(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)


def bench_groups(bench: Bench, group: str) -> dict[str, dict]:
    """The exporter configuration of one emulated bench, as lab_setup.md describes it for a real one."""
    host, port = re.match(r"TCPIP0?::([^:]+)::(\d+)::SOCKET", bench.resource).groups()  # type: ignore[union-attr]
    return {
        group: {
            "rig-controller": {"cls": "RawSerialPort", "port": bench.pty, "speed": 115200},
            "power-supply": {"cls": "PyVISADevice", "type": "TCPIP", "url": f"{host}::{port}::SOCKET"},
            "clips": {
                "cls": "BwcClipSource",
                "kind": "folder",
                "path": str(bench.storage / "DCIM"),
                "settle_s": 0.5,
                "wait_s": 5,
            },
            "display": {"cls": "NetworkService", "address": "127.0.0.1", "username": "bwc"},
        }
    }


@contextlib.contextmanager
def lab_with_benches(folder: Path, count: int = 1, **tags: str) -> Iterator[tuple[Lab, list[Bench]]]:
    """A running lab with ``count`` emulated benches, each exported by its own exporter as place bench-<i>."""
    skip_without_labgrid()
    lab = Lab(folder)
    benches: list[Bench] = []
    try:
        for i in range(1, count + 1):
            benches.append(start_bench(folder / f"camera-{i}"))
        lab.start({f"bench-{i}": (f"host-{i}/bench-{i}/*", tags) for i in range(1, count + 1)})
        for i, bench in enumerate(benches, 1):
            lab.export(f"host-{i}", bench_groups(bench, f"bench-{i}"))
        yield lab, benches
    finally:
        lab.close()
        for bench in benches:
            stop(bench.proc, signal.SIGINT)
