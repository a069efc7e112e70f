"""Named defects of the emulated camera. Each one must be caught by its own check.

A fault changes the camera's :class:`Behaviour` and nothing else, so faults compose and a
healthy camera is simply ``Behaviour.from_profile(profile)`` with no fault applied.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from harness.profile import CameraProfile


@dataclass(frozen=True)
class Behaviour:
    """What the emulated camera actually does (the profile says what it should do)."""

    buffer_s: float
    buffer_after_stop: str
    post_record_s: float
    boot_s: float
    drop_after_activation: int = 0
    stop_delay_s: float = 0.0

    @classmethod
    def from_profile(cls, profile: CameraProfile) -> "Behaviour":
        return cls(
            buffer_s=profile.pre_event_buffer_s,
            buffer_after_stop=profile.buffer_after_stop,
            post_record_s=profile.post_record_s,
            boot_s=profile.boot_s,
        )


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: str
    caught_by: str
    apply: Callable[[Behaviour], Behaviour]


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault(
            "short-buffer",
            "keeps 115 s of pre-event buffer instead of the configured length (vendor-documented "
            "behaviour when the buffer fills early)",
            "preroll",
            lambda b: replace(b, buffer_s=b.buffer_s - 5.0),
        ),
        Fault(
            "drop-at-join",
            "loses the 10 frames where the buffer joins the live recording",
            "continuity",
            lambda b: replace(b, drop_after_activation=10),
        ),
        Fault(
            "no-refill",
            "keeps the old buffer after a stop, so the next clip repeats footage already saved",
            "preroll",
            lambda b: replace(b, buffer_after_stop="continuous" if b.buffer_after_stop == "refill" else "refill"),
        ),
        Fault(
            "late-stop",
            "ends the recording 2.5 s after the stop gesture",
            "stop",
            lambda b: replace(b, stop_delay_s=2.5),
        ),
    )
}


class UnknownFault(KeyError):
    def __str__(self) -> str:
        return f"unknown fault {self.args[0]!r}; known faults: {', '.join(sorted(FAULTS))}"


def apply_faults(behaviour: Behaviour, names: list[str] | tuple[str, ...]) -> Behaviour:
    for name in names:
        if name not in FAULTS:
            raise UnknownFault(name)
        behaviour = FAULTS[name].apply(behaviour)
    return behaviour
