"""The checks scenario files name, in one explicit table (no registration by import side effect),
and the measurements each family declares."""

from __future__ import annotations

from harness.checks.audio_policy import MEASUREMENTS as AUDIO_POLICY_MEASUREMENTS
from harness.checks.audio_policy import audio_policy
from harness.checks.av import MEASUREMENTS as AV_MEASUREMENTS
from harness.checks.av import av_sync
from harness.checks.clock import MEASUREMENTS as CLOCK_MEASUREMENTS
from harness.checks.clock import clock
from harness.checks.common import Check, CheckInput
from harness.checks.continuity import MEASUREMENTS as CONTINUITY_MEASUREMENTS
from harness.checks.continuity import continuity, segments
from harness.checks.dock import MEASUREMENTS as DOCK_MEASUREMENTS
from harness.checks.dock import docked_buffer
from harness.checks.evidence import MEASUREMENTS as EVIDENCE_MEASUREMENTS
from harness.checks.evidence import evidence
from harness.checks.identity import MEASUREMENTS as IDENTITY_MEASUREMENTS
from harness.checks.power import MEASUREMENTS as POWER_MEASUREMENTS
from harness.checks.power import current_profile, cutoff, power_cut, shift_runtime, warning_lead
from harness.checks.preroll import MEASUREMENTS as PREROLL_MEASUREMENTS
from harness.checks.preroll import activation, clip_count, preroll
from harness.checks.stop import MEASUREMENTS as STOP_MEASUREMENTS
from harness.checks.stop import stop
from harness.checks.uncertainty import attach
from harness.core.measurement import Declared, Measurement

CHECKS: dict[str, Check] = {
    "clip_count": clip_count,
    "preroll": preroll,
    "activation": activation,
    "continuity": continuity,
    "segments": segments,
    "stop": stop,
    "clock": clock,
    "av_sync": av_sync,
    "audio_policy": audio_policy,
    "shift_runtime": shift_runtime,
    "warning_lead": warning_lead,
    "cutoff": cutoff,
    "power_cut": power_cut,
    "current_profile": current_profile,
    "evidence": evidence,
    "docked_buffer": docked_buffer,
}

# every measurement a family of checks can make, declared once in its module
DECLARED: dict[str, tuple[Declared, ...]] = {
    "preroll": PREROLL_MEASUREMENTS,
    "identity": IDENTITY_MEASUREMENTS,
    "continuity": CONTINUITY_MEASUREMENTS,
    "stop": STOP_MEASUREMENTS,
    "clock": CLOCK_MEASUREMENTS,
    "av": AV_MEASUREMENTS,
    "audio_policy": AUDIO_POLICY_MEASUREMENTS,
    "power": POWER_MEASUREMENTS,
    "evidence": EVIDENCE_MEASUREMENTS,
    "dock": DOCK_MEASUREMENTS,
}


def run_checks(names: list[str], inp: CheckInput) -> list[Measurement]:
    """The measurements of the checks ``names``, in that order, each under the catalogue's decision
    rule and each time measurement with its uncertainty budget (harness.checks.uncertainty)."""
    measurements: list[Measurement] = []
    for name in names:
        measurements += CHECKS[name](inp)
    return attach(inp, measurements)
