"""Command set of the battery-simulator function (the ``:BATTery:...`` subset of the 2281S): model
recall, output, state of charge, Voc, limits, method, and the readings of terminal voltage and current.
Outside the SIMULATOR function every one of them is refused with -221 (settings conflict)."""

from __future__ import annotations

from harness.emulator.scpi.battery import BatterySimulator, find_model
from harness.emulator.scpi.model import CAPACITY_RANGE, CURRENT_RANGE, DEFAULT_CURRENT, SOC_RANGE, SupplyModel
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

_METHODS = {Mnemonic.parse("DYNamic"): True, Mnemonic.parse("STATic"): False}


def _simulator(inst: SupplyModel) -> BatterySimulator:
    """The battery, brought up to now; refused (-221) outside the SIMULATOR function."""
    if not inst.simulating:
        raise ScpiError(-221, "Settings conflict;battery command outside SIMULATOR function")
    inst.settle()
    return inst.state.battery


def battery_commands(t: CommandTable) -> None:
    """The 2281S battery-simulator subset: model recall, output, state of charge, Voc, limits,
    method, and the readings of terminal voltage and current."""

    def recall(inst: SupplyModel, args: list[str]) -> None:
        battery = _simulator(inst)
        model = find_model(one_arg(args))
        if model is None:
            raise ScpiError(-224, "Illegal parameter value;no battery model stored there")
        battery.recall(model, inst.now())
        inst.changed()

    def set_output(inst: SupplyModel, args: list[str]) -> None:
        _simulator(inst)
        inst.set_output(parse_bool(one_arg(args)))

    def get_output(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        _simulator(inst)
        return "1" if inst.state.output else "0"

    def set_soc(inst: SupplyModel, args: list[str]) -> None:
        battery = _simulator(inst)
        battery.soc = parse_numeric(one_arg(args), "PCT", *SOC_RANGE, 100.0) / 100.0
        inst.changed()

    def get_soc(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        return format_real(_simulator(inst).soc * 100.0)

    def set_voc(inst: SupplyModel, args: list[str]) -> None:
        battery = _simulator(inst)
        lo, hi = battery.model.voc[0], battery.model.voc[-1]
        volts = parse_numeric(one_arg(args), "V", lo, hi, hi)
        battery.soc = battery.model.soc_at_terminal(volts, 0.0)
        inst.changed()

    def get_voc(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        battery = _simulator(inst)
        return format_real(battery.model.open_circuit(battery.soc))

    def set_capacity(inst: SupplyModel, args: list[str]) -> None:
        battery = _simulator(inst)
        battery.capacity_ah = parse_numeric(one_arg(args), "AH", *CAPACITY_RANGE, battery.model.capacity_ah)
        inst.changed()

    def get_capacity(inst: SupplyModel, args: list[str]) -> str:
        battery = _simulator(inst)
        return limit_query(args, battery.capacity_ah, *CAPACITY_RANGE, battery.model.capacity_ah)

    def set_current_limit(inst: SupplyModel, args: list[str]) -> None:
        battery = _simulator(inst)
        battery.current_limit = parse_numeric(one_arg(args), "A", *CURRENT_RANGE, DEFAULT_CURRENT)
        inst.changed()

    def get_current_limit(inst: SupplyModel, args: list[str]) -> str:
        return limit_query(args, _simulator(inst).current_limit, *CURRENT_RANGE, DEFAULT_CURRENT)

    def set_method(inst: SupplyModel, args: list[str]) -> None:
        battery = _simulator(inst)
        word = one_arg(args)
        for mnemonic, dynamic in _METHODS.items():
            if mnemonic.matches(word):
                battery.dynamic = dynamic
                inst.changed()
                return
        raise ScpiError(-224)

    def get_method(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        return "DYN" if _simulator(inst).dynamic else "STAT"

    def current(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        _simulator(inst)
        return format_real(inst.measured_current())

    def terminal_voltage(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        _simulator(inst)
        return format_real(inst.measured_voltage())

    def resistance(inst: SupplyModel, args: list[str]) -> str:
        no_args(args)
        battery = _simulator(inst)
        return format_real(battery.model.series_resistance(battery.soc))

    t.add(":BATTery:MODel:RCL", write=recall)
    t.add(":BATTery:OUTPut[:STATe]", write=set_output, query=get_output)
    t.add(":BATTery:SIMulator:SOC", write=set_soc, query=get_soc)
    t.add(":BATTery:SIMulator:VOC", write=set_voc, query=get_voc)
    t.add(":BATTery:SIMulator:CAPacity:LIMit", write=set_capacity, query=get_capacity)
    t.add(":BATTery:SIMulator:CURRent:LIMit", write=set_current_limit, query=get_current_limit)
    t.add(":BATTery:SIMulator:CURRent", query=current)
    t.add(":BATTery:SIMulator:TVOLtage", query=terminal_voltage)
    t.add(":BATTery:SIMulator:METHod", write=set_method, query=get_method)
    t.add(":BATTery:SIMulator:RESistance", query=resistance)
