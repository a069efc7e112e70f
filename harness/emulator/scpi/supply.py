"""Command set of the power-supply function: common commands (``*IDN?``, ``*RST`` ...), the error
queue, function selection, and the source, output and measure subsystems."""

from __future__ import annotations

from harness.emulator.scpi.model import (
    CURRENT_RANGE,
    DEFAULT_CURRENT,
    DEFAULT_VOLTAGE,
    VOLTAGE_RANGE,
    SupplyModel,
)
from harness.emulator.scpi.parser import (
    CommandTable,
    Mnemonic,
    ScpiError,
    format_real,
    limit_query,
    no_args,
    one_arg,
    parse_bool,
    parse_numeric,
)

_FUNCTIONS = {
    Mnemonic.parse("POWer"): "POWER",
    Mnemonic.parse("TEST"): "TEST",
    Mnemonic.parse("SIMulator"): "SIMULATOR",
}


def common_commands(t: CommandTable) -> None:
    def idn(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        return inst.identity.idn()

    def rst(inst: SupplyModel, args: list[str]) -> None:
        no_args(args)
        inst.reset()

    def cls(inst: SupplyModel, args: list[str]) -> None:
        no_args(args)
        inst.clear_errors()

    def opc_query(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        return "1"  # commands complete before the next is parsed

    def nothing(inst: SupplyModel, args: list[str]) -> None:
        no_args(args)

    t.add("*IDN", query=idn)
    t.add("*RST", write=rst)
    t.add("*CLS", write=cls, diagnostic=True)
    t.add("*OPC", write=nothing, query=opc_query)
    t.add("*WAI", write=nothing)


def system_commands(t: CommandTable) -> None:
    def next_error(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        return inst.pop_error()

    def error_count(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        return str(inst.error_count())

    t.add(":SYSTem:ERRor:COUNt", query=error_count, diagnostic=True)
    t.add(":SYSTem:ERRor[:NEXT]", query=next_error, diagnostic=True)


def entry_commands(t: CommandTable) -> None:
    def set_function(inst: SupplyModel, args: list[str]) -> None:
        word = one_arg(args)
        for mnemonic, name in _FUNCTIONS.items():
            if mnemonic.matches(word):
                inst.set_function(name)
                return
        raise ScpiError(-224)

    def get_function(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        return inst.state.function

    t.add(":ENTRy:FUNCtion", write=set_function, query=get_function)


def power_supply_commands(t: CommandTable) -> None:
    def set_voltage(inst: SupplyModel, args: list[str]) -> None:
        inst.state.voltage_set = parse_numeric(one_arg(args), "V", *VOLTAGE_RANGE, DEFAULT_VOLTAGE)
        if inst.state.output and not inst.simulating:
            inst.changed()

    def get_voltage(inst: SupplyModel, args: list[str]) -> str:
        return limit_query(args, inst.state.voltage_set, *VOLTAGE_RANGE, DEFAULT_VOLTAGE)

    def set_current(inst: SupplyModel, args: list[str]) -> None:
        inst.state.current_limit = parse_numeric(one_arg(args), "A", *CURRENT_RANGE, DEFAULT_CURRENT)

    def get_current(inst: SupplyModel, args: list[str]) -> str:
        return limit_query(args, inst.state.current_limit, *CURRENT_RANGE, DEFAULT_CURRENT)

    def set_output(inst: SupplyModel, args: list[str]) -> None:
        inst.set_output(parse_bool(one_arg(args)))

    def get_output(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        return "1" if inst.state.output else "0"

    def meas_voltage(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        return format_real(inst.measured_voltage())

    def meas_current(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        return format_real(inst.measured_current())

    t.add("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", write=set_voltage, query=get_voltage)
    t.add("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]", write=set_current, query=get_current)
    t.add(":OUTPut[:STATe]", write=set_output, query=get_output)
    t.add(":MEASure:VOLTage[:DC]", query=meas_voltage)
    t.add(":MEASure:CURRent[:DC]", query=meas_current)
