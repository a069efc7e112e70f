"""Fixtures shared by the power driver and the SCPI emulator tests."""

from __future__ import annotations

import pytest

from harness.emulator.scpi import ScpiServer


class Load:
    """Load current seen by the supply, settable by the test."""

    def __init__(self) -> None:
        self.amps = 0.0

    def __call__(self) -> float:
        return self.amps


@pytest.fixture
def load() -> Load:
    return Load()


@pytest.fixture
def output_events() -> list[bool]:
    return []


@pytest.fixture
def server(load: Load, output_events: list[bool]):
    """An emulated supply on a loopback TCP port, recording output switching."""
    with ScpiServer(on_output=output_events.append, load_current=load) as srv:
        yield srv
