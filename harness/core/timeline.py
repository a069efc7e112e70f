"""What the harness did during a scenario, on the harness clock: the 'done' timeline.

Checks compare a clip's timeline against this one. Gesture instants come from the rig
controller's own timestamps, never from when the harness asked for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Action:
    t: float
    kind: str  # "power" | "gesture"
    name: str  # "on"/"off" for power, gesture name for gestures
    detail: dict = field(default_factory=dict)


@dataclass
class Timeline:
    actions: list[Action] = field(default_factory=list)

    def add(self, action: Action) -> None:
        self.actions.append(action)

    def gestures(self, name: str) -> list[Action]:
        return [a for a in self.actions if a.kind == "gesture" and a.name == name]

    def last_before(self, t: float, kind: str, name: str) -> Action | None:
        found = [a for a in self.actions if a.kind == kind and a.name == name and a.t <= t]
        return found[-1] if found else None

    def between(self, t0: float, t1: float, kind: str, name: str) -> list[Action]:
        return [a for a in self.actions if a.kind == kind and a.name == name and t0 <= a.t <= t1]

    def record(self) -> list[dict]:
        return [{"t": a.t, "kind": a.kind, "name": a.name, **a.detail} for a in self.actions]
