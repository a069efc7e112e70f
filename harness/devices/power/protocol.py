"""What a test needs from a supply (:class:`PowerSupply`), with the limit checks every driver shares,
and what a battery simulator is asked to present (:class:`BatterySetup`)."""

from __future__ import annotations

import logging
import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from harness.devices.power.errors import NotSupported, PowerLimitError
from harness.devices.power.limits import PowerLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatterySetup:
    """What to simulate: a stored model (slot '1'..'9' or its name) at a state of charge.

    ``capacity_ah`` overrides the model's capacity (the camera's own battery), ``current_limit``
    the simulator's limit; ``dynamic`` False holds the state of charge still (STATIC method).
    """

    model: str
    soc_percent: float
    capacity_ah: float | None = None
    current_limit: float | None = None
    dynamic: bool = True


class PowerSupply(ABC):
    """What a test needs from a supply. Limits are enforced here, once, for every driver."""

    def __init__(self, name: str, limits: PowerLimits) -> None:
        self.name = name
        self.limits = limits

    # -- checked setters (template methods: drivers implement the _apply_* steps)
    def set_voltage(self, volts: float) -> None:
        """Set the output voltage; refused above ``limits.max_voltage``."""
        self._check("voltage", volts, self.limits.max_voltage, "V")
        self._apply_voltage(float(volts))

    def set_current_limit(self, amps: float) -> None:
        """Set the current limit; refused above ``limits.max_current``."""
        self._check("current limit", amps, self.limits.max_current, "A")
        self._apply_current_limit(float(amps))

    def _check(self, what: str, value: float, limit: float, unit: str) -> None:
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise PowerLimitError(f"refusing {what} {value!r} on {self.name}: not a finite number")
        if value < 0:
            raise PowerLimitError(f"refusing {what} {value:g} {unit} on {self.name}: negative")
        if value > limit:
            raise PowerLimitError(
                f"refusing {what} {value:g} {unit} on {self.name}: rig limit for this battery is {limit:g} {unit}"
            )

    @abstractmethod
    def _apply_voltage(self, volts: float) -> None: ...

    @abstractmethod
    def _apply_current_limit(self, amps: float) -> None: ...

    # -- the rest of the protocol
    @abstractmethod
    def identify(self) -> str:
        """The instrument's identity string (``*IDN?``), for the report."""

    @abstractmethod
    def output(self, on: bool) -> None:
        """Switch the output; when this returns, the instrument has switched."""

    @abstractmethod
    def measure_voltage(self) -> float:
        """Measured output voltage in volts."""

    @abstractmethod
    def measure_current(self) -> float:
        """Measured output current in amps."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection (does not touch the output)."""

    # -- battery simulation (instruments that have one)
    _MODEL_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")

    @property
    def battery(self) -> BatterySetup | None:
        """The battery being simulated, or None in power-supply mode."""
        return None

    def select_battery(self, setup: BatterySetup) -> None:
        """Present ``setup`` at the terminals (output switched off first). Checked before anything
        is sent: the state of charge must be 0..100 %, the capacity positive, the current limit
        within the rig's limit, the model a plain slot number or name."""
        model = str(setup.model)
        if not self._MODEL_TOKEN.match(model):
            raise PowerLimitError(f"refusing battery model {setup.model!r} on {self.name}: not a slot number or name")
        soc = setup.soc_percent
        if not isinstance(soc, (int, float)) or not math.isfinite(soc) or not 0 <= soc <= 100:
            raise PowerLimitError(f"refusing state of charge {soc!r} % on {self.name}: must be 0..100 %")
        if setup.capacity_ah is not None and not (math.isfinite(setup.capacity_ah) and setup.capacity_ah > 0):
            raise PowerLimitError(f"refusing battery capacity {setup.capacity_ah!r} Ah on {self.name}: must be > 0")
        if setup.current_limit is not None:
            self._check("battery current limit", setup.current_limit, self.limits.max_current, "A")
        self._apply_battery(setup)

    def _apply_battery(self, setup: BatterySetup) -> None:
        raise NotSupported(self.name, "select battery", f"{type(self).__name__} has no battery simulator")

    def select_supply(self) -> None:  # noqa: B027 - deliberately empty: without a simulator there is no other mode
        """Back to power-supply mode (output off first); nothing to do if already there."""

    def state_of_charge(self) -> float | None:
        """The simulated battery's state of charge in percent, or None in power-supply mode."""
        return None

    def safe_state(self) -> None:
        """Output off. Never raises: it runs on failure paths, where a second error would
        hide the first one; a failure is logged loudly instead."""
        try:
            self.output(False)
        except Exception:
            log.exception("%s: could not switch the output off - check the rig by hand", self.name)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.safe_state()
        finally:
            self.close()
