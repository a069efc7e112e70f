"""SCPI command templates per instrument family: the only place vendor differences live.

A rig file names its family (``"keithley_2281s"``); :func:`resolve_command_set` turns the name into
the :class:`ScpiCommandSet` the driver formats its commands from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatteryCommands:
    """SCPI templates of a battery simulator. ``{model}``, ``{soc}`` percent, ``{ah}``, ``{a}``,
    ``{method}`` (DYN or STAT)."""

    enter: str
    leave: str
    recall: str
    soc: str
    capacity: str
    current_limit: str
    method: str
    output_on: str
    output_off: str
    measure_voltage: str
    measure_current: str
    soc_query: str
    voc_query: str


KEITHLEY_2281S_BATTERY = BatteryCommands(
    enter=":ENTR:FUNC SIMULATOR",
    leave=":ENTR:FUNC POWER",
    recall=":BATT:MOD:RCL {model}",
    soc=":BATT:SIM:SOC {soc:.2f}",
    capacity=":BATT:SIM:CAP:LIM {ah:.4f}",
    current_limit=":BATT:SIM:CURR:LIM {a:.4f}",
    method=":BATT:SIM:METH {method}",
    output_on=":BATT:OUTP ON",
    output_off=":BATT:OUTP OFF",
    measure_voltage=":BATT:SIM:TVOL?",
    measure_current=":BATT:SIM:CURR?",
    soc_query=":BATT:SIM:SOC?",
    voc_query=":BATT:SIM:VOC?",
)


@dataclass(frozen=True)
class ScpiCommandSet:
    """SCPI templates for one instrument family. ``{v}`` volts, ``{a}`` amps, ``{ch}`` channel."""

    name: str
    set_voltage: str
    set_current: str
    output_on: str
    output_off: str
    measure_voltage: str
    measure_current: str
    #: Sent once after connecting (each one error-checked), e.g. selecting power-supply mode.
    setup: tuple[str, ...] = ()
    identify: str = "*IDN?"
    error_query: str = ":SYST:ERR?"
    channel: int = 1
    #: Battery-simulator commands, for families that have one.
    battery: BatteryCommands | None = None

    def voltage(self, volts: float) -> str:
        return self.set_voltage.format(v=volts, ch=self.channel)

    def current(self, amps: float) -> str:
        return self.set_current.format(a=amps, ch=self.channel)

    def output(self, on: bool) -> str:
        return (self.output_on if on else self.output_off).format(ch=self.channel)

    def measure(self, quantity: str) -> str:
        template = {"voltage": self.measure_voltage, "current": self.measure_current}[quantity]
        return template.format(ch=self.channel)


KEITHLEY_2281S = ScpiCommandSet(
    name="keithley_2281s",
    set_voltage=":VOLT {v:.4f}",
    set_current=":CURR {a:.4f}",
    output_on=":OUTP:STAT ON",
    output_off=":OUTP:STAT OFF",
    measure_voltage=":MEAS:VOLT?",
    measure_current=":MEAS:CURR?",
    setup=(":ENTR:FUNC POWER",),
    battery=KEITHLEY_2281S_BATTERY,
)

#: E36300 series (also N6705-style channel lists). Use dataclasses.replace(..., channel=2).
KEYSIGHT_E36300 = ScpiCommandSet(
    name="keysight_e36300",
    set_voltage="VOLT {v:.4f},(@{ch})",
    set_current="CURR {a:.4f},(@{ch})",
    output_on="OUTP 1,(@{ch})",
    output_off="OUTP 0,(@{ch})",
    measure_voltage="MEAS:VOLT? (@{ch})",
    measure_current="MEAS:CURR? (@{ch})",
    error_query="SYST:ERR?",
)

RIGOL_DP800 = ScpiCommandSet(
    name="rigol_dp800",
    set_voltage=":SOUR{ch}:VOLT {v:.4f}",
    set_current=":SOUR{ch}:CURR {a:.4f}",
    output_on=":OUTP CH{ch},ON",
    output_off=":OUTP CH{ch},OFF",
    measure_voltage=":MEAS:VOLT? CH{ch}",
    measure_current=":MEAS:CURR? CH{ch}",
)

COMMAND_SETS: dict[str, ScpiCommandSet] = {cs.name: cs for cs in (KEITHLEY_2281S, KEYSIGHT_E36300, RIGOL_DP800)}


def resolve_command_set(name_or_set: str | ScpiCommandSet) -> ScpiCommandSet:
    """Resolve a rig-file name such as ``"keithley_2281s"``; unknown names list the choices."""
    if isinstance(name_or_set, ScpiCommandSet):
        return name_or_set
    try:
        return COMMAND_SETS[name_or_set.lower()]
    except KeyError:
        raise ValueError(
            f"unknown power command set {name_or_set!r}; known: {', '.join(sorted(COMMAND_SETS))}"
        ) from None
