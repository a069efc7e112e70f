"""The power driver's battery-simulator side, against the emulated 2281S over real TCP.

Every failure (timeout, garbled reply, error queue not empty, unsupported command) must give an
error naming the instrument and the command, and leave the output off.
"""

from __future__ import annotations

import logging
import math

import pytest

from harness.core.clock import VirtualClock
from harness.devices.power import (
    KEITHLEY_2281S,
    BatterySetup,
    InstrumentError,
    NotSupported,
    PowerLimitError,
    PowerLimits,
    ScpiPowerSupply,
)
from harness.emulator.scpi import ScpiServer

LIMITS = PowerLimits(max_voltage=4.4, max_current=3.0)
SETUP = BatterySetup("1", 80.0, capacity_ah=5.0, current_limit=2.0)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def sim_server(load, output_events, clock):
    with ScpiServer(on_output=output_events.append, load_current=load, clock=clock) as srv:
        yield srv


@pytest.fixture
def psu(sim_server):
    supply = ScpiPowerSupply.open(sim_server.resource, LIMITS, timeout_ms=1000)  # short, yet safe on a loaded machine
    yield supply
    supply.close()


def sent_since(server: ScpiServer, mark: int) -> list[str]:
    return list(server.received)[mark:]


def test_select_battery_sends_the_2281s_sequence_and_checks_each_step(sim_server, psu) -> None:
    mark = len(sim_server.received)
    psu.select_battery(SETUP)
    commands = [c for c in sent_since(sim_server, mark) if c != ":SYST:ERR?"]
    assert commands == [
        ":OUTP:STAT OFF",
        ":ENTR:FUNC SIMULATOR",
        ":BATT:MOD:RCL 1",
        ":BATT:SIM:CAP:LIM 5.0000",
        ":BATT:SIM:CURR:LIM 2.0000",
        ":BATT:SIM:METH DYN",
        ":BATT:SIM:SOC 80.00",
        ":BATT:SIM:VOC?",
    ]
    assert sent_since(sim_server, mark).count(":SYST:ERR?") >= 7  # each configuration step error-checked
    state = sim_server.state
    assert (state.function, state.battery.capacity_ah, state.battery.current_limit) == ("SIMULATOR", 5.0, 2.0)
    assert psu.battery == SETUP and psu.state_of_charge() == pytest.approx(80.0)


def test_in_battery_mode_output_and_readings_use_the_simulator(sim_server, psu, load, clock, output_events) -> None:
    psu.select_battery(SETUP)
    load.amps = 0.5
    mark = len(sim_server.received)
    psu.output(True)
    volts, amps = psu.measure_voltage(), psu.measure_current()
    assert ":BATT:OUTP ON" in sent_since(sim_server, mark)
    assert {":BATT:SIM:TVOL?", ":BATT:SIM:CURR?"} <= set(sent_since(sim_server, mark))
    assert volts == pytest.approx(sim_server.state.battery.model.terminal(0.8, 0.5), abs=1e-5) and amps == 0.5
    clock.sleep(3600.0)
    assert psu.state_of_charge() == pytest.approx(70.0)
    psu.output(False)
    assert output_events == [True, False]


def test_setting_a_voltage_returns_to_power_supply_mode(sim_server, psu) -> None:
    psu.select_battery(SETUP)
    psu.output(True)
    psu.set_voltage(3.85)
    assert psu.battery is None and psu.state_of_charge() is None
    assert sim_server.state.function == "POWER" and sim_server.state.output is False
    psu.output(True)
    assert psu.measure_voltage() == pytest.approx(3.85)


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        (BatterySetup("1", 100.5), "must be 0..100 %"),
        (BatterySetup("1", -1), "must be 0..100 %"),
        (BatterySetup("1", math.nan), "must be 0..100 %"),
        (BatterySetup("1", 50, capacity_ah=0), "must be > 0"),
        (BatterySetup("1", 50, current_limit=3.5), "rig limit for this battery is 3 A"),
        (BatterySetup("1;*RST", 50), "not a slot number or name"),
        (BatterySetup("", 50), "not a slot number or name"),
    ],
)
def test_bad_battery_requests_are_refused_before_anything_is_sent(sim_server, psu, setup, fragment) -> None:
    mark = len(sim_server.received)
    with pytest.raises(PowerLimitError, match=fragment) as info:
        psu.select_battery(setup)
    assert psu.name in str(info.value)
    assert sent_since(sim_server, mark) == [] and sim_server.state.function == "POWER"


def test_a_model_above_the_rig_voltage_limit_is_refused_with_the_output_off(sim_server) -> None:
    low = PowerLimits(max_voltage=4.0, max_current=3.0)
    with ScpiPowerSupply.open(sim_server.resource, low) as supply:
        with pytest.raises(PowerLimitError, match="presents 4.18 V at 100 %, above the rig limit 4 V"):
            supply.select_battery(BatterySetup("1", 100))
        assert sim_server.state.output is False


@pytest.mark.parametrize("command_set", ["keysight_e36300", "rigol_dp800"])
def test_families_without_a_simulator_say_so_before_sending(sim_server, command_set) -> None:
    with ScpiPowerSupply.open(sim_server.resource, LIMITS, command_set) as supply:
        mark = len(sim_server.received)
        with pytest.raises(NotSupported, match=f"the {command_set} command set has no battery simulator"):
            supply.select_battery(SETUP)
        assert sent_since(sim_server, mark) == []
        assert supply.state_of_charge() is None


# --------------------------------------------------------------------------- faults, each against the emulator


def test_timeout_names_instrument_and_command_and_the_output_is_left_off(sim_server, psu) -> None:
    psu.select_battery(SETUP)
    psu.output(True)
    sim_server.mute = True
    with pytest.raises(InstrumentError) as info:
        psu.state_of_charge()
    assert info.value.command == ":BATT:SIM:SOC?" and psu.name in str(info.value) and "timeout" in str(info.value)
    psu.safe_state()  # the OFF is executed even though no reply comes back
    assert sim_server.state.output is False


def test_timeout_while_configuring_says_which_step_it_was_confirming(sim_server, psu) -> None:
    sim_server.mute = True
    with pytest.raises(InstrumentError) as info:
        psu.select_battery(SETUP)
    assert "did not answer ':SYST:ERR?'" in str(info.value)
    assert "while confirming ':OUTP:STAT OFF'" in str(info.value) and psu.name in str(info.value)
    sim_server.mute = False
    psu.safe_state()
    assert sim_server.state.output is False


def test_garbled_reply_names_the_command_and_shows_the_bytes(sim_server, psu) -> None:
    psu.select_battery(SETUP)
    psu.output(True)
    sim_server.garble = True
    with pytest.raises(InstrumentError) as info:
        psu.measure_current()
    assert info.value.command == ":BATT:SIM:CURR?" and "\\xfe" in str(info.value) and psu.name in str(info.value)
    psu.safe_state()
    assert sim_server.state.output is False


def test_an_instrument_error_in_the_queue_fails_the_step_with_its_text(sim_server, psu) -> None:
    psu.select_battery(SETUP)
    sim_server.error_on_next = (-222, "Data out of range;SOC")
    with pytest.raises(InstrumentError) as info:
        psu.output(True)
    assert info.value.command == ":BATT:OUTP ON"
    assert '-222,"Data out of range;SOC"' in str(info.value) and psu.name in str(info.value)
    assert sim_server.state.output is False


def test_an_unsupported_command_fails_with_the_instrument_text_and_the_output_off(output_events) -> None:
    """A 2281S without the battery-simulator option: the recall is an undefined header."""
    with ScpiServer(on_output=output_events.append, battery=False) as plain:
        with ScpiPowerSupply.open(plain.resource, LIMITS, timeout_ms=1000) as supply:
            with pytest.raises(InstrumentError) as info:
                supply.select_battery(SETUP)
            assert info.value.command == ":BATT:MOD:RCL 1"
            assert '-113,"Undefined header"' in str(info.value) and supply.name in str(info.value)
        assert plain.state.output is False and output_events == []


def test_an_unsupported_query_times_out_and_the_error_queue_says_why(sim_server, psu) -> None:
    """Instruments do not answer a query they do not know; the driver asks the queue why."""
    with pytest.raises(InstrumentError) as info:
        psu._reading(":BATT:SIM:FOO?", "V")
    assert info.value.command == ":BATT:SIM:FOO?" and psu.name in str(info.value)
    assert '(timeout); error queue: -113,"Undefined header"' in str(info.value)
    assert psu.measure_current() == 0.0  # the session is usable afterwards


def test_safe_state_falls_back_to_the_other_mode_and_never_raises(sim_server, psu, caplog) -> None:
    """The instrument was switched to POWER behind the driver's back: :BATT:OUTP OFF is refused,
    so the power-supply OFF is sent as well."""
    psu.select_battery(SETUP)
    psu.output(True)
    sim_server.instrument.execute_line(":ENTR:FUNC POWER;:OUTP ON")
    assert sim_server.state.output is True
    with caplog.at_level(logging.ERROR, logger="harness.devices.power"):
        psu.safe_state()
    assert sim_server.state.output is False
    assert "could not switch the output off" in caplog.text


def test_context_exit_on_exception_leaves_the_simulator_output_off(sim_server) -> None:
    with pytest.raises(KeyboardInterrupt), ScpiPowerSupply.open(sim_server.resource, LIMITS) as supply:
        supply.select_battery(SETUP)
        supply.output(True)
        raise KeyboardInterrupt  # Ctrl-C, or SIGTERM as the pytest plugin turns it
    assert sim_server.state.output is False and ":BATT:OUTP OFF" in sim_server.received


def test_the_keithley_command_set_carries_the_battery_templates() -> None:
    battery = KEITHLEY_2281S.battery
    assert battery is not None
    assert battery.soc.format(soc=55.5) == ":BATT:SIM:SOC 55.50"
    assert battery.recall.format(model="LI-ION4_2") == ":BATT:MOD:RCL LI-ION4_2"
