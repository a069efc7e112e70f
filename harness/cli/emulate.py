"""``bwc emulate`` and ``bwc faults``: the emulated rig by hand, and what its faults break."""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from harness.cli.common import POSITIVE, console, num


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``emulate`` and ``faults`` verbs and their options."""
    p = sub.add_parser("emulate", help="start an emulated rig in real time and print where its parts are")
    p.add_argument("--profile", default="emulated", help="camera profile (name or file)")
    p.add_argument("--fault", action="append", default=[], help="switch on an emulated fault (repeatable)")
    p.add_argument("--storage", help="folder for the camera's storage (default: a temporary folder)")
    p.add_argument("--duration", type=POSITIVE, help="stop after this many seconds (default: until Ctrl-C)")
    p.set_defaults(run=emulate)

    p = sub.add_parser("faults", help="list the emulated camera's faults and what each breaks")
    p.add_argument(
        "--matrix",
        action="store_true",
        help="run each fault on its scenario and the healthy camera on every scenario; print the matrix",
    )
    p.add_argument(
        "--profile",
        help="camera profile (name or file) of the emulated camera: each fault that applies to it is "
        "proven on it (default: the built-in emulated camera)",
    )
    p.set_defaults(run=faults)


def emulate(args: argparse.Namespace) -> int:
    from harness.core.clock import RealClock
    from harness.core.paths import camera_profile_path
    from harness.emulator.rig import EmulatedRig
    from harness.plan.profile import CameraProfile

    clock = RealClock()
    profile = CameraProfile.load(camera_profile_path(args.profile, Path.cwd()))
    storage = Path(args.storage).resolve() if args.storage else None
    try:
        with _stop_on_signals(), EmulatedRig(profile, clock, storage, tuple(args.fault)) as rig:
            console.print(escape(f"emulated camera: {profile.vendor} {profile.model} (serial {profile.serial})"))
            console.print(escape(f"serial port (rig controller, BWC-RIG/1): {rig.serial_url}"))
            console.print(escape(f"VISA resource (power supply): {rig.visa_resource}"))
            console.print(escape(f"camera storage: {rig.clip_folder}"))
            console.print(f"run id in the time code: {rig.run_id}")
            console.print(
                "power the camera with ':OUTP ON' on the VISA resource; press with 'PRESS event 150' on the port."
            )
            console.print(
                "as a battery (2281S battery-simulator subset): ':ENTR:FUNC SIM;:BATT:MOD:RCL 1;:BATT:SIM:SOC 50;"
                ":BATT:OUTP ON', then ':BATT:SIM:TVOL?', ':BATT:SIM:CURR?', ':BATT:SIM:SOC?'.",
                highlight=False,
            )
            console.print("Ctrl-C (or SIGTERM, SIGHUP) stops the rig.", highlight=False)
            clock.sleep(args.duration if args.duration is not None else float("inf"))
    except KeyboardInterrupt:
        pass
    clock.close()
    return 0


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop like Ctrl-C, so the ``with`` blocks around still clean up
    (the emulated camera's temporary storage is removed, its ports closed)."""

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {sig: signal.signal(sig, _interrupt) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def faults(args: argparse.Namespace) -> int:
    from harness.core.config import ConfigError
    from harness.emulator.device_faults import DEVICE_FAULTS
    from harness.emulator.faults import FAULTS
    from harness.execution.matrix import load_profile

    try:
        profile = load_profile(args.profile)
    except ConfigError as exc:
        console.print(f"camera profile {exc}", highlight=False, markup=False, soft_wrap=True)
        return 2
    if args.matrix:
        return fault_matrix(args.profile)
    table = Table(title=f"emulated camera faults ({profile.vendor} {profile.model})")
    for col in ("fault", "what it breaks", "caught by check", "proof (scenario: measurement = expected)"):
        table.add_column(col)
    for f in FAULTS.values():
        p = f.proof
        proof = f"{p.scenario}: {p.measurement} = {num(p.expected_for(profile))}"
        table.add_row(
            escape(f.name),
            escape(f.breaks),
            escape(f.caught_by),
            escape(proof if f.applies(profile) else "(does not apply to this camera)"),
        )
    console.print(table)
    devices = Table(title="emulated device faults (each strikes once: the test it hits fails naming the device)")
    for col in ("fault", "device", "what it does"):
        devices.add_column(col)
    for d in DEVICE_FAULTS.values():
        devices.add_row(escape(d.name), escape(d.device), escape(d.does))
    console.print(devices)
    return 0


def fault_matrix(profile: str | None = None) -> int:
    """Healthy camera on every scenario, then every fault that applies to the camera on its
    scenario: the tester, tested (``profile``: a persona's camera profile; None: the built-in one)."""
    from harness.emulator.faults import FAULTS
    from harness.execution.matrix import applicable, healthy, prove

    failures = healthy(profile=profile)
    table = Table(title=f"fault matrix (emulated camera{', profile ' + profile if profile else ''})")
    for col in ("fault", "scenario", "check", "measurement", "expected", "measured", "verdict", "caught"):
        table.add_column(col)
    clean = all(not f for f in failures.values())
    table.add_row(
        "(healthy)",
        f"{len(failures)} scenarios",
        "all",
        "every measurement",
        "pass",
        "pass" if clean else escape("; ".join(x for f in failures.values() for x in f)[:200]),
        "PASS" if clean else "FAIL",
        "no false alarm" if clean else "[red]FALSE ALARM[/]",
    )
    caught_all = clean
    for name in applicable(profile):
        fault = FAULTS[name]
        r = prove(name, camera=profile)
        caught_all &= r.caught
        table.add_row(
            name,
            r.scenario,
            fault.caught_by,
            escape(r.measurement),
            f"{num(r.expected)} +/- {num(r.tolerance)}",
            num(r.measured),
            r.outcome.upper(),
            "yes" if r.caught else "[red]NO[/]",
        )
    console.print(table)
    return 0 if caught_all else 1
