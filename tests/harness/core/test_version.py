"""The harness version in records and reports names the commit that ran, where there is one."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

from harness.core.version import _commit, harness_version

REPO = Path(__file__).resolve().parents[3]


def test_the_version_names_the_commit_of_this_checkout() -> None:
    version = harness_version()
    assert version.startswith(metadata.version("bwc-harness"))
    git = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    if (REPO / ".git").exists() and git.returncode == 0:
        assert "+g" in version, version
        assert version.split("+g", 1)[1].removesuffix(".dirty") == git.stdout.strip()


def test_no_commit_outside_the_harness_checkout(tmp_path: Path) -> None:
    """A folder that is not the harness's own checkout (an installed package) gives no commit, even
    inside another repository."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "site-packages").mkdir()
    assert _commit(tmp_path / "site-packages") is None
    assert _commit(tmp_path) is None  # a repository, but not one with the harness's pyproject.toml
