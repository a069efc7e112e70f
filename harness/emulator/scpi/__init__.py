"""Emulated bench supply (Keithley 2281S-20-6, power-supply mode) over a real TCP socket.

The harness talks to a real instrument through pyvisa; on an emulated rig it talks to this
server through exactly the same pyvisa-py SOCKET path, so the driver code under test is the
production driver, byte for byte. Three layers, each usable alone, one module each:

* :mod:`.parser`, a small SCPI parser (:class:`CommandTable`, :func:`parse_numeric`, :func:`parse_bool`):
  long/short mnemonics, optional ``[...]`` nodes, ``;`` chaining with the SCPI current-path
  rule, queries, unit suffixes, MIN/MAX/DEF, and the standard error queue;
* :mod:`.instrument`, :class:`SupplyEmulator`: the instrument model (state, error queue, dispatch;
  the command handlers of the power-supply function in :mod:`.supply`). It is
  coupled to the emulated camera through two callbacks: ``on_output(on)`` and
  ``load_current() -> amps``;
* :mod:`.server`, :class:`ScpiServer`: the threaded line-oriented TCP transport with misbehaviour switches
  (``mute``, ``garble``, ``error_on_next``) so driver error paths can be tested for real.

Battery simulator (``:ENTR:FUNC SIMULATOR``): the ``:BATTery:...`` subset of the 2281S is one
more registration function in :data:`COMMAND_GROUPS` (:mod:`.simulator`). The terminal voltage then comes from a
battery model (:mod:`.battery`) discharged by the load current over the injected
Clock; the load (the emulated camera) settles the discharge before its draw changes
(:meth:`SupplyEmulator.settle`) and reads its own supply through :meth:`SupplyEmulator.supply_voltage`
and :meth:`SupplyEmulator.seconds_until_voltage` (its fuel gauge). In the emulator, commands of the
other function are refused with -221 (settings conflict); the physical output is shared, so
``:OUTP`` and ``:BATT:OUTP`` switch the same terminals. Changing the function switches the output off.

This package exports the names callers use.
"""

from harness.emulator.scpi.battery import BatteryModel, BatterySimulator, find_model
from harness.emulator.scpi.instrument import (
    COMMAND_GROUPS,
    ERROR_QUEUE_SIZE,
    PLAIN_SUPPLY_GROUPS,
    SupplyEmulator,
    build_command_table,
)
from harness.emulator.scpi.model import (
    CAPACITY_RANGE,
    CURRENT_RANGE,
    DEFAULT_CURRENT,
    DEFAULT_IDENTITY,
    DEFAULT_VOLTAGE,
    SOC_RANGE,
    VOLTAGE_RANGE,
    Identity,
    SupplyModel,
    SupplyState,
)
from harness.emulator.scpi.parser import (
    STANDARD_ERRORS,
    CommandTable,
    Handler,
    Mnemonic,
    ScpiCommand,
    ScpiError,
    as_scpi_error,
    compile_header,
    parse_bool,
    parse_numeric,
    split_outside_quotes,
)
from harness.emulator.scpi.server import GARBAGE_REPLY, MAX_LINE, ScpiServer

__all__ = [
    "CAPACITY_RANGE",
    "COMMAND_GROUPS",
    "CURRENT_RANGE",
    "DEFAULT_CURRENT",
    "DEFAULT_IDENTITY",
    "DEFAULT_VOLTAGE",
    "ERROR_QUEUE_SIZE",
    "GARBAGE_REPLY",
    "MAX_LINE",
    "PLAIN_SUPPLY_GROUPS",
    "SOC_RANGE",
    "STANDARD_ERRORS",
    "VOLTAGE_RANGE",
    "BatteryModel",
    "BatterySimulator",
    "CommandTable",
    "Handler",
    "Identity",
    "Mnemonic",
    "ScpiCommand",
    "ScpiError",
    "ScpiServer",
    "SupplyEmulator",
    "SupplyModel",
    "SupplyState",
    "as_scpi_error",
    "build_command_table",
    "compile_header",
    "find_model",
    "parse_bool",
    "parse_numeric",
    "split_outside_quotes",
]
