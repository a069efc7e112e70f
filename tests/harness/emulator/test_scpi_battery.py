"""The emulated 2281S battery simulator: the :BATT subset in-process, then over pyvisa-py on TCP."""

from __future__ import annotations

import pytest
import pyvisa

from harness.core.clock import VirtualClock
from harness.emulator.scpi import PLAIN_SUPPLY_GROUPS, ScpiServer, SupplyEmulator, build_command_table

NO_ERROR = '0,"No error"'


def errors(emu: SupplyEmulator) -> list[str]:
    out = []
    while (entry := emu.pop_error()) != NO_ERROR:
        out.append(entry)
    return out


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def sim(load, output_events, clock) -> SupplyEmulator:
    """An emulated supply in SIMULATOR function with model 1 (5 Ah Li-ion) recalled."""
    emu = SupplyEmulator(on_output=output_events.append, load_current=load, clock=clock)
    assert emu.execute_line(":ENTR:FUNC SIMULATOR;:BATT:MOD:RCL 1") is None
    assert errors(emu) == []
    return emu


def num(reply: str | None) -> float:
    assert reply is not None
    return float(reply)


@pytest.mark.parametrize(
    "command",
    [
        ":BATT:SIM:SOC 40",
        ":BATTERY:SIMULATOR:SOC 40",
        ":batt:sim:soc 40",
        "BATTery:SIMulator:SOC 40PCT",
        ":BATT:SIM:SOC 0.4e2",
    ],
)
def test_soc_long_short_case_and_suffix_forms(sim, command) -> None:
    sim.execute_line(command)
    assert errors(sim) == []
    assert num(sim.execute_line(":BATT:SIM:SOC?")) == pytest.approx(40.0)


def test_chained_commands_follow_the_current_path(sim) -> None:
    """After :BATT:SIM:SOC the path is BATT:SIM, so CAP:LIM needs no prefix; after CAP:LIM it is
    BATT:SIM:CAP, so CURR:LIM does (without it the header is undefined)."""
    replies = sim.execute_line(
        ":BATT:SIM:SOC 60;CAP:LIM 2.5;:BATT:SIM:CURR:LIM 1.5;:BATT:SIM:SOC?;CAP:LIM?;"
        ":BATT:SIM:CURR:LIM?;:BATT:SIM:METH?"
    )
    assert replies is not None
    soc, cap, lim, method = replies.split(";")
    assert (float(soc), float(cap), float(lim), method) == (60.0, 2.5, 1.5, "DYN")
    assert errors(sim) == []
    sim.execute_line(":BATT:SIM:CAP:LIM 2;CURR:LIM 1")
    assert errors(sim) == ['-113,"Undefined header"'] and sim.state.battery.current_limit == 1.5


def test_battery_commands_are_refused_outside_simulator_function(load) -> None:
    emu = SupplyEmulator(load_current=load)
    emu.execute_line(":BATT:SIM:SOC 50")
    emu.execute_line(":BATT:OUTP ON")
    assert emu.execute_line(":BATT:SIM:TVOL?") is None  # a rejected query gets no reply
    assert errors(emu) == ['-221,"Settings conflict;battery command outside SIMULATOR function"'] * 3
    assert emu.state.output is False


def test_a_supply_without_the_option_does_not_know_battery_headers(load) -> None:
    emu = SupplyEmulator(load_current=load, table=build_command_table(PLAIN_SUPPLY_GROUPS))
    emu.execute_line(":ENTR:FUNC SIMULATOR;:BATT:MOD:RCL 1")
    assert errors(emu) == ['-113,"Undefined header"']


def test_terminal_voltage_and_current_follow_the_load_and_the_discharge(sim, load, clock) -> None:
    sim.execute_line(":BATT:SIM:SOC 50;:BATT:OUTP ON")
    load.amps = 0.5
    model = sim.state.battery.model
    assert num(sim.execute_line(":BATT:SIM:TVOL?")) == pytest.approx(model.terminal(0.5, 0.5), abs=1e-6)
    assert num(sim.execute_line(":BATT:SIM:CURR?")) == pytest.approx(0.5)
    assert num(sim.execute_line(":MEAS:VOLT?")) == num(sim.execute_line(":BATT:SIM:TVOL?"))
    clock.sleep(3600.0)  # 0.5 Ah out of 5 Ah: 10 points of charge
    assert num(sim.execute_line(":BATT:SIM:SOC?")) == pytest.approx(40.0)
    assert num(sim.execute_line(":BATT:SIM:VOC?")) == pytest.approx(model.open_circuit(0.4), abs=1e-6)
    assert num(sim.execute_line(":BATT:SIM:RES?")) == pytest.approx(model.series_resistance(0.4), abs=1e-6)


def test_charge_is_booked_at_the_draw_before_each_change(sim, load, clock) -> None:
    """The load settles before it changes its draw: 1 h at 0.2 A then 1 h at 0.8 A = 1 Ah."""
    sim.execute_line(":BATT:SIM:CAP:LIM 10;:BATT:OUTP ON")
    load.amps = 0.2
    clock.sleep(3600.0)
    sim.settle()
    load.amps = 0.8
    clock.sleep(3600.0)
    assert num(sim.execute_line(":BATT:SIM:SOC?")) == pytest.approx(90.0)
    assert sim.state.battery.drawn_ah == pytest.approx(1.0)


def test_output_off_and_static_method_stop_the_discharge(sim, load, clock) -> None:
    load.amps = 1.0
    sim.execute_line(":BATT:SIM:SOC 50")  # output off: no current flows
    clock.sleep(3600.0)
    assert num(sim.execute_line(":BATT:SIM:SOC?")) == pytest.approx(50.0)
    assert num(sim.execute_line(":BATT:SIM:CURR?")) == 0.0 and num(sim.execute_line(":BATT:SIM:TVOL?")) == 0.0
    sim.execute_line(":BATT:SIM:METH STAT;:BATT:OUTP ON")
    clock.sleep(3600.0)
    assert num(sim.execute_line(":BATT:SIM:SOC?")) == pytest.approx(50.0)
    assert sim.execute_line(":BATT:SIM:METH?") == "STAT"


def test_voc_sets_the_state_of_charge(sim) -> None:
    model = sim.state.battery.model
    sim.execute_line(f":BATT:SIM:VOC {model.voc[70]}")
    assert num(sim.execute_line(":BATT:SIM:SOC?")) == pytest.approx(70.0, abs=1e-6)
    sim.execute_line(":BATT:SIM:VOC 5.0")  # above a full battery
    assert errors(sim) == ['-222,"Data out of range"']


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (":BATT:SIM:SOC 101", -222),
        (":BATT:SIM:SOC -1", -222),
        (":BATT:SIM:SOC", -109),
        (":BATT:SIM:SOC 5V", -131),
        (":BATT:MOD:RCL 7", -224),
        (":BATT:MOD:RCL NIMH", -224),
        (":BATT:SIM:METH FAST", -224),
        (":BATT:SIM:CAP:LIM 0", -222),
        (":BATT:SIM:CURR:LIM 9", -222),
        (":BATT:SIM:CURR? 1", -108),
    ],
)
def test_bad_parameters_are_queued_and_change_nothing(sim, command, error) -> None:
    before = (sim.state.battery.soc, sim.state.battery.capacity_ah, sim.state.battery.model.name)
    sim.execute_line(command)
    assert [e.split(",")[0] for e in errors(sim)] == [str(error)]
    assert (sim.state.battery.soc, sim.state.battery.capacity_ah, sim.state.battery.model.name) == before


def test_recall_by_name_resets_the_simulation(sim) -> None:
    sim.execute_line(":BATT:SIM:SOC 10;CAP:LIM 1")
    sim.execute_line(':BATT:MOD:RCL "LI-ION4_35"')
    assert errors(sim) == []
    assert num(sim.execute_line(":BATT:SIM:SOC?")) == 100.0 and num(sim.execute_line(":BATT:SIM:CAP:LIM?")) == 3.0


def test_changing_function_switches_the_output_off_first(sim, output_events) -> None:
    sim.execute_line(":BATT:OUTP ON")
    assert sim.execute_line(":BATT:OUTP?") == "1" and sim.execute_line(":OUTP?") == "1"  # one output
    sim.execute_line(":ENTR:FUNC POWER")
    assert output_events == [True, False] and sim.state.function == "POWER"


def test_load_above_the_simulator_current_limit_collapses_the_voltage(sim, load) -> None:
    sim.execute_line(":BATT:SIM:CURR:LIM 0.5;:BATT:OUTP ON")
    load.amps = 0.8
    assert num(sim.execute_line(":BATT:SIM:TVOL?")) == 0.0
    assert num(sim.execute_line(":BATT:SIM:CURR?")) == pytest.approx(0.5)


def test_the_load_is_told_when_the_supply_changes(load, clock) -> None:
    calls: list[str] = []
    emu = SupplyEmulator(load_current=load, clock=clock, on_change=lambda: calls.append("changed"))
    emu.execute_line(":VOLT 3.8")  # output off: nothing the load sees
    emu.execute_line(":OUTP ON;:VOLT 3.7")
    emu.execute_line(":ENTR:FUNC SIM;:BATT:MOD:RCL 1;:BATT:SIM:SOC 20")
    assert calls == ["changed"] * 4


def test_the_camera_side_fuel_gauge(sim, load) -> None:
    """What the emulated camera reads of its supply: voltage and time to a threshold."""
    sim.execute_line(":BATT:SIM:SOC 10;:BATT:OUTP ON")
    load.amps = 0.32
    left = sim.seconds_until_voltage(3.30)
    assert 0 < left < 2 * 3600
    bench = SupplyEmulator(load_current=load)
    bench.execute_line(":VOLT 3.85;:OUTP ON")
    assert bench.supply_voltage() == 3.85 and bench.seconds_until_voltage(3.30) == float("inf")
    assert bench.seconds_until_voltage(3.90) == 0.0


def test_reset_returns_to_a_fresh_power_supply(sim, output_events) -> None:
    sim.execute_line(":BATT:SIM:SOC 5;:BATT:OUTP ON;*RST")
    assert sim.state.function == "POWER" and sim.state.output is False
    assert sim.state.battery.soc == 1.0 and output_events == [True, False]


# --------------------------------------------------------------------------- over pyvisa-py


def test_battery_session_over_pyvisa(load, clock) -> None:
    load.amps = 0.4
    with ScpiServer(load_current=load, clock=clock) as server:
        rm = pyvisa.ResourceManager("@py")
        try:
            inst = rm.open_resource(server.resource, read_termination="\n", write_termination="\n", timeout=2000)
            inst.write(":entr:func simulator;:BATTERY:MODEL:RCL 1;:BATT:SIM:SOC 80;:BATT:OUTP ON")
            assert inst.query("SYST:ERR?") == NO_ERROR
            volts = float(inst.query(":BATT:SIM:TVOL?"))
            assert volts == pytest.approx(server.state.battery.model.terminal(0.8, 0.4), abs=1e-6)
            clock.sleep(1800.0)  # 0.2 Ah: 4 points
            assert float(inst.query(":BATT:SIM:SOC?")) == pytest.approx(76.0)
            assert inst.query(":BATT:SIM:CURR?;:BATT:OUTP?") == "4.000000E-01;1"
            inst.close()
        finally:
            rm.close()
