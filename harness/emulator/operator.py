"""The emulated rig's automatic operator (``bwc certify --operator auto``): answers what a person
would see at an emulated bench, so CI runs scenarios written for real cameras.

A confirm prompt is confirmed unless a hook for its ``key`` knows better (``camera_ready``: like a
person waiting for READY on the real one, it waits up to the prompt's timeout for the emulated
camera to buffer). A value prompt
is answered by the hook registered for its ``key``; with no hook, or a hook that does not know,
the answer is ``declined`` with the reason, never a made-up value. Every answer says ``auto``.

Hooks: :func:`register_auto_answer` (for every automatic operator, e.g. a clip source's module
registering ``export_folder``) or :meth:`AutoOperator.answer_with` (one rig's operator). A hook
takes the emulated bench and the prompt and returns the text a person would type (for a confirm
prompt: ``y`` or ``n``), or None when it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.core.clock import wall_utc
from harness.devices.operator import NO, YES, Answer, Prompt
from harness.emulator.camera_parts import CameraState

#: (emulated bench, prompt) -> what a person would type, or None (not known)
AutoAnswer = Callable[[Any, Prompt], "str | None"]

_HOOKS: dict[str, AutoAnswer] = {}


def register_auto_answer(key: str, hook: AutoAnswer) -> None:
    """Let every automatic operator answer prompts with ``key`` through ``hook`` (a later
    registration for the same key replaces the earlier one)."""
    _HOOKS[key] = hook


#: how often the automatic operator looks at the emulated camera while waiting for READY (s)
LOOK_S = 0.1


def _camera_ready(bench: Any, prompt: Prompt) -> str:
    """Yes once the emulated camera buffers or records: like a person, wait for READY up to the
    prompt's timeout (on the bench's clock), and say no if it never comes."""
    clock = bench.clock
    until = clock.now() + prompt.timeout_s
    while bench.camera.state not in (CameraState.BUFFERING, CameraState.RECORDING):
        if clock.now() >= until:
            return "n"
        clock.sleep(LOOK_S)
    return "y"


register_auto_answer("camera_ready", _camera_ready)
register_auto_answer("camera_serial", lambda bench, prompt: str(bench.camera.serial))
register_auto_answer("clip_folder", lambda bench, prompt: str(bench.clip_folder))
register_auto_answer("run_id", lambda bench, prompt: str(bench.run_id))
# bwc calibrate av: the emulated bench's speaker distance, read off as a tape would, at room temperature
register_auto_answer("speaker_distance_m", lambda bench, prompt: f"{bench.profile.emulation.speaker_distance_m:g}")
register_auto_answer("air_temperature_c", lambda bench, prompt: "20")


class AutoOperator:
    """Answers prompts from the emulated bench ``bench`` (an ``EmulatedRig``; None: confirms only)."""

    via = "auto"

    def __init__(self, bench: Any | None) -> None:
        self.bench = bench
        self._hooks: dict[str, AutoAnswer] = {}
        self.asked: list[Prompt] = []  # every prompt this operator saw, for tests

    @property
    def name(self) -> str:
        return "auto"

    def answer_with(self, key: str, hook: AutoAnswer) -> None:
        """Answer prompts with ``key`` through ``hook`` on this operator only (before the global hooks)."""
        self._hooks[key] = hook

    def ask(self, prompt: Prompt) -> Answer:
        self.asked.append(prompt)
        hook = self._hooks.get(prompt.key or "") or _HOOKS.get(prompt.key or "")
        typed: str | None = None
        if hook is not None and self.bench is not None:
            typed = hook(self.bench, prompt)
        if prompt.expect == "confirm":
            word = (typed or "y").strip().lower()
            if word in NO:
                return self._answer("declined", word, f"the emulated rig answers no for {prompt.key}")
            return self._answer("confirmed" if word in YES else "declined", word if typed else None)
        if typed is None:
            why = (
                f"the emulated rig has no answer for {prompt.key!r}"
                if prompt.key
                else "a value prompt without a key cannot be answered automatically"
            )
            return self._answer("declined", None, why)
        refusal = prompt.refusal(typed)
        if refusal is not None:
            return self._answer("declined", None, f"the emulated rig's answer {typed!r} is refused: {refusal}")
        return self._answer("value", typed.strip())

    def _answer(self, outcome: Any, value: str | None, note: str | None = None) -> Answer:
        return Answer(outcome, self.name, self.via, value, answered_utc=wall_utc().isoformat(), note=note)
