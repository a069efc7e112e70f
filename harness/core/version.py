"""Which harness made a record or a report: the package version and, from a git checkout, the commit.

The version alone (``0.1.0``) does not tell an auditor which code ran; the commit does. It is read
once per process from the checkout the package is imported from (``git describe``), ``-dirty`` when
that checkout has changes, and left out where the package is not a git checkout.
"""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path


@cache
def harness_version() -> str:
    """``0.1.0+g1a2b3c4`` (``.dirty`` with uncommitted changes), or the package version alone."""
    try:
        version = metadata.version("bwc-harness")
    except metadata.PackageNotFoundError:
        version = "unknown"
    commit = _commit(Path(__file__).resolve().parents[2])
    return f"{version}+g{commit}" if commit else version


def _commit(checkout: Path) -> str | None:
    if not (checkout / ".git").exists() or not (checkout / "pyproject.toml").is_file():
        return None  # installed as a package: not the harness's own checkout (maybe inside another's)
    try:
        out = subprocess.run(
            ["git", "-C", str(checkout), "describe", "--always", "--abbrev=12", "--dirty=.dirty", "--exclude=*"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None
