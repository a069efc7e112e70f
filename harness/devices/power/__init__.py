"""Bench power supply driver: the same code drives a real instrument and the emulator.

A certification run powers the camera from a supply standing in for its battery. The
driver's duties, in order of importance:

1. never exceed the rig's limits for this camera's battery (:class:`PowerLimits`): requests
   beyond them are refused *before* anything is sent;
2. never let an instrument error pass silently: after every configuration step the SCPI
   error queue is drained and any entry becomes an :class:`InstrumentError` carrying the
   instrument's own text;
3. leave the rig safe: the context manager switches the output off on every exit path,
   and :meth:`PowerSupply.safe_state` never raises.

Vendor differences live only in :class:`ScpiCommandSet` templates, chosen by name from
:data:`COMMAND_SETS`. Instruments with a battery simulator (Keithley 2281S) also carry
:class:`BatteryCommands`: :meth:`PowerSupply.select_battery` loads a battery model at a state of
charge, after which output and readings use the simulator's commands until a voltage is set again
(or :meth:`PowerSupply.select_supply`); on other families it raises :class:`NotSupported` before
anything is sent.

Modules: :mod:`.errors`, :mod:`.limits`, :mod:`.protocol` (the :class:`PowerSupply` interface),
:mod:`.commands` (command sets), :mod:`.replies` (reply parsing) and :mod:`.driver` (the VISA driver).
This package exports the names callers use; log records go to loggers under ``harness.devices.power``.
"""

from harness.devices.power.commands import (
    COMMAND_SETS,
    KEITHLEY_2281S,
    KEITHLEY_2281S_BATTERY,
    KEYSIGHT_E36300,
    RIGOL_DP800,
    BatteryCommands,
    ScpiCommandSet,
    resolve_command_set,
)
from harness.devices.power.driver import ScpiPowerSupply
from harness.devices.power.errors import InstrumentError, NotSupported, PowerLimitError
from harness.devices.power.limits import PowerLimits
from harness.devices.power.protocol import BatterySetup, PowerSupply
from harness.devices.power.replies import parse_reading

__all__ = [
    "COMMAND_SETS",
    "KEITHLEY_2281S",
    "KEITHLEY_2281S_BATTERY",
    "KEYSIGHT_E36300",
    "RIGOL_DP800",
    "BatteryCommands",
    "BatterySetup",
    "InstrumentError",
    "NotSupported",
    "PowerLimitError",
    "PowerLimits",
    "PowerSupply",
    "ScpiCommandSet",
    "ScpiPowerSupply",
    "parse_reading",
    "resolve_command_set",
]
