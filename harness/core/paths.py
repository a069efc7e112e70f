"""Where the built-in suite lives: scenarios, requirement catalogue, camera profiles, rigs.

The suite is installed beside the ``harness`` package (in a checkout and in site-packages alike);
it is located from there rather than imported, so a user's own ``scenarios/`` folder never
shadows it.
"""

from __future__ import annotations

from pathlib import Path

SUITE_DIR = Path(__file__).resolve().parents[2] / "scenarios"
CATALOGUE = SUITE_DIR / "requirements.yaml"
CAMERAS_DIR = SUITE_DIR / "cameras"
RIGS_DIR = SUITE_DIR / "rigs"


def camera_profile_path(name_or_path: str, relative_to: Path | None = None) -> Path:
    """A profile given as a path (absolute, or relative to the rig file) or as a built-in name."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml"):
        if not candidate.is_absolute() and relative_to is not None:
            candidate = relative_to / candidate
        return candidate
    return CAMERAS_DIR / f"{name_or_path}.yaml"
