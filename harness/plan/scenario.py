"""Scenario files: a certification test written as a test plan (steps and expectations)."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from harness.core.config import ConfigError, load_model, read_yaml
from harness.plan.profile import CameraProfile, Strict
from harness.plan.requirements import Catalogue

#: what the display shows during a scenario: the standard scene, or the busy one (harness/scene/busy.py)
SceneVariant = Literal["standard", "busy"]
SCENE_VARIANTS: tuple[SceneVariant, ...] = ("standard", "busy")

#: the checks a scenario file may name in ``expect.checks``: the vocabulary of scenario files,
#: which harness.checks implements one to one (its registry is tested against this list)
CHECK_NAMES = (
    "clip_count",
    "preroll",
    "activation",
    "continuity",
    "segments",
    "stop",
    "clock",
    "av_sync",
    "audio_policy",
    "shift_runtime",
    "warning_lead",
    "cutoff",
    "power_cut",
    "current_profile",
    "evidence",
    "docked_buffer",
)


#: profile figures (seconds) a wait may add to its own: what a scenario scales with
ProfileFigure = Literal["segment_s", "max_recording_s", "pre_event_buffer_s", "post_record_s", "boot_s"]


def profile_figure(profile: CameraProfile, name: ProfileFigure) -> float | None:
    """A camera profile's figure by name (None: the camera has no such thing, e.g. no file split)."""
    value = getattr(profile, name)
    return None if value is None else float(value)


class Wait(Strict):
    seconds: float = Field(ge=0, le=48 * 3600)
    since: Literal["previous", "power_on", "buffering"] = Field(
        "previous", description="count from the end of the previous step, from power-on, or from when buffering began"
    )
    until: Literal["shutdown"] | None = Field(
        None, description="'shutdown': end as soon as the camera has switched itself off (seconds = the most to wait)"
    )
    plus: ProfileFigure | None = Field(
        None,
        description="add this figure of the camera profile to seconds (a split length is hours on one "
        "camera and minutes on another); a camera without the figure does not take the scenario",
    )

    def total_s(self, profile: CameraProfile) -> float:
        """The wait's length on a camera with ``profile`` (its ``plus`` figure resolved)."""
        if self.plus is None:
            return self.seconds
        figure = profile_figure(profile, self.plus)
        if figure is None:
            raise ValueError(f"camera profile {profile.model} has no {self.plus}")
        return self.seconds + figure


class BatteryStep(Strict):
    """Power the camera from the battery simulator (harness/power_steps.py): the camera's battery at
    a state of charge. The next ``power: on`` switches the simulated battery on."""

    soc: float = Field(ge=0, le=100, description="state of charge, percent")
    method: Literal["dynamic", "static"] = Field("dynamic", description="static: the charge does not run down")
    monitor_s: float = Field(1.0, gt=0, le=600, description="how often the harness reads the current to see a shutdown")


class MeasureStep(Strict):
    """Read the supply current for a while; the camera should be in ``state`` meanwhile."""

    state: Literal["off", "booting", "buffering", "recording", "writing"]
    seconds: float = Field(gt=0, le=3600)
    interval_s: float = Field(0.5, gt=0, le=60)


#: longest an operator prompt may wait for its answer (s): a shift's length
MAX_PROMPT_S = 12 * 3600.0

#: what a prompt's text may name in braces, filled in from the camera profile of the run
PROMPT_FIELDS: dict[str, Callable[[CameraProfile], str]] = {
    "vendor": lambda p: p.vendor,
    "model": lambda p: p.model,
    "serial": lambda p: p.serial,
    "ready_sign": lambda p: p.ready_sign or "its ready indication (as its manual describes it)",
}


class PromptStep(Strict):
    """Show the operator an instruction and wait for the answer (harness/devices/operator.py):
    ``confirm`` (done / not done) or a ``value`` typed in. No answer within ``timeout_s``, a
    refusal or an abort (Ctrl-C) ends the scenario as an error with the power made safe."""

    text: str = Field(min_length=1, max_length=2000, description="the instruction, as the operator reads it")
    expect: Literal["confirm", "value"] = Field("confirm", description="confirm: done or not; value: type a value")
    timeout_s: float = Field(300.0, gt=0, le=MAX_PROMPT_S, description="longest wait for the answer (s)")
    key: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="what the answer is (e.g. export_folder): later steps find the answer by it, and the "
        "emulated rig's automatic operator answers by it",
    )
    pattern: str | None = Field(
        None, max_length=500, description="a value must match this regular expression (whole); else it is asked again"
    )

    @field_validator("text")
    @classmethod
    def _fields(cls, text: str) -> str:
        try:
            named = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            raise ValueError(f"unbalanced braces in the text ({exc}); write {{{{ and }}}} for a brace") from None
        unknown = [name for name in named if name not in PROMPT_FIELDS]
        if unknown:
            raise ValueError(f"the text names {{{unknown[0]}}}; it may name only {', '.join(PROMPT_FIELDS)}")
        return text

    def text_for(self, profile: CameraProfile) -> str:
        """The instruction with the profile's fields filled in (what the operator reads)."""
        return self.text.format_map({name: field(profile) for name, field in PROMPT_FIELDS.items()})

    @model_validator(mode="after")
    def _pattern(self) -> PromptStep:
        if self.pattern is not None:
            if self.expect != "value":
                raise ValueError("pattern applies only to expect: value")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a regular expression ({exc})") from None
        return self


class DockStep(Strict):
    """Put the camera in its dock (``dock``) or take it out (``undock``), the way the rig file says
    (a smart hub port, a relay, an operator). Docked, a camera charges, shows its storage and does
    not buffer. ``- dock:`` alone is enough; ``why`` is shown in the plan and the record."""

    why: str = Field("", max_length=200, description="what the dock or undock is for, as the test plan says it")


StepKind = Literal["power", "wait", "gesture", "battery", "measure", "prompt", "dock", "undock"]
STEP_KINDS: tuple[StepKind, ...] = ("power", "wait", "gesture", "battery", "measure", "prompt", "dock", "undock")


class Step(Strict):
    """Exactly one action: switch power, wait, perform a named gesture of the camera profile, select
    the battery simulator, measure the current (``power: cut`` = a hard cut while the camera runs),
    or ask the operator (``prompt``)."""

    power: Literal["on", "off", "cut"] | None = None
    wait: Wait | None = None
    gesture: str | None = None
    battery: BatteryStep | None = None
    measure: MeasureStep | None = None
    prompt: PromptStep | None = None
    dock: DockStep | None = None
    undock: DockStep | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_action(cls, data: object) -> object:
        if isinstance(data, dict):
            keys = [k for k in STEP_KINDS if k in data]
            if len(keys) != 1:
                raise ValueError(f"a step needs exactly one of {', '.join(STEP_KINDS)} (got {sorted(data)})")
            for key in ("dock", "undock"):  # '- dock:' alone (YAML null) or 'dock: true' is a plain dock
                if key in data and (data[key] is None or data[key] is True):
                    data = {**data, key: {}}
            if isinstance(data.get("power"), bool):  # YAML reads a bare on/off as a boolean
                data = {**data, "power": "on" if data["power"] else "off"}
            if isinstance(data.get("prompt"), str):  # 'prompt: Dock the camera' = a confirm prompt
                data = {**data, "prompt": {"text": data["prompt"]}}
        return data

    @property
    def kind(self) -> StepKind:
        """Which action this step is: the key the step dispatcher looks its handler up by."""
        return next(k for k in STEP_KINDS if getattr(self, k) is not None)

    def describe(self) -> str:
        if self.power:
            return f"power {self.power}"
        if self.wait:
            if self.wait.until:
                return f"wait until {self.wait.until} (at most {self.wait.seconds:g} s)"
            since = "" if self.wait.since == "previous" else f" since {self.wait.since.replace('_', ' ')}"
            plus = "" if self.wait.plus is None else f" + {self.wait.plus}"
            return f"wait {self.wait.seconds:g} s{plus}{since}"
        if self.battery:
            return f"battery simulator at {self.battery.soc:g} % ({self.battery.method})"
        if self.measure:
            return f"measure current for {self.measure.seconds:g} s ({self.measure.state})"
        if self.prompt:
            text = self.prompt.text if len(self.prompt.text) <= 60 else self.prompt.text[:57] + "..."
            return f"ask the operator: {text}"
        docking = self.dock or self.undock
        if docking is not None:
            return ("dock" if self.dock else "undock") + (f" ({docking.why})" if docking.why else "")
        return f"gesture {self.gesture}"


class Expect(Strict):
    clips: int = Field(ge=0, le=1000)
    checks: list[str] = Field(min_length=1)
    collect: bool = Field(
        True,
        description="take in and analyse the clips; false for a test judged by the "
        "instrument alone (a 12-hour runtime test leaves its footage on the camera)",
    )

    @field_validator("checks")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in CHECK_NAMES]
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; known: {sorted(CHECK_NAMES)}")
        return names


class Scenario(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    requirements: list[str] = Field(min_length=1)
    description: str = ""
    steps: list[Step] = Field(min_length=1)
    expect: Expect
    scene: SceneVariant = Field(
        "standard", description="what the display shows: the standard scene, or 'busy' (a worst case for the encoder)"
    )
    tags: list[str] = Field(
        default_factory=list,
        description="suites the scenario belongs to (e.g. 'acceptance': the per-unit suite of bwc station)",
    )

    @field_validator("steps")
    @classmethod
    def _docking_in_order(cls, steps: list[Step]) -> list[Step]:
        """Dock and undock alternate, and nothing is started while the camera is in its dock (a
        camera does not record docked): a plan that asks for either is refused at load."""
        docked_at: int | None = None  # the step that docked the camera (None: out of its dock)
        problems = []
        for number, step in enumerate(steps, 1):
            if step.dock is not None:
                if docked_at is not None:
                    problems.append(f"steps#{number}.dock: the camera is already docked (steps#{docked_at})")
                docked_at = number
            elif step.undock is not None:
                if docked_at is None:
                    problems.append(f"steps#{number}.undock: the camera is not docked (no dock step before it)")
                docked_at = None
            elif step.gesture == "start" and docked_at is not None:
                problems.append(
                    f"steps#{number}.gesture: start while the camera is docked (steps#{docked_at}); "
                    "a camera does not record in its dock, undock it first"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return steps

    @property
    def docks(self) -> bool:
        """Whether the scenario docks the camera (it then needs a rig with a dock)."""
        return any(step.dock is not None or step.undock is not None for step in self.steps)

    def expected_duration_s(self, profile: CameraProfile, settle_s: float = 0.0, clip_wait_s: float = 0.0) -> float:
        """How long the scenario takes on a bench with a camera of ``profile``: its waits (a wait's
        profile figure resolved, 'since buffering' counted from power-on plus the boot time), its
        gestures, current measurements and waits for a shutdown at their longest, after ``settle_s``
        of power-off before it starts and ``clip_wait_s`` for the clips after the last step.
        Collecting and analysing the clips come on top."""
        t = settle_s
        power_on: float | None = None
        for step in self.steps:
            if step.power == "on":
                power_on = t
                if profile.switch_on == "button" and "power_on" in profile.gestures:  # then its power button
                    t += profile.gestures["power_on"].duration_s
                    power_on = t
            elif step.gesture is not None and step.gesture in profile.gestures:
                t += profile.gestures[step.gesture].duration_s
            elif step.measure is not None:
                t += step.measure.seconds
            elif step.wait is not None:
                if step.wait.until is not None:
                    t += step.wait.seconds
                    continue
                origin = t
                if step.wait.since != "previous" and power_on is not None:
                    origin = power_on + (profile.boot_s if step.wait.since == "buffering" else 0.0)
                t = max(t, origin + step.wait.total_s(profile))
        return t + clip_wait_s

    def not_applicable(self, profile: CameraProfile) -> str | None:
        """Why this scenario means nothing on a camera with ``profile`` (None: it applies): a wait
        that adds a figure the camera does not have (a split length on a camera that never splits)."""
        for number, step in enumerate(self.steps, 1):
            plus = step.wait.plus if step.wait is not None else None
            if plus is not None and profile_figure(profile, plus) is None:
                return f"camera profile {profile.model} has no {plus} (steps#{number} waits for it)"
        return None

    def unresolved(self, profile: CameraProfile) -> list[str]:
        """What the steps name that ``profile`` does not have ('steps#3.gesture: ...'): found when the
        file is loaded, so a typo fails before the camera is powered and waited on."""
        problems = []
        for number, step in enumerate(self.steps, 1):
            if step.gesture is not None and step.gesture not in profile.gestures:
                problems.append(
                    f"steps#{number}.gesture: camera profile {profile.model} has no gesture "
                    f"{step.gesture!r} (its gestures: {', '.join(profile.gestures)})"
                )
            button = getattr(step, "button", None)  # a step that presses a button by name
            if isinstance(button, str) and button not in profile.buttons:
                problems.append(
                    f"steps#{number}.button: camera profile {profile.model} has no button "
                    f"{button!r} (its buttons: {', '.join(profile.buttons)})"
                )
        return problems

    @classmethod
    def load(
        cls, path: Path | str, catalogue: Catalogue | None = None, profile: CameraProfile | None = None
    ) -> Scenario:
        """Read and validate a scenario file; with ``catalogue`` and ``profile``, also resolve its
        requirement ids and the gestures its steps name."""
        scenario = load_model(path, cls, read_yaml(path))
        problems = []
        if catalogue is not None:
            unknown = [r for r in scenario.requirements if r not in catalogue.ids]
            if unknown:
                problems.append(f"requirements: unknown requirement id(s) {unknown}; see {catalogue.path}")
        if profile is not None:
            problems += scenario.unresolved(profile)
        if problems:
            raise ConfigError(path, problems)
        return scenario
