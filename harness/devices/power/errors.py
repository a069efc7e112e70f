"""Errors of the power-supply driver: a refused request, an instrument failure, a missing function."""

from __future__ import annotations


class PowerLimitError(ValueError):
    """A request beyond the rig's limits for this battery; nothing was sent."""


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
