"""The requirement catalogue (scenarios/requirements.yaml): what a camera must do, and why.

Scenarios name the ids they prove, measurements carry the id they serve, and the certification
report is organised by them, so the catalogue is the spine of traceability. ``coverage`` answers
the question a programme office asks first: which requirement is proven by which scenario, and
which are not proven at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from harness.core.config import load_model
from harness.plan.profile import Strict


class Requirement(Strict):
    id: str = Field(pattern=r"^BWC-[A-Z]+-\d{2}$")
    group: str
    statement: str
    criterion: str
    source: str
    level: Literal["must", "target"] = Field(
        "must", description="'target': missing it is reported, but does not fail the certification"
    )


class CatalogueFile(Strict):
    requirements: list[Requirement] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "CatalogueFile":
        ids = [r.id for r in self.requirements]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"requirement id(s) listed twice: {twice}")
        return self


class Catalogue:
    def __init__(self, path: Path, requirements: list[Requirement]) -> None:
        self.path = path
        self.by_id = {r.id: r for r in requirements}

    @property
    def ids(self) -> set[str]:
        return set(self.by_id)

    @property
    def requirements(self) -> list[Requirement]:
        """In catalogue order, which groups related requirements together."""
        return list(self.by_id.values())

    def groups(self) -> dict[str, list[Requirement]]:
        out: dict[str, list[Requirement]] = {}
        for r in self.by_id.values():
            out.setdefault(r.group, []).append(r)
        return out

    def sha256(self) -> str:
        """Hash of the catalogue file, so a report says exactly which wording it was judged against."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @classmethod
    def load(cls, path: Path | str) -> "Catalogue":
        path = Path(path)
        return cls(path, load_model(path, CatalogueFile).requirements)


@dataclass
class Coverage:
    """Which scenarios prove each requirement; unknown ids and unreadable files are problems."""

    catalogue: Catalogue
    by_requirement: dict[str, list[str]] = field(default_factory=dict)
    unknown: dict[str, list[str]] = field(default_factory=dict)  # scenario file -> ids not in the catalogue
    errors: dict[str, str] = field(default_factory=dict)  # scenario file -> why it could not be read

    @property
    def uncovered(self) -> list[str]:
        return [r.id for r in self.catalogue.requirements if not self.by_requirement.get(r.id)]

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.errors


def coverage(catalogue: Catalogue, scenarios: dict[str, list[str]], errors: dict[str, str] | None = None) -> Coverage:
    """Build the coverage from ``{scenario name: [requirement ids]}`` (files are read by the caller)."""
    cov = Coverage(catalogue, {r.id: [] for r in catalogue.requirements}, errors=dict(errors or {}))
    for name, ids in scenarios.items():
        for req in ids:
            if req in catalogue.by_id:
                cov.by_requirement[req].append(name)
            else:
                cov.unknown.setdefault(name, []).append(req)
    return cov
