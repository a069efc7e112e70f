"""The VISA driver: a SCPI supply behind a pyvisa message-based resource, real or emulated.

Every configuration step is error-checked against the instrument's error queue; timeouts and
transport failures become :class:`InstrumentError` with the instrument's own words where it has any.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

import pyvisa
from pyvisa import constants
from pyvisa import errors as visa_errors

from harness.devices.power.commands import KEITHLEY_2281S, BatteryCommands, ScpiCommandSet, resolve_command_set
from harness.devices.power.errors import InstrumentError, NotSupported, PowerLimitError
from harness.devices.power.limits import PowerLimits
from harness.devices.power.protocol import BatterySetup, PowerSupply
from harness.devices.power.replies import ERROR_CODE, QUEUED_ERROR, parse_reading

log = logging.getLogger(__name__)


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
        log.info(
            "%s: could not disable Nagle (%r); each configuration step may take ~40 ms",
            getattr(handle, "resource_name", handle),
            exc,
        )


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
    ) -> ScpiPowerSupply:
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
            raise NotSupported(
                self.name, what, f"the {self.commands.name} command set has no battery simulator; nothing was sent"
            )
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
                raise InstrumentError(
                    exc.instrument, exc.command, exc.detail, message=f"{exc} (while confirming {command!r})"
                ) from exc
        if errors:
            raise InstrumentError(self.name, command, "; ".join(errors))

    def _drain_errors(self, command: str) -> list[str]:
        """Read the error queue until it reports 0; return the entries (bounded)."""
        query = self.commands.error_query
        errors: list[str] = []
        with self._lock:
            for _ in range(self.max_error_reads):
                reply = self._query(query)
                m = ERROR_CODE.match(reply)
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
            message=(
                f"{self.name} did not answer {command!r} within {timeout:g} ms (timeout)"
                if isinstance(timeout, (int, float))
                else f"{self.name} did not answer {command!r} (timeout)"
            )
            + hint,
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
        return f"; error queue: {reply}" if QUEUED_ERROR.match(reply) else ""
