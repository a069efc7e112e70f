"""The requirement catalogue (scenarios/requirements.yaml): what a camera must do, and why."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from harness.config import load_model
from harness.profile import Strict


class Requirement(Strict):
    id: str = Field(pattern=r"^BWC-[A-Z]+-\d{2}$")
    group: str
    statement: str
    criterion: str
    source: str


class CatalogueFile(Strict):
    requirements: list[Requirement] = Field(min_length=1)


class Catalogue:
    def __init__(self, path: Path, requirements: list[Requirement]) -> None:
        self.path = path
        self.by_id = {r.id: r for r in requirements}

    @property
    def ids(self) -> set[str]:
        return set(self.by_id)

    @classmethod
    def load(cls, path: Path | str) -> "Catalogue":
        path = Path(path)
        return cls(path, load_model(path, CatalogueFile).requirements)
