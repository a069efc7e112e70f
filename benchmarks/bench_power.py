"""Figures for battery and power on the emulated rig.

Prints: wall time of the 12-hour shift scenario (goal < 30 s) and the runtime it measures
against the emulator's ground truth (goal within 1 %); wall time of the other power scenarios;
SCPI round trips per second over pyvisa-py to the emulated 2281S (raw queries, driver readings,
and configuration steps, each of which is a write plus an error-queue query).

    .venv/bin/python benchmarks/bench_power.py [--repeat N] [--queries N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyvisa

from harness.core.clock import VirtualClock
from harness.core.paths import SUITE_DIR
from harness.devices.power import BatterySetup, PowerLimits, ScpiPowerSupply
from harness.emulator.scpi import ScpiServer
from harness.execution.runner import run_scenario
from harness.plan.scenario import Scenario
from harness.rig.factory import open_rig
from harness.rig.specs import EmulatedRigSpec

OTHERS = ["power_cutoff.yaml", "power_cut.yaml", "power_draw.yaml"]


def shift(repeat: int) -> None:
    scenario = Scenario.load(SUITE_DIR / "power_shift.yaml")
    walls, errors = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp, open_rig(EmulatedRigSpec(kind="emulated"), workdir=Path(tmp)) as rig:
            t0 = time.perf_counter()
            result = run_scenario(scenario, rig, Path(tmp) / "evidence")
            walls.append(time.perf_counter() - t0)
            on = next(a for a in result.timeline.actions if a.kind == "power" and a.name == "on")
            truth = (rig.emulator.camera.power.shutdowns[0].t - on.t) / 3600
            measured = next(m.value for m in result.measurements if m.name == "shift_runtime_h")
            errors.append((measured - truth) / truth * 100)
            simulated = rig.clock.now()
    print(f"12-hour shift scenario ({simulated / 3600:.1f} h simulated, monitor every 10 s):")
    print(f"  wall time            {statistics.median(walls):6.2f} s (median of {repeat}; goal < 30 s)")
    print(f"  runtime measured     {measured:.4f} h, ground truth {truth:.4f} h")
    print(f"  runtime error        {statistics.median(errors):+.4f} % (goal within 1 %)")


def others() -> None:
    print("other power scenarios (healthy camera):")
    for name in OTHERS:
        scenario = Scenario.load(SUITE_DIR / name)
        with tempfile.TemporaryDirectory() as tmp, open_rig(EmulatedRigSpec(kind="emulated"), workdir=Path(tmp)) as rig:
            t0 = time.perf_counter()
            result = run_scenario(scenario, rig, Path(tmp) / "evidence")
            wall = time.perf_counter() - t0
        verdict = "pass" if not result.failed else f"FAIL {[m.name for m in result.failed]}"
        print(f"  {scenario.id:14s} {wall:6.2f} s  {rig.clock.now() / 60:6.1f} min simulated  {verdict}")


def round_trips(queries: int) -> None:
    clock = VirtualClock()
    with ScpiServer(load_current=lambda: 0.32, clock=clock) as server:
        rm = pyvisa.ResourceManager("@py")
        try:
            inst = rm.open_resource(server.resource, read_termination="\n", write_termination="\n", timeout=2000)
            t0 = time.perf_counter()
            for _ in range(queries):
                inst.query("*IDN?")
            raw = queries / (time.perf_counter() - t0)
            inst.close()
        finally:
            rm.close()
        with ScpiPowerSupply.open(server.resource, PowerLimits(4.4, 3.0)) as psu:
            psu.select_battery(BatterySetup("1", 80, capacity_ah=5.0))
            psu.output(True)
            t0 = time.perf_counter()
            for _ in range(queries):
                psu.measure_current()
            readings = queries / (time.perf_counter() - t0)
            steps = max(1, queries // 4)
            t0 = time.perf_counter()
            for i in range(steps):
                psu.output(i % 2 == 0)
            configs = steps / (time.perf_counter() - t0)
    print("SCPI over pyvisa-py (TCP loopback, emulated 2281S):")
    print(f"  raw query round trips      {raw:8.0f} /s  (*IDN?, pyvisa directly)")
    print(f"  driver readings            {readings:8.0f} /s  (:BATT:SIM:CURR?)")
    print(f"  driver configuration steps {configs:8.0f} /s  (:BATT:OUTP + :SYST:ERR? drain, camera switching)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of the shift scenario")
    parser.add_argument("--queries", type=int, default=2000, help="queries for the round-trip figure")
    args = parser.parse_args()
    shift(args.repeat)
    others()
    round_trips(args.queries)


if __name__ == "__main__":
    main()
