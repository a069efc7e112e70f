"""Runs one scenario on a rig: do the steps, take in the clips, analyse them, check them."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from harness.analysis import bounded
from harness.analysis.bounded import analyse_clip_bounded
from harness.analysis.clip import ClipAnalysis
from harness.analysis.overlay_text import burned_in_spec
from harness.analysis.present import at_present_times
from harness.checks import CheckInput, run_checks
from harness.checks.run_match import match_to_scenario
from harness.core import progress
from harness.core.evidence import EvidenceFile
from harness.core.measurement import Measurement
from harness.core.timeline import Timeline
from harness.devices.display import display_evidence
from harness.devices.flash_schedule import FlashSchedule
from harness.devices.operator import ask
from harness.execution import power_steps
from harness.execution.dispatch import StepDispatcher, switch_dock
from harness.plan.requirements import Catalogue
from harness.plan.scenario import Scenario, Step
from harness.rig.factory import Rig

log = logging.getLogger(__name__)

SETTLE_S = 2.0  # power-off time before a scenario starts, so each one begins from a cold camera
CLIP_WAIT_S = 10.0  # how long after the last step clips may still appear


@dataclass
class ScenarioResult:
    scenario: Scenario | None = None  # None: a scenario written in Python
    timeline: Timeline = field(default_factory=Timeline)
    evidence: list[EvidenceFile] = field(default_factory=list)
    analyses: list[ClipAnalysis] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    #: what the clip source's files showed besides measurements (an export's files of other runs
    #: or scenarios, the scenario's clips missing from it): one line each, kept in the record
    findings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Measurement]:
        return [m for m in self.measurements if not m.passed]


StepHook = Callable[[str], AbstractContextManager[object]]


def _no_hook(_: str) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


class Take:
    """One scenario run on a rig, in its two phases: the steps, then the clips and the checks.

    :func:`run_scenario` drives it from a scenario file; the pytest fixtures let a Python scenario
    drive it step by step (``with take.steps(): take.do(step)`` then :meth:`check`). Every step goes
    through the one step dispatcher.
    """

    def __init__(
        self,
        rig: Rig,
        evidence_dir: Path,
        result: ScenarioResult | None = None,
        step_hook: StepHook = _no_hook,
        scenario: Scenario | None = None,
        catalogue: Catalogue | None = None,
    ) -> None:
        self.rig = rig
        self.catalogue = catalogue  # the limits the checks judge against (None: the built-in catalogue)
        self.evidence_dir = evidence_dir
        self.result = result or ScenarioResult(scenario)
        self.step_hook = step_hook
        self._dispatcher: StepDispatcher | None = None
        self._flashes: FlashSchedule | None = None
        self._before: frozenset[str] = frozenset()
        self._start = 0.0

    @contextlib.contextmanager
    def steps(self, collect: bool = True) -> Iterator[Take]:
        """Start from a cold camera, then hold the power session and the A/V stimulus open while
        the steps run (``collect``: start the analysis process meanwhile)."""
        rig, clock = self.rig, self.rig.clock
        if collect:
            bounded.prepare()  # the analysis process starts while the steps run
        with self.step_hook("prepare: power off and settle"):
            rig.power.output(False)
            rig.show_scene(self.result.scenario.scene if self.result.scenario else "standard")
            clock.sleep(SETTLE_S)
            if collect and rig.dock is not None and rig.clips_while_docked and rig.dock.docked is not True:
                switch_dock(rig, self.result.timeline, True, "to see the clips already on the camera")
        self._before = rig.clips.snapshot()
        if rig.dock is not None and rig.dock.docked:  # every scenario starts with the camera out of its dock
            with self.step_hook("prepare: undock"):
                switch_dock(rig, self.result.timeline, False, "a scenario starts with the camera out of its dock")
        self._start = clock.now()
        self._flashes = FlashSchedule.for_rig(rig)  # a bench's controller fires the A/V stimulus meanwhile
        # battery simulator, power monitor, cuts
        with power_steps.session(rig, self.result.timeline) as power, self._flashes:
            self._dispatcher = StepDispatcher(rig, self.result.timeline, power)
            try:
                yield self
            finally:
                self._dispatcher = None

    def do(self, step: Step | dict) -> float:
        """Do one step (a :class:`Step` or its YAML form as a dict); returns when it was done."""
        if self._dispatcher is None:
            raise RuntimeError("steps run inside 'with take.steps():'")
        step = step if isinstance(step, Step) else Step.model_validate(step)
        with self.step_hook(step.describe()):
            return self._dispatcher.run(step)

    def check(self, checks: list[str], clips: int, collect: bool = True) -> list[Measurement]:
        """After the steps: take in and analyse the clips (``collect``), run ``checks`` expecting
        ``clips`` clips; returns the new measurements (also kept in the result)."""
        if self._flashes is None:
            raise RuntimeError("check() follows the steps")
        rig, result = self.rig, self.result
        verdicts: list[Measurement] = []
        if collect and rig.dock is not None and rig.clips_while_docked and not rig.dock.docked:
            with self.step_hook("dock for the clips"):  # its storage is reached only through the dock
                switch_dock(rig, result.timeline, True, "for the clips")
        if collect:
            verdicts = self._take_in_and_analyse(clips)
        else:  # judged by the instrument alone: the footage stays on the camera
            self._flashes.finish(result.timeline)
        with self.step_hook("check"):
            inp = CheckInput(
                rig.profile,
                result.timeline,
                result.analyses,
                clips,
                reference_utc=rig.clock.utc,
                speaker_distance_m=rig.speaker_distance_m,
                run_id=rig.run_id,
                clip_source=rig.clips.describe(),
                catalogue=self.catalogue,
                calibration=rig.calibration,
                refresh_hz=rig.refresh_hz,
                present=rig.display.present_uncertainty() if rig.display is not None else None,
            )
            found = run_checks(checks, inp)
        result.measurements += found
        return verdicts + found

    def _take_in_and_analyse(self, expected_clips: int) -> list[Measurement]:
        """Take in the new clips as evidence and analyse each; returns the per-clip verdicts."""
        assert self._flashes is not None  # check() makes sure the steps ran
        rig, result, clock = self.rig, self.result, self.rig.clock
        steps_end = clock.now()
        with self.step_hook("collect clips"):
            prompt = rig.clips.handover_prompt()  # connect the camera, export its events: the operator's part
            if prompt is not None:
                rig.clips.handed_over(ask(rig.the_operator(), prompt, result.timeline, clock).value)
            with progress.reporter(clock, "collect clips", rig.clip_wait_s) as report:
                result.evidence = rig.clips.wait_for_new(
                    self._before, self.evidence_dir, clock, rig.clip_wait_s, progress=report
                )
            display_evidence(rig.display, self.evidence_dir, self._start, clock.now())
            fired = self._flashes.finish(result.timeline)
        with self.step_hook("analyse clips"):
            burned_in = burned_in_spec(rig.profile.clock)
            # in a child process with a time bound: a broken clip gets its verdict, the run goes on
            result.analyses = [
                analyse_clip_bounded(e.path, rig.refresh_hz, burned_in, run_id=rig.run_id) for e in result.evidence
            ]
            for ev, an in zip(result.evidence, result.analyses):
                an.sha256 = ev.sha256
            # reference time = present time
            at_present_times(result.analyses, rig.display.log if rig.display else None, fired, rig.refresh_hz)
            if rig.clips.holds_other_footage:
                self._keep_scenario_footage(steps_end, expected_clips)
            verdicts = bounded.verdict_measurements(result.analyses)  # per-clip verdict, kept
            result.measurements += verdicts
        return verdicts

    def _keep_scenario_footage(self, steps_end: float, expected_clips: int) -> None:
        """From a source that also holds other footage (a vendor export): keep the clips whose time
        code shows this run and this scenario's time; the others stay in the evidence with a finding
        and are not judged; events with no file are findings too."""
        result = self.result
        starts = [a.t for a in result.timeline.gestures("start")]
        match = match_to_scenario(result.analyses, self.rig.run_id, (self._start, steps_end), starts, expected_clips)
        by_path = {an.path: why for i, an in enumerate(result.analyses) if (why := match.ignored.get(i))}
        result.evidence = [
            dataclasses.replace(ev, finding="; ".join(f for f in (ev.finding, by_path[str(ev.path)]) if f))
            if str(ev.path) in by_path
            else ev
            for ev in result.evidence
        ]
        match_clips = result.analyses
        result.analyses = [match_clips[i] for i in match.kept]
        result.findings += match.missing
        for i, why in match.ignored.items():
            log.info("%s: %s", Path(match_clips[i].path).name, why)
        for line in match.missing:
            log.warning("%s: %s", self.rig.clips.describe(), line)


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
        take = Take(rig, evidence_dir, result, step_hook, scenario, catalogue=catalogue)
        with take.steps(collect=scenario.expect.collect):
            for step in scenario.steps:
                take.do(step)
        take.check(scenario.expect.checks, scenario.expect.clips, collect=scenario.expect.collect)
        return take.result
    except BaseException:
        rig.safe_state()
        raise
