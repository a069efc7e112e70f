"""What every verb shares: the console, the argparse number type, number formatting for tables."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

from rich.console import Console

console = Console(width=None if sys.stdout.isatty() else 160)


def number(
    low: float | None = None, high: float | None = None, *, above: bool = False, integer: bool = False
) -> Callable[[str], float]:
    """An argparse ``type`` for a finite number within ``[low, high]`` (``above``: strictly above
    ``low``): a bad figure is one argparse error line and exit code 2, never a division by zero,
    a NaN in the record or a traceback further on."""
    kind = "a whole number" if integer else "a finite number"
    bounds = [f"> {low:g}" if above else f">= {low:g}"] if low is not None else []
    bounds += [f"<= {high:g}"] if high is not None else []
    wanted = kind + (f" {' and '.join(bounds)}" if bounds else "")

    def parse(text: str) -> float:
        try:
            value: float = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if (
            not math.isfinite(value)
            or (low is not None and (value <= low if above else value < low))
            or (high is not None and value > high)
        ):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    parse.__name__ = kind  # what argparse names when it reports the type
    return parse


FINITE = number()
POSITIVE = number(0, above=True)
REFRESH = number(0, 1000, above=True)  # Hz: a display refreshes at most this fast


def num(x: object) -> str:
    """A value for a table cell: "-" for none, a float without trailing zeros."""
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4f}".rstrip("0").rstrip(".")
    return str(x)
