"""Labgrid places through a real coordinator and exporter on the loopback (ser2net serving a pty)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.core.clock import RealClock
from harness.devices.labgrid_place import PlaceBusy, PlaceError, held_places, parse_tags
from harness.devices.rig_controller import SerialRigController
from tests.conftest import REPO
from tests.harness.devices.labgrid_lab import Lab, lab_with_benches, wait_for


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """One emulated bench exported as place bench-1 with model=emulated; leases under tmp_path."""
    with lab_with_benches(tmp_path, 1, model="emulated", photodiode="yes") as (lab, _):
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        monkeypatch.delenv("LG_USERNAME", raising=False)
        yield lab


def test_parse_tags() -> None:
    assert parse_tags("model=axon-body-4,photodiode=yes") == {"model": "axon-body-4", "photodiode": "yes"}
    assert parse_tags("model=x battery_sim=k2281s") == {"model": "x", "battery_sim": "k2281s"}
    with pytest.raises(ValueError, match="'Model=x' is not KEY=VALUE"):
        parse_tags("Model=x")
    with pytest.raises(ValueError, match="at least one"):
        parse_tags(" , ")


def test_acquired_place_gives_its_resources_and_is_released(lab: Lab) -> None:
    """The rig controller answers through the exporter's ser2net as RFC 2217; the place is free afterwards."""
    from harness.rig.place import rig_section

    said: list[str] = []
    with held_places(lab.coordinator, "bench-1", say=said.append) as (place,):
        assert lab.holder("bench-1") == place.acquired_by
        assert place.exporters == ["host-1"]
        assert place.tags == {"model": "emulated", "photodiode": "yes"}
        rig = rig_section(place)
        assert rig["camera"] == "emulated" and rig["name"] == "bench-1"
        assert rig["serial"]["url"].startswith("rfc2217://127.0.0.1:")
        assert rig["instrument"]["resource"].startswith("TCPIP::127.0.0.1::")
        assert rig["clips"]["kind"] == "folder" and rig["clips"]["path"].endswith("DCIM")
        assert rig["place"]["display_host"] == "127.0.0.1"
        clock = RealClock()
        controller = SerialRigController(rig["serial"]["url"], clock)
        try:
            assert "BWC-RIG" in controller.identify()
            assert controller.mapping is not None and controller.mapping.uncertainty_s < 0.05
        finally:
            controller.close()
            clock.close()
    assert lab.holder("bench-1") is None
    assert any("released place bench-1" in line for line in said)


def test_place_held_by_someone_else_is_refused_at_once_naming_the_holder(lab: Lab) -> None:
    lab.client("-p", "bench-1", "acquire", user="alice")
    started = time.monotonic()
    with (
        pytest.raises(PlaceBusy, match=r"place bench-1 is in use by \S+/alice"),
        held_places(lab.coordinator, "bench-1"),
    ):
        pass
    assert time.monotonic() - started < 10
    assert lab.holder("bench-1").endswith("/alice")  # untouched


def test_unknown_place_and_unmatched_tags_say_what_exists(lab: Lab) -> None:
    with (
        pytest.raises(PlaceError, match=r"no place 'bench-9' \(places: bench-1\)"),
        held_places(lab.coordinator, "bench-9"),
    ):
        pass
    with (
        pytest.raises(PlaceError, match=r"no place .* has the tags model=axon-body-4 \(places: bench-1 model=emulated"),
        held_places(lab.coordinator, tags={"model": "axon-body-4"}),
    ):
        pass


def test_coordinator_down_is_one_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("labgrid")
    from tests.harness.devices.labgrid_lab import free_port

    with pytest.raises(PlaceError, match="cannot be reached"), held_places(f"127.0.0.1:{free_port()}", "bench-1"):
        pass


def test_reservation_waits_showing_the_wait_and_gets_the_place_when_released(lab: Lab) -> None:
    """alice holds the only matching place; our reservation waits until she releases it."""
    lab.client("-p", "bench-1", "acquire", user="alice")
    said: list[str] = []
    got: list[str] = []
    errors: list[BaseException] = []

    def second_client() -> None:
        try:
            with held_places(lab.coordinator, tags={"model": "emulated"}, say=said.append) as places:
                got.extend(p.name for p in places)
                got.append(lab.holder("bench-1") or "")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=second_client)
    thread.start()
    wait_for(lambda: any("waiting for a place with model=emulated" in s for s in said) or errors, 30, "the wait")
    assert not errors, errors
    assert "bench-1 in use by" in said[0] and "alice" in said[0]
    time.sleep(2)
    assert not got  # still waiting
    lab.client("-p", "bench-1", "release", user="alice")
    thread.join(60)
    assert not thread.is_alive() and not errors, errors
    assert got[0] == "bench-1" and not got[1].endswith("/alice")
    assert lab.holder("bench-1") is None  # released again after the block
    assert "Reservation" not in lab.client("reservations").stdout  # cancelled, not left to expire


HOLDER = """
import sys, time
from harness.devices.labgrid_place import held_places
with held_places(sys.argv[1], "bench-1"):
    print("held", flush=True)
    time.sleep(120)
"""


def _holder(lab: Lab) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, lab.coordinator],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=lab.env(),
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("held"):
            return proc
    raise AssertionError(f"the holder never held the place (exit {proc.wait()})")


def test_sigterm_releases_the_place(lab: Lab) -> None:
    proc = _holder(lab)
    assert lab.holder("bench-1") is not None
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    assert lab.holder("bench-1") is None


def test_sigkill_leaves_a_stale_place_that_the_next_run_takes_over(lab: Lab) -> None:
    proc = _holder(lab)
    with pytest.raises(PlaceBusy, match=r"bwc certify \(pid \d+"), held_places(lab.coordinator, "bench-1"):
        pass  # while it runs, it is a live holder: refused, never taken
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    stale = lab.holder("bench-1")
    assert stale is not None  # the coordinator cannot know the holder died
    said: list[str] = []
    with held_places(lab.coordinator, "bench-1", say=said.append) as (place,):
        assert place.taken_over_from is not None and "no longer running" in place.taken_over_from
    assert any("was left acquired by" in s and "taking it over" in s for s in said), said
    assert lab.holder("bench-1") is None
