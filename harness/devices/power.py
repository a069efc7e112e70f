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
"""

from __future__ import annotations

import logging
import math
import re
import socket
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import pyvisa
from pyvisa import constants
from pyvisa import errors as visa_errors

log = logging.getLogger(__name__)


class PowerLimitError(ValueError):
    """A request beyond the rig's limits for this battery; nothing was sent."""


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


class InstrumentError(RuntimeError):
    """The instrument refused, failed or did not answer a command.

    ``detail`` is the instrument's own error text (e.g. '-222,"Data out of range"') or a
    description of the transport failure.
    """

    def __init__(self, instrument: str, command: str, detail: str, message: str | None = None) -> None:
        self.instrument = instrument
        self.command = command
        self.detail = detail
        super().__init__(message or f"{instrument}: {command!r} failed: {detail}")


class NotSupported(InstrumentError):
    """The instrument family has no such function (e.g. no battery simulator); nothing was sent."""


@dataclass(frozen=True)
class PowerLimits:
    """Rig limits for the battery this supply replaces (e.g. 4.35 V, 3 A for a 1S Li-ion)."""

    max_voltage: float
    max_current: float

    def __post_init__(self) -> None:
        for field_name in ("max_voltage", "max_current"):
            value = getattr(self, field_name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"PowerLimits.{field_name} must be a positive number, got {value!r}")


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
                f"refusing {what} {value:g} {unit} on {self.name}: "
                f"rig limit for this battery is {limit:g} {unit}"
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

    def select_supply(self) -> None:
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


# --------------------------------------------------------------------------- command sets


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

COMMAND_SETS: dict[str, ScpiCommandSet] = {
    cs.name: cs for cs in (KEITHLEY_2281S, KEYSIGHT_E36300, RIGOL_DP800)
}


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


# --------------------------------------------------------------------------- reply parsing

_READING = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)$")
_SCALE = {"": 1.0, "M": 1e-3, "U": 1e-6, "K": 1e3}
_ERROR_CODE = re.compile(r"^\s*([+-]?\d+)")
_QUEUED_ERROR = re.compile(r'^[+-]?[1-9]\d*,"')  # a non-zero error-queue entry, e.g. -113,"Undefined header"
#: SCPI's "overflow" (9.9E37) and "not a number" (9.91E37) readings.
_SCPI_SPECIAL = 9.9e37


def parse_reading(reply: str, unit: str) -> float:
    """A numeric reply such as '3.850000E+00', '+3.85V', '3850 mV' or '0.5 ADC'.

    With FORMat:ELEMents the reading is the first data element, so further comma-separated
    elements (units, timestamps) are ignored - unless one of them is a bare number: then the
    reply is ambiguous (a second reading, or a decimal comma as in '3,85') and refused.
    Raises ValueError with the reason; the driver adds the instrument and command.
    """
    text, *elements = (part.strip() for part in reply.strip().split(","))
    if any((m := _READING.match(e)) and not m.group(2) for e in elements):
        raise ValueError("ambiguous: more than one number")
    m = _READING.match(text)
    if not m:
        raise ValueError("not a number")
    suffix = m.group(2).upper()
    if suffix.endswith("DC"):
        suffix = suffix[:-2]
    scale = 1.0
    if suffix:
        if not suffix.endswith(unit) or suffix[: -len(unit)] not in _SCALE:
            raise ValueError(f"unexpected unit {m.group(2)!r} (expected {unit})")
        scale = _SCALE[suffix[: -len(unit)]]
    value = float(m.group(1))
    if not math.isfinite(value) or abs(value) >= _SCPI_SPECIAL:
        raise ValueError("instrument reported overflow / not-a-number")
    return value * scale


# --------------------------------------------------------------------------- SCPI driver


def _disable_nagle(handle: Any) -> None:
    """Set TCP_NODELAY on a raw-socket session.

    Every configuration step is a write followed by ``SYST:ERR?``. With Nagle on, the
    second write waits for the ACK of the first, which the instrument delays (no reply to
    piggyback on): measured ~45 ms per step on loopback (22 steps/s) instead of ~0.1 ms.
    pyvisa-py 0.8.1 rejects VI_ATTR_TCPIP_NODELAY on SOCKET sessions, hence the fallback
    to its session's socket object. Failure only costs speed, so it is logged, not raised.
    """
    try:
        handle.set_visa_attribute(constants.ResourceAttribute.tcpip_nodelay, constants.VI_TRUE)
        return
    except Exception:
        pass
    try:
        sock = handle.visalib.sessions[handle.session].interface
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except Exception as exc:
        log.info("%s: could not disable Nagle (%r); each configuration step may take ~40 ms",
                 getattr(handle, "resource_name", handle), exc)


class ScpiPowerSupply(PowerSupply):
    """A SCPI supply behind a pyvisa message-based resource (real or emulated).

    Every configuration step is followed by an error-queue drain, which is also a query
    round trip: when a setter returns, the instrument has processed it.
    """

    def __init__(
        self,
        resource: Any,
        limits: PowerLimits,
        command_set: ScpiCommandSet | str = KEITHLEY_2281S,
        *,
        name: str | None = None,
        max_error_reads: int = 20,
        resource_manager: Any = None,
    ) -> None:
        """Wrap an open pyvisa resource; no I/O here (:meth:`setup` does the first).

        ``resource_manager`` is closed with the driver: pass it only if the driver owns it.
        """
        super().__init__(name or str(getattr(resource, "resource_name", resource)), limits)
        self.commands = resolve_command_set(command_set)
        self.max_error_reads = max_error_reads
        self._resource = resource
        self._owned_rm = resource_manager
        self._lock = threading.RLock()  # one command/reply pair at a time across threads
        self._closed = False
        self._battery: BatterySetup | None = None  # set while the simulator function is selected

    @classmethod
    def open(
        cls,
        resource: str,
        limits: PowerLimits,
        command_set: ScpiCommandSet | str = KEITHLEY_2281S,
        backend: str = "@py",
        timeout_ms: int = 2000,
        *,
        name: str | None = None,
        resource_manager: Any = None,
        **resource_kwargs: Any,
    ) -> "ScpiPowerSupply":
        """Open ``resource`` (e.g. 'TCPIP::10.0.0.5::5025::SOCKET'), then run :meth:`setup`.

        Raw sockets have no END signal, so SOCKET resources get "\\n" terminations
        (without them pyvisa-py reads until timeout). Extra keyword arguments go to
        ``open_resource``.
        """
        owned = resource_manager is None
        rm = pyvisa.ResourceManager(backend) if owned else resource_manager
        if resource.upper().endswith("::SOCKET"):
            resource_kwargs.setdefault("read_termination", "\n")
            resource_kwargs.setdefault("write_termination", "\n")
        try:
            handle = rm.open_resource(resource, open_timeout=timeout_ms, **resource_kwargs)
            handle.timeout = timeout_ms
            if resource.upper().endswith("::SOCKET"):
                _disable_nagle(handle)
        except (visa_errors.Error, OSError, ValueError) as exc:
            if owned:
                rm.close()
            raise InstrumentError(name or resource, "open", str(exc)) from exc
        psu = cls(handle, limits, command_set, name=name, resource_manager=rm if owned else None)
        try:
            psu.setup()
        except BaseException:
            psu.close()
            raise
        return psu

    # -- session
    def setup(self) -> None:
        """Log errors left over from earlier sessions (they are not ours), then send the
        command set's setup commands, each error-checked."""
        stale = self._drain_errors("(before setup)")
        if stale:
            log.warning("%s: discarded errors queued before this session: %s", self.name, "; ".join(stale))
        for command in self.commands.setup:
            self._configure(command)
        self._battery = None

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._resource.close()
            except Exception:
                log.warning("%s: closing the VISA resource failed", self.name, exc_info=True)
            if self._owned_rm is not None:
                try:
                    self._owned_rm.close()
                except Exception:
                    log.warning("%s: closing the resource manager failed", self.name, exc_info=True)

    # -- protocol
    def identify(self) -> str:
        return self._query(self.commands.identify)

    def _apply_voltage(self, volts: float) -> None:
        # A set voltage is power-supply mode: a simulator presents its model, not a setpoint.
        self.select_supply()
        self._configure(self.commands.voltage(volts))

    def _apply_current_limit(self, amps: float) -> None:
        self.select_supply()
        self._configure(self.commands.current(amps))

    def output(self, on: bool) -> None:
        # _configure ends with the SYST:ERR? round trip: the switch has happened on return.
        battery = self.commands.battery if self._battery is not None else None
        if battery is not None:
            self._configure(battery.output_on if on else battery.output_off)
        else:
            self._configure(self.commands.output(bool(on)))
        log.info("%s: output %s%s", self.name, "ON" if on else "OFF", " (battery simulator)" if battery else "")

    def measure_voltage(self) -> float:
        return self._measure("voltage", "V")

    def measure_current(self) -> float:
        return self._measure("current", "A")

    # -- battery simulator
    @property
    def battery(self) -> BatterySetup | None:
        return self._battery

    def _battery_commands(self, what: str) -> BatteryCommands:
        if self.commands.battery is None:
            raise NotSupported(self.name, what,
                               f"the {self.commands.name} command set has no battery simulator; nothing was sent")
        return self.commands.battery

    def _apply_battery(self, setup: BatterySetup) -> None:
        bc = self._battery_commands("select battery")
        with self._lock:
            self.output(False)  # never change function with the output on
            self._battery = setup  # from here on, safe_state uses the simulator's output command
            self._configure(bc.enter)
            self._configure(bc.recall.format(model=setup.model))
            if setup.capacity_ah is not None:
                self._configure(bc.capacity.format(ah=setup.capacity_ah))
            if setup.current_limit is not None:
                self._configure(bc.current_limit.format(a=setup.current_limit))
            self._configure(bc.method.format(method="DYN" if setup.dynamic else "STAT"))
            self._configure(bc.soc.format(soc=setup.soc_percent))
            voc = self._reading(bc.voc_query, "V")
        if voc > self.limits.max_voltage:  # the output is still off
            raise PowerLimitError(
                f"refusing battery model {setup.model} on {self.name}: it presents {voc:g} V at "
                f"{setup.soc_percent:g} %, above the rig limit {self.limits.max_voltage:g} V"
            )
        log.info("%s: simulating battery %s at %g %%", self.name, setup.model, setup.soc_percent)

    def select_supply(self) -> None:
        if self._battery is None:
            return
        bc = self._battery_commands("select supply")
        with self._lock:
            self.output(False)
            self._configure(bc.leave)
            self._battery = None

    def state_of_charge(self) -> float | None:
        if self._battery is None:
            return None
        return self._reading(self._battery_commands("state of charge").soc_query, "PCT")

    def safe_state(self) -> None:
        """Output off with the active mode's command; if that fails, the other mode's too (the
        instrument may have changed function under us). Never raises."""
        try:
            self.output(False)
            return
        except Exception:
            log.exception("%s: could not switch the output off - check the rig by hand", self.name)
        bc = self.commands.battery
        if bc is None:
            return
        other = self.commands.output(False) if self._battery is not None else bc.output_off
        try:
            self._configure(other)
        except Exception:
            log.warning("%s: fallback %r failed too", self.name, other, exc_info=True)

    # -- plumbing
    def _reading(self, command: str, unit: str) -> float:
        reply = self._query(command)
        try:
            return parse_reading(reply, unit)
        except ValueError as exc:
            raise InstrumentError(self.name, command, f"{exc}: raw reply {reply!r}") from None

    def _measure(self, quantity: str, unit: str) -> float:
        if self._battery is not None:
            bc = self._battery_commands("measure")
            return self._reading(bc.measure_voltage if quantity == "voltage" else bc.measure_current, unit)
        command = self.commands.measure(quantity)
        reply = self._query(command)
        try:
            return parse_reading(reply, unit)
        except ValueError as exc:
            raise InstrumentError(self.name, command, f"{exc}: raw reply {reply!r}") from None

    def _configure(self, command: str) -> None:
        with self._lock:
            self._write(command)
            try:
                errors = self._drain_errors(command)
            except InstrumentError as exc:  # say which step the failed error query was confirming
                if exc.command == command:
                    raise
                raise InstrumentError(exc.instrument, exc.command, exc.detail,
                                      message=f"{exc} (while confirming {command!r})") from exc
        if errors:
            raise InstrumentError(self.name, command, "; ".join(errors))

    def _drain_errors(self, command: str) -> list[str]:
        """Read the error queue until it reports 0; return the entries (bounded)."""
        query = self.commands.error_query
        errors: list[str] = []
        with self._lock:
            for _ in range(self.max_error_reads):
                reply = self._query(query)
                m = _ERROR_CODE.match(reply)
                if not m:
                    raise InstrumentError(self.name, query, f"unreadable error-queue reply {reply!r}")
                if int(m.group(1)) == 0:
                    return errors
                errors.append(reply)
        raise InstrumentError(
            self.name,
            command,
            f"error queue still not empty after {self.max_error_reads} reads: {'; '.join(errors)}",
        )

    def _write(self, command: str) -> None:
        with self._lock:
            self._ensure_open(command)
            log.debug("%s <- %s", self.name, command)
            try:
                self._resource.write(command)
            except visa_errors.VisaIOError as exc:
                raise self._io_error(command, exc) from exc
            except (visa_errors.Error, OSError) as exc:
                raise InstrumentError(self.name, command, f"write failed: {exc}") from exc

    def _query(self, command: str) -> str:
        with self._lock:
            self._ensure_open(command)
            try:
                reply = self._resource.query(command)
            except visa_errors.VisaIOError as exc:
                raise self._io_error(command, exc) from exc
            except UnicodeDecodeError as exc:
                raise InstrumentError(
                    self.name, command, f"reply is not ASCII text: raw reply {exc.object!r}"
                ) from None
            except (visa_errors.Error, OSError) as exc:
                raise InstrumentError(self.name, command, f"I/O failed: {exc}") from exc
        log.debug("%s -> %s", self.name, reply.strip())
        return reply.strip()

    def _ensure_open(self, command: str) -> None:
        if self._closed:
            raise InstrumentError(self.name, command, "driver is closed")

    def _io_error(self, command: str, exc: visa_errors.VisaIOError) -> InstrumentError:
        if exc.error_code != constants.StatusCode.error_timeout:
            return InstrumentError(self.name, command, f"VISA I/O error: {exc}")
        timeout = getattr(self._resource, "timeout", None)
        self._clear()
        hint = self._queued_error(command)
        return InstrumentError(
            self.name,
            command,
            "timeout" + hint,
            message=(f"{self.name} did not answer {command!r} within {timeout:g} ms (timeout)"
                     if isinstance(timeout, (int, float))
                     else f"{self.name} did not answer {command!r} (timeout)") + hint,
        )

    def _clear(self) -> None:
        # A late answer would otherwise be read as the reply to the next query.
        try:
            self._resource.clear()
        except Exception:
            log.debug("%s: clear after timeout failed", self.name, exc_info=True)

    def _queued_error(self, command: str) -> str:
        """After a timeout, ask the error queue why: instruments reject a query they do not know
        (an unsupported command) with no reply at all, only an entry such as -113. Best effort."""
        if command == self.commands.error_query:
            return ""
        try:
            reply = str(self._resource.query(self.commands.error_query)).strip()
        except Exception:
            self._clear()
            return ""
        return f"; error queue: {reply}" if _QUEUED_ERROR.match(reply) else ""
