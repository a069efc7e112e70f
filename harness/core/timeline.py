"""What the harness did during a scenario, on the harness clock: the 'done' timeline.

Checks compare a clip's timeline against this one. Gesture instants come from the rig
controller's own timestamps, never from when the harness asked for them.

Each kind of action carries a typed detail (:class:`GestureDone`, :class:`FlashFired`, and for
power :class:`PowerOn`, :class:`BatterySelected`, :class:`Shutdown`, :class:`PowerCut`,
:class:`CurrentReading`, :class:`BufferingStarted`; for operator prompts :class:`OperatorAnswered`), written by the steps and read by the checks, so both sides agree on the
fields by type rather than by string keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


class _Detail:
    """Typed action detail; the run record spells its fields as they are named here."""

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set (a field left None is not written to the record)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) is not None
        }


@dataclass(frozen=True)
class GestureDone(_Detail):
    """The solenoid edges of a gesture, as the rig controller stamped them: (button, "down"|"up", t)."""

    edges: tuple[tuple[str, str, float], ...]


@dataclass(frozen=True)
class FlashFired(_Detail):
    """An A/V stimulus the bench's controller fired: scene event time, planned and measured instants."""

    event_s: float
    off_t: float
    planned_t: float


@dataclass(frozen=True)
class PowerOn(_Detail):
    """Output switched on: from the plain supply (``voltage``) or the battery simulator."""

    voltage: float | None = None
    battery: str | None = None  # battery model, when powered from the battery simulator
    soc: float | None = None  # state of charge at power-on, percent


@dataclass(frozen=True)
class BatterySelected(_Detail):
    """The battery simulator set up for the camera."""

    model: str
    soc: float
    capacity_ah: float | None  # None: the simulator's stored model decides
    current_limit: float | None
    method: str


@dataclass(frozen=True)
class Shutdown(_Detail):
    """The camera switched itself off, as the power monitor saw it (current fell below threshold)."""

    last_running_t: float
    first_off_t: float
    amps_before: float
    amps_after: float
    threshold_a: float
    interval_s: float


@dataclass(frozen=True)
class PowerCut(_Detail):
    """A hard cut of the output, with the SHA-256 of every file saved before it, by evidence name."""

    files: dict[str, str] = field(default_factory=dict)
    #: why the files could not be hashed at the cut (the camera's storage is out of reach while the
    #: steps run: a docking camera, one connected only to hand over its clips); None: they were
    unreachable: str | None = None


@dataclass(frozen=True)
class CurrentReading(_Detail):
    """Mean draw over a measuring window in one camera state."""

    state: str
    amps: float
    min_a: float
    max_a: float
    volts: float
    samples: int
    t0: float


@dataclass(frozen=True)
class BufferingStarted(_Detail):
    """Where the camera began buffering after a power-on, read from the supply current: the step
    from its booting draw to its buffering draw, placed midway between the last reading at the
    booting draw and the first at the buffering draw (so within half ``interval_s``).

    ``boot_s`` is the measured power-on (supply, or power button gesture) to buffering; None when
    the step was not seen. ``not_measurable`` says why this camera and rig give no way to see it
    (draws too close to tell apart, a supply that cannot read current); the action's time is
    then power-on plus the profile's boot time.
    """

    power_on_t: float
    boot_s: float | None
    interval_s: float
    threshold_a: float | None = None
    last_booting_t: float | None = None
    first_buffering_t: float | None = None
    readings: int = 0
    not_measurable: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class DockSwitched(_Detail):
    """The camera put in or taken out of its dock: how (uhubctl, relay, prompt), what was done (the
    command line, relay command or operator's answer), how well the instant is known, and why when
    the run did it itself (``handover``: docked for the clips, or out of the dock for a scenario)."""

    method: str
    command: str
    uncertainty_s: float
    handover: str | None = None


@dataclass(frozen=True)
class OperatorAnswered(_Detail):
    """An instruction shown to the operator and what came back: who answered (a person's name,
    or ``auto`` for the emulated rig), how (``terminal``, ``auto``), the outcome (``confirmed``,
    ``value``, ``declined``, ``timeout``, ``aborted``), the value given and the values refused on
    the way; ``asked_t`` on the harness clock, ``answered_utc`` on the wall clock."""

    text: str
    expect: str
    outcome: str
    by: str
    via: str
    asked_t: float
    waited_s: float
    answered_utc: str
    key: str | None = None
    value: str | None = None
    rejected: tuple[str, ...] | None = None
    note: str | None = None


Detail = (
    GestureDone
    | FlashFired
    | PowerOn
    | BatterySelected
    | Shutdown
    | PowerCut
    | CurrentReading
    | BufferingStarted
    | DockSwitched
    | OperatorAnswered
)


@dataclass(frozen=True)
class Action:
    t: float
    kind: str  # "power" | "gesture" | "stimulus" | "operator" | "dock"
    name: str  # "on"/"off"/"battery"/"shutdown"/"cut"/"current"/"buffering" for power, gesture name for
    # gestures, "dock"/"undock" for the dock
    detail: Detail | None = None

    def details(self) -> dict[str, Any]:
        """The detail as record fields."""
        return self.detail.as_dict() if self.detail is not None else {}


@dataclass
class Timeline:
    actions: list[Action] = field(default_factory=list)

    def add(self, action: Action) -> None:
        self.actions.append(action)

    def gestures(self, name: str) -> list[Action]:
        return [a for a in self.actions if a.kind == "gesture" and a.name == name]

    def power(self, name: str) -> list[Action]:
        """The power actions called ``name``, in the order they happened."""
        return [a for a in self.actions if a.kind == "power" and a.name == name]

    def last_before(self, t: float, kind: str, name: str) -> Action | None:
        found = [a for a in self.actions if a.kind == kind and a.name == name and a.t <= t]
        return found[-1] if found else None

    def camera_on(self, t: float) -> Action | None:
        """The last power-on of the camera before ``t``: the supply's ``on``, or, for a camera with
        a power button, the ``power_on`` gesture made after it (the camera is on only from then)."""
        on = self.last_before(t, "power", "on")
        if on is None:
            return None
        pressed = self.between(on.t, t, "gesture", "power_on")
        return pressed[-1] if pressed else on

    def buffering_started(self, t: float) -> Action | None:
        """The buffering start measured after the last power-on before ``t`` (None: none recorded)."""
        on = self.camera_on(t)
        if on is None:
            return None
        found = [
            a
            for a in self.power("buffering")
            if isinstance(a.detail, BufferingStarted) and on.t - 1e-9 <= a.detail.power_on_t <= t
        ]
        return found[-1] if found else None

    def between(self, t0: float, t1: float, kind: str, name: str) -> list[Action]:
        return [a for a in self.actions if a.kind == kind and a.name == name and t0 <= a.t <= t1]

    def record(self) -> list[dict]:
        return [{"t": a.t, "kind": a.kind, "name": a.name, **a.details()} for a in self.actions]
