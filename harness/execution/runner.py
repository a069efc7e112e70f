"""Runs one scenario on a rig: do the steps, take in the clips, analyse them, check them."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager

from harness.analysis.clip import ClipAnalysis
from harness.analysis import bounded
from harness.analysis.bounded import analyse_clip_bounded
from harness.analysis.present import at_present_times
from harness.execution import power_steps
from harness.core import progress
from harness.checks import CheckInput, run_checks
from harness.devices.display import display_evidence
from harness.devices.flash_schedule import FlashSchedule
from harness.core.evidence import EvidenceFile
from harness.core.measurement import Measurement
from harness.rig.factory import Rig
from harness.plan.requirements import Catalogue
from harness.plan.scenario import Scenario, Step
from harness.core.timeline import Action, PowerOn, Timeline

log = logging.getLogger(__name__)

SETTLE_S = 2.0  # power-off time before a scenario starts, so each one begins from a cold camera
CLIP_WAIT_S = 10.0  # how long after the last step clips may still appear


@dataclass
class ScenarioResult:
    scenario: Scenario
    timeline: Timeline = field(default_factory=Timeline)
    evidence: list[EvidenceFile] = field(default_factory=list)
    analyses: list[ClipAnalysis] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)

    @property
    def failed(self) -> list[Measurement]:
        return [m for m in self.measurements if not m.passed]


StepHook = Callable[[str], ContextManager[object]]


def _no_hook(_: str) -> ContextManager[object]:
    return contextlib.nullcontext()


def run_scenario(
    scenario: Scenario,
    rig: Rig,
    evidence_dir: Path,
    step_hook: StepHook = _no_hook,
    result: ScenarioResult | None = None,
    catalogue: Catalogue | None = None,
) -> ScenarioResult:
    """Run ``scenario``; measurements land in ``result`` as they are made, so a crash keeps them.

    When anything fails (a device, a step, an interruption) the power output is switched off
    before the error goes on: the next test never meets a camera powered by one that is over.
    ``catalogue`` holds the limits the checks judge against (None: the built-in catalogue).
    """
    try:
        return _run_scenario(scenario, rig, evidence_dir, step_hook, result, catalogue)
    except BaseException:
        rig.safe_state()
        raise


def _run_scenario(scenario: Scenario, rig: Rig, evidence_dir: Path, step_hook: StepHook,
                  result: ScenarioResult | None, catalogue: Catalogue | None = None) -> ScenarioResult:
    result = result or ScenarioResult(scenario)
    clock = rig.clock
    if scenario.expect.collect:
        bounded.prepare()  # the analysis process starts while the steps run
    with step_hook("prepare: power off and settle"):
        rig.power.output(False)
        clock.sleep(SETTLE_S)
    before = rig.clips.snapshot()
    mark = mark_start = clock.now()
    flashes = FlashSchedule.for_rig(rig)  # a bench's controller fires the A/V stimulus meanwhile
    with power_steps.session(rig, result.timeline) as power, flashes:  # battery simulator, power monitor, cuts
        for step in scenario.steps:
            with step_hook(step.describe()):
                mark = power.run(step) if power.handles(step) else _do_step(step, rig, result.timeline, mark)
    if not scenario.expect.collect:  # judged by the instrument alone: the footage stays on the camera
        flashes.finish(result.timeline)
        with step_hook("check"):
            result.measurements += run_checks(scenario.expect.checks, CheckInput(
                rig.profile, result.timeline, [], scenario.expect.clips, reference_utc=rig.clock.utc,
                speaker_distance_m=rig.speaker_distance_m, catalogue=catalogue))
        return result
    with step_hook("collect clips"):
        with progress.reporter(clock, "collect clips", rig.clip_wait_s) as report:
            result.evidence = rig.clips.wait_for_new(before, evidence_dir, clock, rig.clip_wait_s, progress=report)
        display_evidence(rig.display, evidence_dir, mark_start, clock.now())
        fired = flashes.finish(result.timeline)
    with step_hook("analyse clips"):
        burned_in = rig.profile.clock.burned_in
        # in a child process with a time bound: a broken clip gets its verdict, the run goes on
        result.analyses = [analyse_clip_bounded(e.path, rig.refresh_hz, burned_in, run_id=rig.run_id)
                           for e in result.evidence]
        for ev, an in zip(result.evidence, result.analyses):
            an.sha256 = ev.sha256
        result.measurements += bounded.verdict_measurements(result.analyses)  # per-clip verdict, kept
        at_present_times(result.analyses, rig.display.log if rig.display else None, fired, rig.refresh_hz)  # reference time = present time
    with step_hook("check"):
        inp = CheckInput(rig.profile, result.timeline, result.analyses, scenario.expect.clips,
                         reference_utc=rig.clock.utc, speaker_distance_m=rig.speaker_distance_m,
                         run_id=rig.run_id, clip_source=rig.clips.describe(), catalogue=catalogue)
        result.measurements += run_checks(scenario.expect.checks, inp)
    return result


def _do_step(step: Step, rig: Rig, timeline: Timeline, mark: float) -> float:
    clock = rig.clock
    if step.power == "on":
        rig.power.set_voltage(rig.power_spec.voltage)
        rig.power.set_current_limit(rig.power_spec.current_limit)
        rig.power.output(True)
        timeline.add(Action(clock.now(), "power", "on", PowerOn(voltage=rig.power_spec.voltage)))
    elif step.power == "off":
        rig.power.output(False)
        timeline.add(Action(clock.now(), "power", "off"))
    elif step.wait is not None:
        origin = mark
        if step.wait.since != "previous":
            on = timeline.last_before(clock.now(), "power", "on")
            if on is None:
                raise ValueError(f"'wait since {step.wait.since}' needs an earlier 'power: on' step")
            origin = on.t + (rig.profile.boot_s if step.wait.since == "buffering" else 0.0)
        progress.wait_until(clock, origin + step.wait.seconds, step.describe())
    elif step.gesture is not None:
        gesture = rig.profile.gestures.get(step.gesture)
        if gesture is None:
            raise ValueError(f"gesture '{step.gesture}' is not in camera profile {rig.profile.model}")
        done = rig.controller.perform(step.gesture, gesture)
        timeline.add(Action(done.effective_t, "gesture", step.gesture,
                            {"edges": [(e.button, "down" if e.down else "up", e.t) for e in done.edges]}))
    return clock.now()
