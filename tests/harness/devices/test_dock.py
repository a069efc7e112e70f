"""Docks: the uhubctl command line against uhubctl's documented options, a fake uhubctl on PATH,
and the rig controller's relay through the emulated controller on a real pty."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from harness.core.clock import VirtualClock
from harness.devices.dock import (
    DockError,
    HubPort,
    PromptDock,
    RelayDock,
    UhubctlDock,
    ports_after,
    uhubctl_command,
)
from harness.devices.operator import Answer, Prompt, PromptUnanswered
from harness.devices.rig_controller import RigControllerError, SerialRigController
from harness.emulator.rig_controller import EmulatedRigController
from harness.rig.kinds import dock_settings, load_rig_spec

#: ``uhubctl -h`` of uhubctl 2.5.0 (Debian bookworm), the options a command line may use
DOCUMENTED_HELP = """\
--action,   -a - action to off/on/cycle/toggle (0/1/2/3) for affected ports.
--ports,    -p - ports to operate on    [all hub ports].
--location, -l - limit hub by location  [all smart hubs].
--level     -L - limit hub by location level (e.g. a-b.c is level 3).
--vendor,   -n - limit hub by vendor id [any] (partial ok).
--search,   -s - limit hub by attached device description.
--delay,    -d - delay for cycle action [2 sec].
--repeat,   -r - repeat power off count [1] (some devices need it to turn off).
--exact,    -e - exact location (no USB3 duality handling).
--force,    -f - force operation even on unsupported hubs.
--nodesc,   -N - do not query device description (helpful for unresponsive devices).
--nosysfs,  -S - do not use the Linux sysfs port disable interface.
--reset,    -R - reset hub after each power-on action, causing all devices to reassociate.
--wait,     -w - wait before repeat power off [20 ms].
--version,  -v - print program version.
--help,     -h - print this text.
"""
#: where the Debian package installs uhubctl, and the usual system folders
SYSTEM_PATH = os.pathsep.join(("/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"))
#: options that take no value (every other documented option takes one)
FLAGS = {"-e", "-f", "-N", "-S", "-R", "-v", "-h"}


def documented_options() -> dict[str, str]:
    """Short option -> its help line: from the installed uhubctl when there is one, else the copy above."""
    text = DOCUMENTED_HELP
    installed = shutil.which("uhubctl", path=SYSTEM_PATH)  # the system's, never a test's fake
    if installed:
        done = subprocess.run([installed, "-h"], capture_output=True, text=True, timeout=10, check=False)
        text = done.stdout + done.stderr
    return {m.group(1): line for line in text.splitlines() if (m := re.search(r",?\s+(-[A-Za-z])\s+-\s", line))}


def parse_like_uhubctl(cmd: list[str]) -> dict[str, str | None]:
    """Read a command line the way uhubctl's getopt does: documented short options, a value after
    each that takes one. Anything else is an error."""
    documented = documented_options()
    assert Path(cmd[0]).name == "uhubctl"
    args, out = cmd[1:], {}
    while args:
        opt = args.pop(0)
        assert opt in documented, f"{opt} is not a documented uhubctl option"
        out[opt] = None if opt in FLAGS else args.pop(0)
    return out


HUB = HubPort("1-1.4", (2,), vendor="2109", repeat=3, wait_ms=500, exact=True)


@pytest.mark.parametrize("action", ["on", "off", "cycle"])
def test_command_uses_only_documented_options(action: str) -> None:
    """Every option of the built command line is in uhubctl's help, with a value of the documented form."""
    hub = HubPort("1-1.4", (2, 3), vendor="2109:2817", repeat=2, wait_ms=100, delay_s=1.5, exact=True)
    opts = parse_like_uhubctl(uhubctl_command(hub, action))
    documented = documented_options()
    assert opts["-l"] == "1-1.4" and opts["-p"] == "2,3" and opts["-n"] == "2109:2817"
    assert opts["-a"] in re.search(r"action to ([a-z/]+)", documented["-a"]).group(1).split("/")  # type: ignore[union-attr]
    assert opts["-a"] == action and "-e" in opts
    if action == "on":  # -r/-w repeat a power off; a power on has none
        assert "-r" not in opts and "-w" not in opts
    else:
        assert opts["-r"] == "2" and opts["-w"] == "100" and "power off" in documented["-r"]
        assert "ms" in documented["-w"]  # the wait is documented in milliseconds, as the rig file gives it
    assert ("-d" in opts) == (action == "cycle")
    if action == "cycle":
        assert opts["-d"] == "1.5" and "sec" in documented["-d"]


def test_command_from_a_rig_file(tmp_path: Path) -> None:
    """The rig file's dock section becomes the uhubctl command line (ports: 2 is short for [2])."""
    rig = tmp_path / "rig.yaml"
    rig.write_text(
        textwrap.dedent(
            """\
            rig:
              kind: emulated
              dock: {kind: uhubctl, location: "2-1", ports: 2, vendor: "0bda", repeat: 3, wait_ms: 400}
            """
        )
    )
    spec, _ = load_rig_spec(rig)
    settings = dock_settings(spec.dock)
    assert settings is not None and settings.hub is not None and settings.clips_while_docked
    assert uhubctl_command(settings.hub, "on") == ["uhubctl", "-l", "2-1", "-p", "2", "-a", "on", "-n", "0bda"]
    assert uhubctl_command(settings.hub, "off") == [
        "uhubctl", "-l", "2-1", "-p", "2", "-a", "off", "-n", "0bda", "-r", "3", "-w", "400",
    ]  # fmt: skip
    assert settings.target == "smart hub 2-1 port 2 (uhubctl)"


@pytest.mark.skipif(
    shutil.which("uhubctl", path=SYSTEM_PATH) is None, reason="uhubctl is not installed (Debian package uhubctl)"
)
def test_installed_uhubctl_accepts_the_command_line() -> None:
    """The real uhubctl parses the command line (a location no machine has: nothing is switched)."""
    hub = HubPort("99-9.9", (2,), vendor="2109", repeat=2, wait_ms=20, exact=True)
    for action in ("on", "off"):
        cmd = [shutil.which("uhubctl", path=SYSTEM_PATH) or "uhubctl", *uhubctl_command(hub, action)[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
        text = (done.stdout + done.stderr).lower()
        # past its option parsing, it looked for the hub at the location given
        assert "invalid option" not in text and "no compatible devices detected at location 99-9.9" in text, text


@pytest.mark.parametrize(
    ("hub", "problem"),
    [
        (dict(location="1-1;rm", ports=(2,)), "USB location"),
        (dict(location="1-1", ports=()), "port numbers"),
        (dict(location="1-1", ports=(0,)), "port numbers"),
        (dict(location="1-1", ports=(1,), vendor="xyz"), "vendor id"),
    ],
)
def test_hub_port_refuses_what_uhubctl_would_misread(hub: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        HubPort(**hub)


STATUS_OFF = """\
Current status for hub 1-1.4 [2109:2817 VIA Labs, Inc. USB2.0 Hub, USB 2.10, 4 ports, ppps]
  Port 2: 0503 power highspeed enable connect [18d1:4ee7 Axon Body 4 X60012345]
Sent power off request
New status for hub 1-1.4 [2109:2817 VIA Labs, Inc. USB2.0 Hub, USB 2.10, 4 ports, ppps]
  Port 2: 0000 off
"""


def test_port_status_after_the_switch_is_read_from_uhubctl_output() -> None:
    assert ports_after(STATUS_OFF) == {2: False}
    assert ports_after("  Port 2: 0100 power\n  Port 3: 0000 off\n") == {2: True, 3: False}


def fake_uhubctl(folder: Path, log: Path, script: str = "") -> Path:
    """A ``uhubctl`` on PATH that appends its arguments to ``log`` and prints the port's new state."""
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / "uhubctl"
    tool.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        + (
            script
            or 'case "$*" in *"-a on"*) state="0503 power";; *) state="0000 off";; esac\n'
            'echo "New status for hub $2 [2109:2817 hub]"\necho "  Port $4: $state"\n'
        )
    )
    tool.chmod(0o755)
    return tool


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def test_uhubctl_dock_switches_the_port_and_reports_when(on_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    fake_uhubctl(on_path, log)
    clock = VirtualClock(start=10.0)
    dock = UhubctlDock(HubPort("1-1.4", (2,), repeat=2), clock, settle_s=3.0)
    docked = dock.dock()
    undocked = dock.undock()
    assert log.read_text().splitlines() == ["-l 1-1.4 -p 2 -a on", "-l 1-1.4 -p 2 -a off -r 2"]
    assert (docked.docked, undocked.docked, dock.docked) == (True, False, False)
    assert docked.t == pytest.approx(10.0) and undocked.t == pytest.approx(13.0)  # settle_s after each switch
    assert docked.method == "uhubctl" and docked.command.endswith("-a on")


def test_uhubctl_dock_fails_clearly(on_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = VirtualClock()
    hub = HubPort("1-1", (3,))
    fake_uhubctl(on_path, tmp_path / "log", 'echo "Permission denied: open /dev/bus/usb" >&2\nexit 1\n')
    with pytest.raises(DockError, match=r"uhubctl -l 1-1 -p 3 -a on failed with exit status 1: Permission.*udev"):
        UhubctlDock(hub, clock).dock()
    fake_uhubctl(on_path, tmp_path / "log", 'echo "New status for hub 1-1"\necho "  Port 3: 0000 off"\n')
    with pytest.raises(DockError, match="port 3 still off"):
        UhubctlDock(hub, clock).dock()
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(DockError, match="not found; install the Debian package uhubctl"):
        UhubctlDock(hub, clock).undock()


# -- relay on the rig controller, through the emulated controller's pty ---------------------------


@pytest.fixture
def relay_bench():
    clock = VirtualClock(start=50.0)
    switched: list[tuple[bool, float]] = []
    emu = EmulatedRigController(
        clock, ("event",), lambda b, d: None, relays={"dock": lambda on: switched.append((on, clock.now()))}
    )
    driver = SerialRigController(emu.url, clock, timeout_s=1.0)
    yield clock, emu, driver, switched
    driver.close()
    emu.close()


def test_relay_dock_through_the_pty(relay_bench) -> None:
    """RELAY dock ON/OFF switches the relay at the controller's stamped instant."""
    clock, emu, driver, switched = relay_bench
    assert driver.relays() == ["dock"]
    dock = RelayDock(driver, clock)
    docked = dock.dock()
    undocked = dock.undock()
    assert [on for on, _ in switched] == [True, False]
    assert docked.t == pytest.approx(switched[0][1], abs=2e-6) and undocked.t == pytest.approx(switched[1][1], abs=2e-6)
    assert docked.command == "RELAY dock ON" and docked.uncertainty_s == pytest.approx(0.0, abs=1e-6)
    assert [(r, on) for _, r, on in emu.relay_edges] == [("dock", True), ("dock", False)]


def test_relay_errors_name_the_relay(relay_bench) -> None:
    clock, _, driver, switched = relay_bench
    with pytest.raises(DockError, match="refused 'RELAY usb ON.*NORELAY usb"):
        RelayDock(driver, clock, relay="usb").dock()
    with pytest.raises(RigControllerError, match="BADARG usage: RELAY"):
        driver._query("RELAY dock HALF", "OK")
    assert not switched


# -- the operator, by hand ---------------------------------------------------------------------


class ScriptedOperator:
    """An operator that takes ``seconds`` of the clock to answer with ``outcome``; keeps what it was asked."""

    def __init__(self, clock: VirtualClock, outcome: str = "confirmed", seconds: float = 4.0) -> None:
        self.clock, self.outcome, self.seconds = clock, outcome, seconds
        self.asked: list[Prompt] = []

    @property
    def name(self) -> str:
        return "alice"

    def ask(self, prompt: Prompt) -> Answer:
        self.asked.append(prompt)
        self.clock.sleep(self.seconds)
        return Answer(self.outcome, "alice", "terminal", "y", waited_s=self.seconds)  # type: ignore[arg-type]


def test_prompt_dock_asks_and_places_the_instant_between_question_and_answer() -> None:
    clock = VirtualClock(start=100.0)
    operator = ScriptedOperator(clock)
    dock = PromptDock(lambda: operator, clock, undock_text="Lift the camera off the dock", timeout_s=60)
    docked = dock.dock()
    undocked = dock.undock()
    assert [(p.key, p.expect, p.timeout_s) for p in operator.asked] == [
        ("dock_camera", "confirm", 60),
        ("undock_camera", "confirm", 60),
    ]
    assert (docked.t, docked.uncertainty_s) == (pytest.approx(102.0), pytest.approx(2.0))
    assert undocked.t == pytest.approx(106.0) and dock.docked is False
    assert undocked.command == "Lift the camera off the dock: confirmed by alice (terminal) after 4.0 s"


def test_prompt_dock_not_done_ends_the_scenario() -> None:
    clock = VirtualClock()
    dock = PromptDock(lambda: ScriptedOperator(clock, "declined"), clock)
    with pytest.raises(PromptUnanswered, match="declined by alice: Put the camera in its dock"):
        dock.dock()
    assert dock.docked is None


def test_hub_status_switches_nothing(on_path: Path, tmp_path: Path) -> None:
    """The rig check's look at the hub: uhubctl without -a, each port's power read from its output."""
    log = tmp_path / "calls.log"
    fake_uhubctl(on_path, log, 'echo "Current status for hub 1-1 [2109:2817]"\necho "  Port 2: 0503 power"\n')
    dock = UhubctlDock(HubPort("1-1", (2,), vendor="2109"), VirtualClock())
    assert dock.status() == {2: True} and dock.docked is None
    assert log.read_text().splitlines() == ["-l 1-1 -p 2 -n 2109"]
    parse_like_uhubctl(["uhubctl", *log.read_text().split()])  # documented options only
    with pytest.raises(DockError, match="shows no port 5 on hub 1-1"):
        UhubctlDock(HubPort("1-1", (5,)), VirtualClock()).status()
