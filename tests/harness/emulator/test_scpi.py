"""The emulated 2281S: parser rules without sockets, then the real TCP path via pyvisa-py."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
import pyvisa

from harness.emulator.scpi import (
    GARBAGE_REPLY,
    CommandTable,
    Identity,
    ScpiError,
    ScpiServer,
    SupplyEmulator,
    compile_header,
    parse_numeric,
)

NO_ERROR = '0,"No error"'


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def rm():
    manager = pyvisa.ResourceManager("@py")
    yield manager
    manager.close()


def open_inst(rm: pyvisa.ResourceManager, server: ScpiServer, timeout_ms: int = 2000):
    return rm.open_resource(server.resource, read_termination="\n", write_termination="\n", timeout=timeout_ms)


@pytest.fixture
def inst(rm, server):
    handle = open_inst(rm, server)
    yield handle
    handle.close()


def raw_client(server: ScpiServer, timeout: float = 2.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    return sock


def recv_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)  # byte by byte: never swallow the next reply
        if not chunk:
            break
        data += chunk
    return data


def drain_errors(emu: SupplyEmulator) -> list[str]:
    errors = []
    while (entry := emu.pop_error()) != NO_ERROR:
        errors.append(entry)
    return errors


# --------------------------------------------------------------------------- parser, no sockets


@pytest.fixture
def emu(load, output_events: list[bool]) -> SupplyEmulator:
    return SupplyEmulator(on_output=output_events.append, load_current=load)


@pytest.mark.parametrize(
    "command",
    [
        ":SOURce:VOLTage:LEVel:IMMediate:AMPLitude 1.5",
        "SOUR:VOLT:LEV:IMM:AMPL 1.5",
        "sour:volt:lev 1.5",
        "VOLTAGE 1.5",
        ":volt:imm 1.5",
        "Volt:Ampl 1.5",
        "VOLT 1.5V",
        "VOLT 1500 mV",
        "VOLT 1500MV",
        "VOLT 1.5e0",
        "VOLT\t+1.50",
    ],
)
def test_voltage_long_short_case_and_units(emu: SupplyEmulator, command: str) -> None:
    assert emu.execute_line(command) is None
    assert drain_errors(emu) == []
    assert emu.state.voltage_set == pytest.approx(1.5)
    assert emu.execute_line("VOLT?") == "1.500000E+00"


@pytest.mark.parametrize(
    "command", ["VOLTA 1", "SOURC:VOLT 1", "VOLT:LEVE 1", "SOUR:SOUR:VOLT 1", "FOO", ":", "VOLT::LEV 1"]
)
def test_headers_that_are_neither_long_nor_short_form_are_undefined(emu, command) -> None:
    assert emu.execute_line(command) is None
    assert drain_errors(emu) == ['-113,"Undefined header"']
    assert emu.state.voltage_set == 0.0


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("OUTP ON", True),
        ("outp:stat 1", True),
        ("OUTPUT:STATE on", True),
        (":OUTPut 0", False),
        ("OUTP:STAT OFF", False),
    ],
)
def test_output_forms(emu, output_events, command, expected) -> None:
    emu.state.output = not expected
    emu.execute_line(command)
    assert drain_errors(emu) == []
    assert emu.state.output is expected
    assert emu.execute_line("OUTP?") == ("1" if expected else "0")
    assert output_events == [expected]


def test_output_callback_only_on_transitions(emu, output_events) -> None:
    emu.execute_line("OUTP ON;OUTP ON;OUTP OFF;OUTP OFF;*RST")
    assert output_events == [True, False]


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("VOLT 20.01", '-222,"Data out of range"'),
        ("VOLT -0.1", '-222,"Data out of range"'),
        ("VOLT 1e999", '-222,"Data out of range"'),
        ("CURR 0.05", '-222,"Data out of range"'),
        ("CURR 6.2", '-222,"Data out of range"'),
        ("CURR 7000mA", '-222,"Data out of range"'),
        ("VOLT", '-109,"Missing parameter"'),
        ("VOLT 1,2", '-108,"Parameter not allowed"'),
        ("VOLT 1A", '-131,"Invalid suffix"'),
        ("VOLT FAST", '-224,"Illegal parameter value"'),
        ("VOLT 1.2.3", '-104,"Data type error"'),
        ("OUTP MAYBE", '-224,"Illegal parameter value"'),
        ("OUTP", '-109,"Missing parameter"'),
        ("ENTR:FUNC BOGUS", '-224,"Illegal parameter value"'),
        ("MEAS:VOLT", '-113,"Undefined header"'),  # query-only header used as a command
        ("*IDN", '-113,"Undefined header"'),
    ],
)
def test_parameter_errors_are_queued_and_change_nothing(emu, command, error) -> None:
    before = (emu.state.voltage_set, emu.state.current_limit, emu.state.output)
    assert emu.execute_line(command) is None
    assert drain_errors(emu) == [error]
    assert (emu.state.voltage_set, emu.state.current_limit, emu.state.output) == before


def test_min_max_def(emu) -> None:
    emu.execute_line("VOLT MAX;CURR MIN")
    assert (emu.state.voltage_set, emu.state.current_limit) == (20.0, 0.1)
    assert emu.execute_line("VOLT? MIN;CURR? MAX") == "0.000000E+00;6.100000E+00"
    emu.execute_line("VOLT DEF;CURR DEFault")
    assert (emu.state.voltage_set, emu.state.current_limit) == (0.0, 1.0)
    emu.execute_line("CURR 250 mA")
    assert emu.state.current_limit == pytest.approx(0.25)


def test_chaining_follows_the_scpi_current_path(emu, load) -> None:
    load.amps = 0.3
    # MEAS:VOLT? sets the path to MEAS, so the following CURR? is MEAS:CURR?
    assert emu.execute_line("VOLT 3.7;CURR 2;OUTP ON;MEAS:VOLT?;CURR?") == "3.700000E+00;3.000000E-01"
    # ":" restarts at the root; common commands do not change the path
    assert emu.execute_line("MEAS:VOLT?;*OPC?;CURR?;:VOLT?") == "3.700000E+00;1;3.000000E-01;3.700000E+00"
    assert drain_errors(emu) == []
    # without the ":" the second header is MEAS:MEAS:CURR - undefined, as on real instruments
    assert emu.execute_line("MEAS:VOLT?;MEAS:CURR?") == "3.700000E+00"
    assert drain_errors(emu) == ['-113,"Undefined header"']


def test_error_discards_rest_of_message(emu, output_events) -> None:
    emu.execute_line("VOLT 99;OUTP ON")
    assert emu.state.output is False
    assert output_events == []
    assert drain_errors(emu) == ['-222,"Data out of range"']


def test_measurements_follow_output_and_current_limit(emu, load) -> None:
    load.amps = 5.0
    emu.execute_line("VOLT 4;CURR 2")
    assert emu.execute_line("MEAS:VOLT?;:MEAS:CURR?") == "0.000000E+00;0.000000E+00"
    emu.execute_line("OUTP ON")
    assert emu.execute_line(":MEASure:VOLTage:DC?;:MEASure:CURRent:DC?") == "4.000000E+00;2.000000E+00"
    load.amps = 0.25
    assert emu.execute_line("meas:curr?") == "2.500000E-01"


def test_error_queue_commands(emu) -> None:
    emu.execute_line("NOPE;")
    emu.execute_line("VOLT 99")
    assert emu.execute_line("SYST:ERR:COUN?") == "2"
    assert emu.execute_line(":SYSTem:ERRor:NEXT?") == '-113,"Undefined header"'
    assert emu.execute_line("syst:err?") == '-222,"Data out of range"'
    assert emu.execute_line("SYST:ERR?") == NO_ERROR
    emu.execute_line("NOPE")
    emu.execute_line("*CLS")
    assert emu.execute_line("SYST:ERR?") == NO_ERROR


def test_error_queue_overflow_keeps_oldest_and_flags_overflow(emu) -> None:
    for _ in range(100):
        emu.execute_line("NOPE")
    errors = drain_errors(emu)
    assert len(errors) == 32
    assert errors[0] == '-113,"Undefined header"'
    assert errors[-1] == '-350,"Queue overflow"'


def test_identity_entry_function_and_reset(output_events) -> None:
    emu = SupplyEmulator(Identity(serial="123", firmware="9.9"), on_output=output_events.append)
    assert emu.execute_line("*IDN?") == "KEITHLEY INSTRUMENTS,MODEL 2281S-20-6,123,9.9"
    assert emu.execute_line("ENTR:FUNC?") == "POWER"
    emu.execute_line(":ENTRy:FUNCtion SIM")
    assert emu.execute_line("ENTR:FUNC?") == "SIMULATOR"
    emu.execute_line("entr:func test")
    assert emu.state.function == "TEST"
    emu.execute_line("VOLT 5;CURR 3;OUTP ON;*RST")
    assert (emu.state.output, emu.state.voltage_set, emu.state.current_limit, emu.state.function) == (
        False,
        0.0,
        1.0,
        "POWER",
    )
    assert output_events == [True, False]
    assert emu.execute_line("*OPC?") == "1"


def test_error_on_next_rejects_one_command_but_not_the_error_query(emu) -> None:
    emu.error_on_next = (-200, "Execution error;interlock open")
    assert emu.execute_line("SYST:ERR?") == NO_ERROR  # diagnostics are exempt
    emu.execute_line("VOLT 3")
    assert emu.state.voltage_set == 0.0
    emu.execute_line("VOLT 3")
    assert emu.state.voltage_set == 3.0
    assert drain_errors(emu) == ['-200,"Execution error;interlock open"']


def test_callback_failures_become_instrument_errors(load) -> None:
    def broken(on: bool) -> None:
        raise RuntimeError("camera emulator crashed")

    emu = SupplyEmulator(on_output=broken, load_current=lambda: 1 / 0)
    emu.execute_line("OUTP ON")
    assert emu.state.output is True
    assert emu.execute_line("MEAS:CURR?") is None
    assert [e.split(",")[0] for e in drain_errors(emu)] == ["-300", "-300"]


def test_header_patterns_and_numeric_helper() -> None:
    nodes = compile_header("[:SOURce]:VOLTage[:LEVel]")
    assert [(n.short, n.long, n.optional) for n in nodes] == [
        ("SOUR", "SOURCE", True),
        ("VOLT", "VOLTAGE", False),
        ("LEV", "LEVEL", True),
    ]
    table = CommandTable()
    table.add(":BATTery:SIMulator:SOC", write=lambda inst, args: None)  # the future extension point
    assert table.find(["batt", "sim", "soc"]) is not None
    assert table.find(["batt", "soc"]) is None
    with pytest.raises(ValueError):
        compile_header("[:SOUR")
    assert parse_numeric("2 MA", "A", 0, 1, 0) == pytest.approx(0.002)
    with pytest.raises(ScpiError) as info:
        parse_numeric("2", "A", 0, 1, 0)
    assert info.value.code == -222


# --------------------------------------------------------------------------- TCP via pyvisa-py


def test_idn_and_resource_string(server: ScpiServer, inst) -> None:
    assert server.resource == f"TCPIP::127.0.0.1::{server.port}::SOCKET"
    assert inst.query("*IDN?") == "KEITHLEY INSTRUMENTS,MODEL 2281S-20-6,4466001,02.03.0008"
    assert inst.query("*OPC?") == "1"


def test_power_supply_session_over_pyvisa(server, inst, load, output_events) -> None:
    load.amps = 0.42
    inst.write(":VOLT 3.85")
    inst.write(":CURR 2")
    assert inst.query(":MEAS:CURR?") == "0.000000E+00"
    inst.write(":OUTP:STAT ON")
    assert inst.query("SYST:ERR?") == NO_ERROR  # round trip: the output has switched
    assert output_events == [True]
    assert server.state.output is True
    assert float(inst.query(":MEAS:VOLT?")) == pytest.approx(3.85)
    assert inst.query(":MEAS:CURR?") == "4.200000E-01"
    assert inst.query("meas:curr:dc?") == "4.200000E-01"
    assert inst.query("OUTPut:STATe?") == "1"
    inst.write("outp off")
    assert inst.query("OUTP?") == "0"
    assert output_events == [True, False]


def test_long_short_and_case_variants_over_pyvisa(inst, server) -> None:
    for command in (":SOURce:VOLTage:LEVel:IMMediate:AMPLitude 2.5", "sour:volt 2.5", "Voltage 2500mV"):
        inst.write(":VOLT 0")
        inst.write(command)
        assert float(inst.query("VOLT?")) == pytest.approx(2.5), command
    assert inst.query("syst:err?") == NO_ERROR


def test_chained_commands_and_replies_over_pyvisa(inst, server, load) -> None:
    load.amps = 1.25
    assert inst.query("VOLT 4.2;CURR 1.5;OUTP ON;*OPC?") == "1"
    assert inst.query(":MEAS:VOLT?;CURR?") == "4.200000E+00;1.250000E+00"
    assert server.state.current_limit == 1.5


def test_unknown_command_and_out_of_range_over_pyvisa(inst, server) -> None:
    inst.write("FROB:NICATE 3")  # no reply, only a queue entry
    inst.write(":VOLT 25")
    assert inst.query("SYST:ERR:COUN?") == "2"
    assert inst.query("SYST:ERR?") == '-113,"Undefined header"'
    assert inst.query(":SYSTem:ERRor:NEXT?") == '-222,"Data out of range"'
    assert inst.query("SYST:ERR?") == NO_ERROR
    assert server.state.voltage_set == 0.0


def test_query_reply_waits_for_earlier_commands_and_callbacks(server, load) -> None:
    events: list[str] = []

    def slow_switch(on: bool) -> None:
        time.sleep(0.05)  # a camera taking its time to notice power
        events.append(f"output {on}")

    server.instrument.on_output = slow_switch
    with raw_client(server) as sock:
        # pipelined without waiting: every command must take effect before the reply
        sock.sendall(b"".join(b"VOLT %d\n" % v for v in range(1, 11)) + b"OUTP ON\nVOLT?\n")
        assert recv_line(sock) == b"1.000000E+01\n"
        assert events == ["output True"]


def test_garbage_overlong_lines_and_disconnects_do_not_kill_the_server(server, rm) -> None:
    with raw_client(server) as sock:
        sock.sendall(b"\xff\xfe\x00\x01garbage\r\n")
        sock.sendall(b"A" * 10_000)  # over-long, no newline yet
        sock.sendall(b"B" * 10_000 + b"\n")
        sock.sendall(b"*IDN?\r\n")  # CRLF accepted; the line after the overrun is served
        assert recv_line(sock).startswith(b"KEITHLEY INSTRUMENTS")
        sock.sendall(b"SYST:ERR?\nSYST:ERR?\nSYST:ERR?\n")
        replies = [recv_line(sock) for _ in range(3)]
    assert replies == [b'-101,"Invalid character"\n', b'-363,"Input buffer overrun"\n', b'0,"No error"\n']

    # half a line, then a hard reset (RST instead of FIN)
    sock = raw_client(server)
    sock.sendall(b":VOLT 3.")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    # a client that leaves with a reply in flight
    sock = raw_client(server)
    sock.sendall(b"*IDN?\n" * 50)
    sock.close()

    handle = open_inst(rm, server)
    try:
        assert handle.query("*IDN?").startswith("KEITHLEY")
        assert handle.query("SYST:ERR?") == NO_ERROR
    finally:
        handle.close()
    assert server.state.voltage_set == 0.0  # the half line never executed


def test_mute_executes_but_never_replies(server, output_events) -> None:
    server.mute = True
    with raw_client(server, timeout=0.2) as sock:
        sock.sendall(b"OUTP ON\n*IDN?\n")
        with pytest.raises(socket.timeout):
            sock.recv(100)
        assert output_events == [True]
        server.mute = False
        sock.sendall(b"*OPC?\n")
        assert recv_line(sock) == b"1\n"


def test_garble_replies_with_garbage(server) -> None:
    server.garble = True
    with raw_client(server) as sock:
        sock.sendall(b"*IDN?\n")
        assert recv_line(sock) == GARBAGE_REPLY


def test_error_on_next_over_the_wire(server, inst) -> None:
    server.error_on_next = -222
    inst.write(":VOLT 5")
    assert inst.query("SYST:ERR?") == '-222,"Data out of range"'
    assert server.state.voltage_set == 0.0
    assert server.error_on_next is None


def test_two_clients_share_one_instrument(server, rm) -> None:
    a, b = open_inst(rm, server), open_inst(rm, server)
    try:
        assert a.query("VOLT 7;*OPC?") == "1"  # barrier on a's connection
        assert b.query("VOLT?") == "7.000000E+00"
        b.write("NOPE")
        assert b.query("*OPC?") == "1"  # barrier on b's connection
        assert a.query("SYST:ERR?") == '-113,"Undefined header"'  # one queue per instrument
    finally:
        a.close()
        b.close()


def test_close_with_clients_connected_is_prompt_and_idempotent(load) -> None:
    srv = ScpiServer().start()
    port = srv.port
    sock = raw_client(srv)
    sock.sendall(b"*IDN?\n")
    recv_line(sock)
    t0 = time.monotonic()
    srv.close()
    srv.close()
    assert time.monotonic() - t0 < 1.5
    assert sock.recv(10) == b""  # the server hung up
    sock.close()
    with pytest.raises(RuntimeError):
        _ = srv.port
    assert not [t for t in threading.enumerate() if t.name.startswith(f"scpi-accept-{port}")]
