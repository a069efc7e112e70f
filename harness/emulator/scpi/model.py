"""What the command handlers see of the emulated supply: its ranges, identity, settings, and
:class:`SupplyModel`, the part of the instrument model they act on (the emulator implements it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from harness.emulator.scpi.battery import BatterySimulator

VOLTAGE_RANGE = (0.0, 20.0)
CURRENT_RANGE = (0.1, 6.1)
SOC_RANGE = (0.0, 100.0)  # percent
CAPACITY_RANGE = (0.001, 99.0)  # Ah
#: Values after *RST / for ``DEF``. The real instrument's factory defaults are not relied upon.
DEFAULT_VOLTAGE = 0.0
DEFAULT_CURRENT = 1.0


@dataclass(frozen=True)
class Identity:
    """What ``*IDN?`` reports; configurable so tests can tell rigs apart."""

    manufacturer: str = "KEITHLEY INSTRUMENTS"
    model: str = "MODEL 2281S-20-6"
    serial: str = "4466001"
    firmware: str = "02.03.0008"

    def idn(self) -> str:
        return f"{self.manufacturer},{self.model},{self.serial},{self.firmware}"


#: The identity an emulated supply reports unless told otherwise.
DEFAULT_IDENTITY = Identity()


@dataclass
class SupplyState:
    """Settings of the emulated supply; read by tests, written only by commands."""

    output: bool = False
    voltage_set: float = DEFAULT_VOLTAGE
    current_limit: float = DEFAULT_CURRENT
    function: str = "POWER"
    #: The simulated battery (SIMULATOR function): model, state of charge, limits, method.
    battery: BatterySimulator = field(default_factory=BatterySimulator)


class SupplyModel(Protocol):
    """The instrument as the command handlers drive it (implemented by
    :class:`~harness.emulator.scpi.instrument.SupplyEmulator`)."""

    identity: Identity
    state: SupplyState

    @property
    def simulating(self) -> bool: ...

    def now(self) -> float: ...

    def reset(self) -> None: ...

    def clear_errors(self) -> None: ...

    def pop_error(self) -> str: ...

    def error_count(self) -> int: ...

    def set_function(self, name: str) -> None: ...

    def set_output(self, on: bool) -> None: ...

    def settle(self) -> None: ...

    def changed(self) -> None: ...

    def measured_voltage(self) -> float: ...

    def measured_current(self) -> float: ...
