"""A bench shared through labgrid: the harness as a labgrid client that acquires places.

A lab whose benches sit on several hosts runs labgrid's coordinator; each bench host runs a
``labgrid-exporter`` that exports the bench's parts (the rig controller's serial port through
ser2net as RFC 2217, the power supply's VISA address, the clip source, the display host), and a
*place* groups one bench's resources under tags (camera model, battery simulator, photodiode).
This module acquires a named place, or reserves places matching tags and waits for them, reads
their resources, and releases them again on every way out of :func:`held_places` (an exception,
Ctrl-C, SIGTERM or SIGHUP).

A place stays acquired at the coordinator when its holder dies without releasing it (SIGKILL, a
power cut). So each acquisition leaves a lease file on this host naming the process; a later run
on the same host and account that finds the place acquired by itself, with that process gone,
takes the place over and says so. A place held by anyone else is refused at once, naming the
holder; only ``--reserve`` waits, and it shows the wait.

labgrid is an optional dependency (``pip install 'bwc-harness[labgrid]'``): it is imported only
when a place is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "LabgridClient",
    "Place",
    "PlaceBusy",
    "PlaceError",
    "PlaceResource",
    "held_places",
    "parse_tags",
]

DEFAULT_COORDINATOR = "127.0.0.1:20408"
CONNECT_TIMEOUT_S = 10.0
POLL_S = 1.0  # reservation poll period (the coordinator drops a reservation not polled for 60 s)
SHOW_WAIT_EVERY_S = 15.0


class PlaceError(Exception):
    """A place cannot be used (unknown, no resources, coordinator unreachable, labgrid missing)."""


class PlaceBusy(PlaceError):
    """The place is acquired by someone else: the message names the holder."""

    def __init__(self, place: str, holder: str, hint: str = "") -> None:
        self.place = place
        self.holder = holder
        super().__init__(f"place {place} is in use by {holder}" + (f"; {hint}" if hint else ""))


@dataclass(frozen=True)
class PlaceResource:
    """One exported resource of a place, as the coordinator lists it."""

    exporter: str
    group: str
    cls: str
    name: str
    params: dict[str, Any]

    @property
    def path(self) -> str:
        return f"{self.exporter}/{self.group}/{self.cls}/{self.name}"


@dataclass(frozen=True)
class Place:
    """A place as this client holds it: its tags and the resources its matches acquired."""

    name: str
    coordinator: str
    tags: dict[str, str]
    resources: tuple[PlaceResource, ...]
    acquired_by: str | None = None
    taken_over_from: str | None = None  # a stale lease this run took over (its holder was gone)
    reservation: str | None = None

    @property
    def exporters(self) -> list[str]:
        return sorted({r.exporter for r in self.resources})

    def of_class(self, *classes: str) -> list[PlaceResource]:
        return [r for r in self.resources if r.cls in classes]

    def describe(self) -> dict[str, Any]:
        """What the run record keeps about the place."""
        return {
            "name": self.name,
            "coordinator": self.coordinator,
            "exporters": self.exporters,
            "tags": dict(self.tags),
            "acquired_by": self.acquired_by,
            **({"taken_over_from": self.taken_over_from} if self.taken_over_from else {}),
            "resources": [r.path for r in self.resources],
        }


_TAG = re.compile(r"^([a-z][a-z0-9_]+)=([^\s=]+)$")


def parse_tags(text: str) -> dict[str, str]:
    """``model=axon-body-4,photodiode=yes`` (commas or spaces) as a tag filter; ValueError says which part is wrong."""
    tags: dict[str, str] = {}
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        m = _TAG.match(part)
        if m is None:
            raise ValueError(
                f"--reserve {text!r}: {part!r} is not KEY=VALUE (key: lower-case letters, digits, '_'; "
                "e.g. model=axon-body-4)"
            )
        tags[m.group(1)] = m.group(2)
    if not tags:
        raise ValueError("--reserve: give at least one KEY=VALUE tag, e.g. model=axon-body-4")
    return tags


# -- leases: which process of this host holds a place ------------------------------------------------


def _state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "bwc-harness" / "labgrid"


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (None: no such process, or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass
class Lease:
    """This host's note of which process holds a place, so a crashed run can be told from a live one."""

    path: Path
    pid: int = field(default_factory=os.getpid)
    start: str | None = None
    since: float = field(default_factory=time.time)

    @classmethod
    def for_place(cls, coordinator: str, place: str) -> Lease:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", coordinator)
        return cls(_state_dir() / safe / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', place)}.json")

    def read(self) -> Lease | None:
        try:
            data = json.loads(self.path.read_text())
            return Lease(self.path, int(data["pid"]), data.get("start"), float(data.get("since", 0)))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def alive(self) -> bool:
        if self.pid == os.getpid():
            return True
        now = _start_ticks(self.pid)
        if now is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return self.start is None  # no /proc: a live pid is taken as the holder
        return self.start is None or now == self.start

    def write(self) -> None:
        self.start = _start_ticks(self.pid)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": self.pid, "start": self.start, "since": self.since}))
        tmp.replace(self.path)

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()

    def describe(self) -> str:
        return f"bwc certify (pid {self.pid}, since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(self.since))})"


# -- the client ----------------------------------------------------------------------------------------


def _labgrid() -> tuple[Any, Any, Any]:
    """labgrid's client session class, its protobuf messages and its address helper."""
    try:
        from labgrid.remote.client import ClientSession
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2
        from labgrid.util.proxy import proxymanager
    except ImportError as exc:
        raise PlaceError(
            f"labgrid is not installed ({exc}): pip install 'bwc-harness[labgrid]' to run on labgrid places"
        ) from None
    return ClientSession, pb2, proxymanager


_LOOPS: dict[int, asyncio.AbstractEventLoop] = {}


def _thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop for gRPC, made once and kept: gRPC's asyncio poller stays tied to
    the loop it first ran on, so a closed loop and a new one leave it reporting errors at exit."""
    import threading

    loop = _LOOPS.get(threading.get_ident())
    if loop is None or loop.is_closed():
        loop = _LOOPS[threading.get_ident()] = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # gRPC's channel binds to the thread's loop when it is made
    return loop


class LabgridClient:
    """One connection to a labgrid coordinator, used from plain (non-async) code.

    Each instance runs its own event loop; open it with ``with``. ``say`` prints progress
    (the wait for a reservation) for the person at the terminal.
    """

    def __init__(self, coordinator: str | None = None, say: Callable[[str], None] = print) -> None:
        self.coordinator = coordinator or os.environ.get("LG_COORDINATOR") or DEFAULT_COORDINATOR
        self.say = say
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: Any = None

    # connection
    def __enter__(self) -> LabgridClient:
        session_cls, _, proxymanager = _labgrid()
        address = proxymanager.get_grpc_address(self.coordinator, default_port=20408)
        self._loop = _thread_loop()
        try:
            self._session = session_cls(address, self._loop)
            self._run(self._session.start(), CONNECT_TIMEOUT_S)
        except BaseException as exc:
            self._close()
            if isinstance(exc, Exception):
                raise PlaceError(
                    f"labgrid coordinator {self.coordinator} cannot be reached ({type(exc).__name__}: {exc}); "
                    "is labgrid-coordinator running there (set --coordinator or LG_COORDINATOR)?"
                ) from None
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        loop, session = self._loop, self._session
        self._loop = self._session = None
        if loop is None:
            return
        try:
            if session is not None:
                with contextlib.suppress(Exception):
                    loop.run_until_complete(asyncio.wait_for(session.stop(), 5))
                with contextlib.suppress(Exception):
                    loop.run_until_complete(asyncio.wait_for(session.close(), 5))
        finally:
            asyncio.set_event_loop(None)

    def _run(self, aw: Any, timeout: float = 30.0) -> Any:
        assert self._loop is not None, "use LabgridClient in a with block"
        return self._loop.run_until_complete(asyncio.wait_for(aw, timeout))

    def _call(self, method: str, request: Any) -> Any:
        """One coordinator call; its refusal becomes a PlaceError with the coordinator's words."""
        try:
            reply = self._run(getattr(self._session.stub, method)(request))
            self._run(self._session.sync_with_coordinator())
        except Exception as exc:
            details = getattr(exc, "details", None)
            raise PlaceError(f"labgrid coordinator {self.coordinator}: {details() if details else exc}") from None
        return reply

    @property
    def me(self) -> str:
        """This client as the coordinator names holders: host/user (LG_HOSTNAME, LG_USERNAME override)."""
        return f"{self._session.gethostname()}/{self._session.getuser()}"

    # places
    def _place(self, name: str) -> Any:
        try:
            return self._session.places[name]
        except KeyError:
            known = ", ".join(sorted(self._session.places)) or "none"
            raise PlaceError(
                f"labgrid coordinator {self.coordinator} has no place {name!r} (places: {known})"
            ) from None

    def place(self, name: str) -> Place:
        """The place as it stands, with the resources its matches select (acquired or not)."""
        p = self._place(name)
        paths = p.acquired_resources if p.acquired else self._matching(p)
        resources = []
        for exporter, group, cls, rname in (tuple(x) for x in paths):
            entry = self._session.resources.get(exporter, {}).get(group, {}).get(rname)
            if entry is None:
                continue  # its exporter disconnected: reported as a missing part when the rig is built
            match = p.getmatch((exporter, group, cls, rname))
            shown = match.rename if match is not None and match.rename else rname
            resources.append(PlaceResource(exporter, group, entry.cls, shown, dict(entry.params)))
        return Place(p.name, self.coordinator, dict(p.tags), tuple(resources), p.acquired, reservation=p.reservation)

    def _matching(self, p: Any) -> list[tuple[str, str, str, str]]:
        out = []
        for exporter, groups in self._session.resources.items():
            for group, entries in groups.items():
                for rname, entry in entries.items():
                    path = (exporter, group, entry.cls, rname)
                    if p.hasmatch(path):
                        out.append(path)
        return out

    def acquire(self, name: str) -> Place:
        """Acquire the place for this process; a stale lease of this host is taken over.

        Raises PlaceBusy, naming the holder, when someone else holds it: never waits.
        """
        _, pb2, _ = _labgrid()
        p = self._place(name)
        lease = Lease.for_place(self.coordinator, name)
        taken_over = None
        if p.acquired:
            if p.acquired != self.me:
                raise PlaceBusy(name, p.acquired, self._busy_hint(name, p.acquired))
            old = lease.read()
            if old is None:
                raise PlaceBusy(
                    name,
                    f"{p.acquired} (this account, outside bwc certify)",
                    f"release it with `labgrid-client -x {self.coordinator} -p {name} release` first",
                )
            if old.alive():
                raise PlaceBusy(name, f"{p.acquired}: {old.describe()}", "wait for that run to end, or use --reserve")
            taken_over = f"{p.acquired}: {old.describe()}, no longer running"
            self.say(f"place {name} was left acquired by {taken_over}; taking it over")
            self._call("ReleasePlace", pb2.ReleasePlaceRequest(placename=name))
            p = self._place(name)
        if p.reservation:
            owner = self._reservation_owner(p.reservation)
            if owner is not None and owner != self.me:
                raise PlaceBusy(name, f"a reservation of {owner}", "it is theirs until they acquire it or it expires")
        if not self._matching(p):
            raise PlaceError(f"place {name} has no resources: no exporter offers what its matches name")
        try:
            self._call("AcquirePlace", pb2.AcquirePlaceRequest(placename=name))
        except PlaceError:
            p = self._place(name)
            if p.acquired and p.acquired != self.me:  # someone was quicker
                raise PlaceBusy(name, p.acquired, self._busy_hint(name, p.acquired)) from None
            raise
        lease.write()
        held = self.place(name)
        return Place(held.name, held.coordinator, held.tags, held.resources, held.acquired_by, taken_over)

    def _busy_hint(self, name: str, holder: str) -> str:
        return f"ask them to release it, or wait for it with --reserve name={name}"

    def _reservation_owner(self, token: str) -> str | None:
        _, pb2, _ = _labgrid()
        try:
            reply = self._call("GetReservations", pb2.GetReservationsRequest())
        except PlaceError:
            return None
        for r in reply.reservations:
            if r.token == token:
                return str(r.owner)
        return None

    def release(self, name: str) -> None:
        """Release the place if this client holds it (a place someone took from us is left alone)."""
        _, pb2, _ = _labgrid()
        lease = Lease.for_place(self.coordinator, name)
        try:
            p = self._place(name)
        except PlaceError:
            lease.remove()
            return
        held = lease.read()
        if held is not None and held.pid != os.getpid() and held.alive():
            return  # another run took the place over from us: it is theirs now
        if p.acquired == self.me:
            self._call("ReleasePlace", pb2.ReleasePlaceRequest(placename=name))
        lease.remove()

    # reservations
    def matching_places(self, tags: dict[str, str]) -> list[str]:
        """Places whose tags (or name, as ``name=``) satisfy the filter, acquired or not."""
        out = []
        for name, p in self._session.places.items():
            have = {**p.tags, "name": name}
            if all(have.get(k) == v for k, v in tags.items()):
                out.append(name)
        return sorted(out)

    def reserve(self, tags: dict[str, str], count: int = 1) -> tuple[dict[str, str], list[str]]:
        """Reserve up to ``count`` places with ``tags``; wait (showing the wait) until at least one is
        allocated. Returns the allocated places by token, and every token (to cancel)."""
        _, pb2, _ = _labgrid()
        wanted = ",".join(f"{k}={v}" for k, v in tags.items())
        candidates = self.matching_places(tags)
        if not candidates:
            raise PlaceError(
                f"no place at labgrid coordinator {self.coordinator} has the tags {wanted} "
                f"(places: {self._places_with_tags() or 'none'})"
            )
        count = max(1, min(count, len(candidates)))
        tokens: list[str] = []
        try:
            for _ in range(count):
                request = pb2.CreateReservationRequest(filters={"main": pb2.Reservation.Filter(filter=tags)}, prio=0.0)
                tokens.append(str(self._call("CreateReservation", request).reservation.token))
            started = time.monotonic()
            shown = -SHOW_WAIT_EVERY_S
            while True:
                allocated = self._allocated(tokens)
                if allocated:
                    return allocated, tokens
                waited = time.monotonic() - started
                if waited - shown >= SHOW_WAIT_EVERY_S:
                    shown = waited
                    self.say(
                        f"waiting for a place with {wanted} ({int(waited)} s so far; "
                        f"{self._holders(candidates)}; Ctrl-C gives up)"
                    )
                time.sleep(POLL_S)
        except BaseException:
            self.cancel(tokens)
            raise

    def _allocated(self, tokens: list[str]) -> dict[str, str]:
        _, pb2, _ = _labgrid()
        from labgrid.remote.common import ReservationState

        out: dict[str, str] = {}
        for token in tokens:
            reply = self._call("PollReservation", pb2.PollReservationRequest(token=token))
            allocations = reply.reservation.allocations  # filter name -> place name
            if allocations.get("main"):
                out[token] = str(allocations["main"])
            elif ReservationState(reply.reservation.state) in (ReservationState.expired, ReservationState.invalid):
                raise PlaceError(f"reservation {token} at {self.coordinator} expired or became invalid")
        return out

    def _holders(self, names: list[str]) -> str:
        parts = []
        for name in names:
            p = self._session.places.get(name)
            if p is None:
                continue
            if p.acquired:
                parts.append(f"{name} in use by {p.acquired}")
            elif p.reservation:
                parts.append(f"{name} reserved for another client")
            else:
                parts.append(f"{name} free")
        return ", ".join(parts)

    def _places_with_tags(self) -> str:
        return "; ".join(
            f"{name} " + (",".join(f"{k}={v}" for k, v in sorted(p.tags.items())) or "(no tags)")
            for name, p in sorted(self._session.places.items())
        )

    def cancel(self, tokens: list[str]) -> None:
        _, pb2, _ = _labgrid()
        for token in tokens:
            with contextlib.suppress(PlaceError):
                self._call("CancelReservation", pb2.CancelReservationRequest(token=token))

    def acquire_reserved(self, names: list[str]) -> list[Place]:
        """Acquire the places a reservation of ours allocated."""
        return [self.acquire(name) for name in names]


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP end the block like Ctrl-C, so the places are released on the way out."""

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    saved = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            with contextlib.suppress(ValueError):  # not the main thread: the caller handles signals
                saved[sig] = signal.signal(sig, _interrupt)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def held_places(
    coordinator: str | None,
    place: str | None = None,
    tags: dict[str, str] | None = None,
    count: int = 1,
    say: Callable[[str], None] = print,
) -> Iterator[list[Place]]:
    """Hold the named place, or up to ``count`` places matching ``tags`` (waiting for them), for the
    block; release them and cancel the reservations on every way out (exception, Ctrl-C, SIGTERM,
    SIGHUP). A SIGKILL leaves a stale lease that the next run on this host takes over."""
    if (place is None) == (tags is None):
        raise ValueError("name a place or give tags to reserve one, not both")
    names: list[str] = []
    tokens: list[str] = []
    client = LabgridClient(coordinator, say)
    with _signals_interrupt():
        try:
            with client:
                if place is not None:
                    held = [client.acquire(place)]
                    names = [place]  # only a place this run acquired is released by it
                else:
                    assert tags is not None
                    allocated, tokens = client.reserve(tags, count)
                    client.cancel([t for t in tokens if t not in allocated])  # up to count: the rest is not waited for
                    held = []
                    for name in allocated.values():
                        held.append(client.acquire(name))
                        names.append(name)
            for h in held:
                say(f"acquired place {h.name} (exporters: {', '.join(h.exporters) or 'none'}) as {h.acquired_by}")
            yield held
        finally:
            if names or tokens:
                _release(coordinator, names, tokens, say)


def _release(coordinator: str | None, names: list[str], tokens: list[str], say: Callable[[str], None]) -> None:
    """Release in a fresh connection (the run may have outlasted the first one); never raises."""
    try:
        with LabgridClient(coordinator, say) as client:
            for name in names:
                try:
                    client.release(name)
                    say(f"released place {name}")
                except PlaceError as exc:
                    say(f"place {name} could not be released: {exc}")
            client.cancel(tokens)
    except PlaceError as exc:
        say(f"places {', '.join(names)} could not be released ({exc}); the next run on this host takes them over")
