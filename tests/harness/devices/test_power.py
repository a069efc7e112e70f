"""The production power driver against the emulated 2281S (real TCP), pyvisa-sim and fakes."""

from __future__ import annotations

import dataclasses
import logging
import math
import socket
import textwrap
import time

import pytest

from harness.devices.power import (
    COMMAND_SETS,
    KEITHLEY_2281S,
    KEYSIGHT_E36300,
    RIGOL_DP800,
    InstrumentError,
    PowerLimitError,
    PowerLimits,
    ScpiPowerSupply,
    parse_reading,
    resolve_command_set,
)
from harness.emulator.scpi import ScpiServer

LIMITS = PowerLimits(max_voltage=4.4, max_current=3.0)  # a 1S Li-ion camera battery


@pytest.fixture
def psu(server):
    supply = ScpiPowerSupply.open(server.resource, LIMITS, timeout_ms=1000)
    yield supply
    supply.close()


# --------------------------------------------------------------------------- emulator, real TCP


def test_open_identifies_and_selects_power_mode(server) -> None:
    server.state.function = "SIMULATOR"
    with ScpiPowerSupply.open(server.resource, LIMITS, "keithley_2281s") as supply:
        assert supply.identify() == "KEITHLEY INSTRUMENTS,MODEL 2281S-20-6,4466001,02.03.0008"
        assert server.state.function == "POWER"
        assert str(server.port) in supply.name


def test_configure_measure_and_output_returns_after_the_switch(server, psu, load) -> None:
    switched: list[bool] = []

    def slow_camera(on: bool) -> None:
        time.sleep(0.05)
        switched.append(on)

    server.instrument.on_output = slow_camera
    load.amps = 0.42
    psu.set_voltage(3.85)
    psu.set_current_limit(2.0)
    assert (server.state.voltage_set, server.state.current_limit) == (3.85, 2.0)
    assert psu.measure_current() == 0.0
    psu.output(True)
    assert switched == [True]  # no sleep needed: output() ended with a round trip
    assert psu.measure_voltage() == pytest.approx(3.85)
    assert psu.measure_current() == pytest.approx(0.42)
    psu.output(False)
    assert switched == [True, False]
    assert psu.measure_voltage() == 0.0


def test_configuration_steps_are_not_slowed_by_nagle(psu) -> None:
    # write + SYST:ERR? with Nagle on costs ~45 ms a step (delayed ACK); without, ~0.2 ms
    t0 = time.monotonic()
    for i in range(20):
        psu.set_voltage(3.0 + i / 100)
    assert time.monotonic() - t0 < 0.4


@pytest.mark.parametrize(
    ("method", "value", "fragments"),
    [
        ("set_voltage", 4.5, ["voltage 4.5 V", "4.4 V"]),
        ("set_voltage", 20.0, ["voltage 20 V", "4.4 V"]),
        ("set_current_limit", 3.5, ["current limit 3.5 A", "3 A"]),
        ("set_voltage", -0.1, ["negative"]),
        ("set_voltage", math.nan, ["not a finite number"]),
        ("set_current_limit", math.inf, ["not a finite number"]),
    ],
)
def test_limits_are_refused_before_anything_is_sent(server, psu, method, value, fragments) -> None:
    psu.set_voltage(3.0)
    psu.set_current_limit(1.0)
    seen = list(server.received)
    with pytest.raises(PowerLimitError) as info:
        getattr(psu, method)(value)
    message = str(info.value)
    for fragment in fragments + [psu.name]:
        assert fragment in message
    assert list(server.received) == seen  # the instrument never saw a byte of it
    assert (server.state.voltage_set, server.state.current_limit) == (3.0, 1.0)


def test_queued_instrument_error_is_raised_with_its_text(server, psu, output_events) -> None:
    server.error_on_next = (-221, "Settings conflict;output locked by front panel")
    with pytest.raises(InstrumentError) as info:
        psu.output(True)
    err = info.value
    assert err.command == ":OUTP:STAT ON"
    assert err.detail == '-221,"Settings conflict;output locked by front panel"'
    assert "output locked by front panel" in str(err) and psu.name in str(err)
    assert server.state.output is False and output_events == []
    psu.output(True)  # the queue was drained: the next step is clean
    assert server.state.output is True


def test_every_queued_error_is_reported_and_the_queue_left_empty(server, psu) -> None:
    server.instrument.push_error(-222)
    server.instrument.push_error((-300, "Device-specific error;overtemperature"))
    with pytest.raises(InstrumentError) as info:
        psu.set_voltage(3.0)
    assert info.value.detail == '-222,"Data out of range"; -300,"Device-specific error;overtemperature"'
    assert server.instrument.error_count() == 0


def test_stale_errors_from_an_earlier_session_are_logged_not_raised(server, caplog) -> None:
    server.instrument.push_error(-113)
    with caplog.at_level(logging.WARNING, logger="harness.devices.power"):
        with ScpiPowerSupply.open(server.resource, LIMITS) as supply:
            supply.set_voltage(3.0)
    assert '-113,"Undefined header"' in caplog.text


def test_a_silent_instrument_times_out_quickly_and_the_driver_recovers(server) -> None:
    with ScpiPowerSupply.open(server.resource, LIMITS, timeout_ms=400) as supply:  # answers in time under load
        supply.set_voltage(3.3)
        server.mute = True
        t0 = time.monotonic()
        with pytest.raises(InstrumentError) as info:
            supply.measure_voltage()
        assert time.monotonic() - t0 < 2.0
        assert "did not answer ':MEAS:VOLT?' within 400 ms (timeout)" in str(info.value)
        assert info.value.command == ":MEAS:VOLT?"
        server.mute = False
        supply.output(True)
        assert supply.measure_voltage() == pytest.approx(3.3)


def test_garbled_reply_names_the_command_and_shows_the_bytes(server, psu) -> None:
    server.garble = True
    with pytest.raises(InstrumentError) as info:
        psu.measure_voltage()
    assert info.value.command == ":MEAS:VOLT?"
    assert ":MEAS:VOLT?" in str(info.value) and "\\xfe" in str(info.value)
    server.garble = False
    assert psu.measure_voltage() == 0.0


def test_context_exit_on_exception_leaves_output_off(server, output_events) -> None:
    with pytest.raises(ZeroDivisionError), ScpiPowerSupply.open(server.resource, LIMITS) as supply:
        supply.set_voltage(3.8)
        supply.output(True)
        _ = 1 / 0
    assert server.state.output is False
    assert output_events == [True, False]
    with pytest.raises(InstrumentError, match="closed"):
        supply.measure_voltage()


def test_safe_state_never_raises_even_when_the_instrument_is_gone(load, caplog) -> None:
    srv = ScpiServer(load_current=load).start()
    supply = ScpiPowerSupply.open(srv.resource, LIMITS, timeout_ms=150)
    srv.close()
    with caplog.at_level(logging.ERROR, logger="harness.devices.power"):
        supply.safe_state()
        with supply:  # exit path: safe_state then close, still no exception
            pass
    assert "could not switch the output off" in caplog.text


def test_open_refused_connection_is_an_instrument_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(InstrumentError, match="Connection refused"):
        # pyvisa-py connects lazily: the refusal surfaces on the first exchange, in open()
        ScpiPowerSupply.open(f"TCPIP::127.0.0.1::{port}::SOCKET", LIMITS, timeout_ms=300)


# --------------------------------------------------------------------------- fakes: replies the emulator won't give


class FakeResource:
    """Answers queries from a function; records everything sent."""

    resource_name = "FAKE::PSU"
    timeout = 100

    def __init__(self, answer) -> None:
        self.answer = answer
        self.sent: list[str] = []

    def write(self, command: str) -> None:
        self.sent.append(command)

    def query(self, command: str) -> str:
        self.sent.append(command)
        return self.answer(command)

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.mark.parametrize("reply", ["OVLD", "3.85 A", "9.91E37", "", "3,85"])
def test_non_numeric_reading_names_command_and_raw_reply(reply) -> None:
    supply = ScpiPowerSupply(FakeResource(lambda c: reply), LIMITS)
    with pytest.raises(InstrumentError) as info:
        supply.measure_voltage()
    assert info.value.command == ":MEAS:VOLT?"
    assert repr(reply) in str(info.value)


def test_error_queue_drain_is_bounded() -> None:
    fake = FakeResource(lambda c: '-350,"Queue overflow"')
    supply = ScpiPowerSupply(fake, LIMITS, max_error_reads=20)
    with pytest.raises(InstrumentError, match="still not empty after 20 reads"):
        supply.set_voltage(1.0)
    assert fake.sent.count(":SYST:ERR?") == 20


def test_unreadable_error_queue_reply_is_an_error() -> None:
    supply = ScpiPowerSupply(FakeResource(lambda c: "hello"), LIMITS)
    with pytest.raises(InstrumentError) as info:
        supply.output(False)
    assert info.value.command == ":SYST:ERR?" and "'hello'" in str(info.value)


@pytest.mark.parametrize(
    ("reply", "unit", "value"),
    [
        ("3.850000E+00", "V", 3.85),
        (" +3.85V\r", "V", 3.85),
        ("3850 mV", "V", 3.85),
        ("0.5ADC", "A", 0.5),
        ("-1.25E-01 A", "A", -0.125),
        ("3.85V,07/01/2013 19:21:36", "V", 3.85),
        ("250MA", "A", 0.25),
        (".5", "A", 0.5),
    ],
)
def test_parse_reading_accepts_units_and_elements(reply, unit, value) -> None:
    assert parse_reading(reply, unit) == pytest.approx(value)


@pytest.mark.parametrize("reply", ["abc", "3.85 A", "+9.9E37", "nan", "1.2.3", "V", "3,85", "3.8,3.9"])
def test_parse_reading_rejects(reply) -> None:
    with pytest.raises(ValueError):
        parse_reading(reply, "V")


def test_power_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PowerLimits(max_voltage=0, max_current=1)
    with pytest.raises(ValueError):
        PowerLimits(max_voltage=4.2, max_current=math.nan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        LIMITS.max_voltage = 99  # type: ignore[misc]


# --------------------------------------------------------------------------- command sets


def test_command_set_templates_render_vendor_syntax() -> None:
    assert [
        KEITHLEY_2281S.voltage(3.8),
        KEITHLEY_2281S.current(2),
        KEITHLEY_2281S.output(True),
        KEITHLEY_2281S.output(False),
        KEITHLEY_2281S.measure("voltage"),
        KEITHLEY_2281S.measure("current"),
        *KEITHLEY_2281S.setup,
    ] == [
        ":VOLT 3.8000",
        ":CURR 2.0000",
        ":OUTP:STAT ON",
        ":OUTP:STAT OFF",
        ":MEAS:VOLT?",
        ":MEAS:CURR?",
        ":ENTR:FUNC POWER",
    ]
    ch2 = dataclasses.replace(KEYSIGHT_E36300, channel=2)
    assert [
        ch2.voltage(3.8),
        ch2.current(2),
        ch2.output(True),
        ch2.output(False),
        ch2.measure("voltage"),
        ch2.measure("current"),
    ] == ["VOLT 3.8000,(@2)", "CURR 2.0000,(@2)", "OUTP 1,(@2)", "OUTP 0,(@2)", "MEAS:VOLT? (@2)", "MEAS:CURR? (@2)"]
    assert [
        RIGOL_DP800.voltage(3.8),
        RIGOL_DP800.current(2),
        RIGOL_DP800.output(True),
        RIGOL_DP800.output(False),
        RIGOL_DP800.measure("voltage"),
        RIGOL_DP800.measure("current"),
    ] == [
        ":SOUR1:VOLT 3.8000",
        ":SOUR1:CURR 2.0000",
        ":OUTP CH1,ON",
        ":OUTP CH1,OFF",
        ":MEAS:VOLT? CH1",
        ":MEAS:CURR? CH1",
    ]


def test_command_sets_by_name() -> None:
    assert set(COMMAND_SETS) == {"keithley_2281s", "keysight_e36300", "rigol_dp800"}
    assert resolve_command_set("Rigol_DP800") is RIGOL_DP800
    with pytest.raises(ValueError, match="keithley_2281s"):
        resolve_command_set("hp_6632")


SIM_YAML = textwrap.dedent(
    """\
    spec: "1.1"
    devices:
      e36312a:
        eom:
          TCPIP SOCKET: {q: "\\n", r: "\\n"}
        error:
          error_queue:
            - q: "SYST:ERR?"
              default: '+0,"No error"'
              command_error: '-113,"Undefined header"'
        dialogues:
          - q: "*IDN?"
            r: "Keysight Technologies,E36312A,MY00000001,2.1.0"
        properties:
          voltage:
            default: 0.0
            getter: {q: "MEAS:VOLT? (@1)", r: "{:+.8E}"}
            setter: {q: "VOLT {:f},(@1)"}
            specs: {min: 0, max: 6.18, type: float}
          current:
            default: 0.0
            getter: {q: "MEAS:CURR? (@1)", r: "{:+.8E}"}
            setter: {q: "CURR {:f},(@1)"}
            specs: {min: 0, max: 5.15, type: float}
          output:
            default: 0
            getter: {q: "OUTP? (@1)", r: "{:d}"}
            setter: {q: "OUTP {:d},(@1)"}
            specs: {valid: [0, 1], type: int}
      dp832:
        eom:
          TCPIP SOCKET: {q: "\\n", r: "\\n"}
        error:
          error_queue:
            - q: ":SYST:ERR?"
              default: '0,"No error"'
              command_error: '-113,"Undefined header"'
        dialogues:
          - q: "*IDN?"
            r: "RIGOL TECHNOLOGIES,DP832,DP8C000000001,00.01.16"
        properties:
          voltage:
            default: 0.0
            getter: {q: ":MEAS:VOLT? CH1", r: "{:.4f}"}
            setter: {q: ":SOUR1:VOLT {:f}"}
            specs: {min: 0, max: 32, type: float}
          current:
            default: 0.0
            getter: {q: ":MEAS:CURR? CH1", r: "{:.4f}"}
            setter: {q: ":SOUR1:CURR {:f}"}
            specs: {min: 0, max: 3.2, type: float}
          output:
            default: "OFF"
            getter: {q: ":OUTP? CH1", r: "{:s}"}
            setter: {q: ":OUTP CH1,{:s}"}
            specs: {valid: ["ON", "OFF"], type: str}
    resources:
      TCPIP::10.0.0.2::5025::SOCKET: {device: e36312a}
      TCPIP::10.0.0.3::5555::SOCKET: {device: dp832}
    """
)


@pytest.mark.parametrize(
    ("resource", "name", "idn", "output_query", "on_reply"),
    [
        ("TCPIP::10.0.0.2::5025::SOCKET", "keysight_e36300", "E36312A", "OUTP? (@1)", "1"),
        ("TCPIP::10.0.0.3::5555::SOCKET", "rigol_dp800", "DP832", ":OUTP? CH1", "ON"),
    ],
)
def test_other_vendors_against_pyvisa_sim(tmp_path, resource, name, idn, output_query, on_reply) -> None:
    pytest.importorskip("pyvisa_sim")
    yaml_path = tmp_path / "supplies.yaml"
    yaml_path.write_text(SIM_YAML)
    limits = PowerLimits(max_voltage=12.0, max_current=3.0)
    with ScpiPowerSupply.open(resource, limits, name, backend=f"{yaml_path}@sim") as supply:
        assert idn in supply.identify()
        supply.set_voltage(3.8)
        supply.set_current_limit(1.5)
        supply.output(True)
        assert supply._query(output_query) == on_reply
        # the simulated instrument echoes set points as "measurements": proves the syntax matched
        assert supply.measure_voltage() == pytest.approx(3.8)
        assert supply.measure_current() == pytest.approx(1.5)
        if name == "keysight_e36300":  # beyond the E36312A's 6.18 V range, within the rig's 12 V
            with pytest.raises(InstrumentError, match="Undefined header"):
                supply.set_voltage(7.0)
