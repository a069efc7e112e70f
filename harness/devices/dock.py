"""Docking the camera under the run's control: the moment footage can leave it, and it stops buffering.

Real cameras hand their footage over while docked (a vendor dock, or a USB cable that makes the
camera a mass-storage volume), and while docked they charge and do not buffer. A scenario that
docks and undocks needs to know *when* that happened, so every way of docking answers with the
instant on the harness clock and how well it is known:

* :class:`UhubctlDock`: the camera's USB port on a smart hub with per-port power switching,
  switched by ``uhubctl`` (Debian package ``uhubctl``). Power on = docked (charging, storage
  visible), power off = undocked. The switch happened while ``uhubctl`` ran, so the instant is the
  middle of that call, within half its length.
* :class:`RelayDock`: a relay on the rig controller that connects the dock's contacts; the
  controller stamps the switching edge on its own clock (``RELAY`` in protocol BWC-RIG/1).
* :class:`PromptDock`: the operator docks the camera by hand when asked and confirms
  (harness/devices/operator.py); the instant is somewhere between the question and the answer.

Either is chosen by the rig file's ``dock:`` section (harness/rig/specs.py).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from harness.core.clock import Clock
from harness.devices.operator import Operator, Prompt, PromptUnanswered
from harness.devices.rig_controller import RigController, RigControllerError

log = logging.getLogger(__name__)

DockMethod = Literal["uhubctl", "relay", "prompt"]
#: uhubctl's actions (``-a``): off, on, or off and on again after ``-d`` seconds
HubAction = Literal["off", "on", "cycle"]


class DockError(RuntimeError):
    """The dock could not be switched (tool missing or refused, relay refused, no answer)."""


@dataclass(frozen=True)
class DockSwitch:
    """One dock or undock as it happened: the instant on the harness clock (within
    ``uncertainty_s``), how it was made, and what was done (command line, relay edge, answer)."""

    docked: bool
    t: float
    uncertainty_s: float
    method: DockMethod
    command: str


class Dock(Protocol):
    """What a scenario's ``dock`` and ``undock`` steps need: switch, and say when it happened."""

    #: the state this dock last put the camera in (None: not switched since it was opened)
    docked: bool | None

    def dock(self) -> DockSwitch:
        """Put the camera in its dock (charging, storage visible, no buffering); returns when done."""

    def undock(self) -> DockSwitch:
        """Take the camera out of its dock (it runs from its battery and buffers again)."""

    def describe(self) -> str:
        """One line for the run record: what docks the camera, and where."""


# -- uhubctl ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubPort:
    """The smart hub port(s) the camera's dock cable is plugged into, as uhubctl selects them.

    ``location`` (``-l``) is the hub's USB location (``1-1.4``, from ``uhubctl`` without options);
    ``ports`` (``-p``) the port numbers on it; ``vendor`` (``-n``) limits the hub by vendor id;
    ``repeat`` (``-r``) repeats the power-off request (some devices need it to turn off) with
    ``wait_ms`` (``-w``) between; ``delay_s`` (``-d``) is the off time of a cycle; ``exact``
    (``-e``) switches only this location (no USB3 duality handling).
    """

    location: str
    ports: tuple[int, ...]
    vendor: str | None = None
    repeat: int | None = None
    wait_ms: int | None = None
    delay_s: float | None = None
    exact: bool = False
    command: str = "uhubctl"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d+(-\d+(\.\d+)*)?", self.location):
            raise ValueError(f"hub location {self.location!r}: expected a USB location such as 1-1.4")
        if not self.ports or any(not 1 <= p <= 255 for p in self.ports):
            raise ValueError(f"hub ports {list(self.ports)}: expected port numbers 1..255")
        if self.vendor is not None and not re.fullmatch(r"[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{0,4})?", self.vendor):
            raise ValueError(f"hub vendor {self.vendor!r}: expected a USB vendor id such as 2109 or 2109:2817")

    def describe(self) -> str:
        ports = ",".join(str(p) for p in self.ports)
        return f"smart hub {self.location} port{'s' if len(self.ports) > 1 else ''} {ports} (uhubctl)"


def uhubctl_command(port: HubPort, action: HubAction) -> list[str]:
    """The uhubctl command line that does ``action`` to ``port`` (options as ``uhubctl -h`` lists
    them: ``-l`` location, ``-p`` ports, ``-a`` action, ``-n`` vendor, ``-r`` repeat of the power
    off, ``-w`` wait before a repeated power off in ms, ``-d`` delay of a cycle in s, ``-e`` exact)."""
    cmd = [port.command, "-l", port.location, "-p", ",".join(str(p) for p in port.ports), "-a", action]
    if port.vendor is not None:
        cmd += ["-n", port.vendor]
    if action != "on" and port.repeat is not None:  # repeats a power off
        cmd += ["-r", str(port.repeat)]
        if port.wait_ms is not None:
            cmd += ["-w", str(port.wait_ms)]
    if action == "cycle" and port.delay_s is not None:
        cmd += ["-d", f"{port.delay_s:g}"]
    if port.exact:
        cmd.append("-e")
    return cmd


def uhubctl_status_command(port: HubPort) -> list[str]:
    """The uhubctl command line that only shows ``port``'s status (no ``-a``: nothing is switched)."""
    cmd = [port.command, "-l", port.location, "-p", ",".join(str(p) for p in port.ports)]
    if port.vendor is not None:
        cmd += ["-n", port.vendor]
    return cmd + (["-e"] if port.exact else [])


#: a port line of uhubctl's status output: "  Port 2: 0000 off" / "  Port 2: 0503 power highspeed ..."
_PORT_LINE = re.compile(r"^\s*Port (\d+): ([0-9a-fA-F]{4})\b(.*)$")


def ports_after(output: str) -> dict[int, bool]:
    """Each port's power in the status uhubctl printed after switching ('New status ...'; without
    one, the last status it printed): port -> powered."""
    text = output.split("New status", 1)[1] if "New status" in output else output
    powered: dict[int, bool] = {}
    for line in text.splitlines():
        m = _PORT_LINE.match(line)
        if m:
            words = m.group(3).split()
            powered[int(m.group(1))] = "off" not in words and ("power" in words or int(m.group(2), 16) != 0)
    return powered


Runner = Callable[[Sequence[str], float], "subprocess.CompletedProcess[str]"]


def _run(cmd: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout_s, check=False)


class UhubctlDock:
    """Docks by switching the camera's hub port on (power and data) and undocks by switching it off."""

    def __init__(
        self, port: HubPort, clock: Clock, settle_s: float = 2.0, timeout_s: float = 20.0, run: Runner = _run
    ) -> None:
        """``settle_s``: wait after the switch for the camera to come up on USB (or to let go of it)."""
        self.port = port
        self.clock = clock
        self.settle_s = settle_s
        self.timeout_s = timeout_s
        self._run = run
        self.docked: bool | None = None

    def describe(self) -> str:
        return self.port.describe()

    def dock(self) -> DockSwitch:
        return self._switch(True)

    def undock(self) -> DockSwitch:
        return self._switch(False)

    def status(self) -> dict[int, bool]:
        """Each of the dock's ports and whether it is powered, as uhubctl shows it (nothing switched)."""
        cmd = uhubctl_status_command(self.port)
        powered = ports_after(self._call(cmd, " ".join(cmd)).stdout or "")
        missing = [p for p in self.port.ports if p not in powered]
        if missing:
            raise DockError(f"dock: {' '.join(cmd)} shows no port {missing[0]} on hub {self.port.location}")
        return {p: powered[p] for p in self.port.ports}

    def _call(self, cmd: list[str], line: str) -> subprocess.CompletedProcess[str]:
        if shutil.which(cmd[0]) is None:
            raise DockError(f"dock: {cmd[0]!r} not found; install the Debian package uhubctl (or set rig dock.command)")
        try:
            done = self._run(cmd, self.timeout_s)
        except subprocess.TimeoutExpired:
            raise DockError(f"dock: {line} did not finish within {self.timeout_s:g} s") from None
        except OSError as exc:
            raise DockError(f"dock: {line} could not be run ({exc})") from None
        if done.returncode != 0:
            why = (done.stderr or done.stdout or "").strip().splitlines()
            hint = " (uhubctl needs root or a udev rule for the hub)" if "ermission" in (done.stderr or "") else ""
            raise DockError(
                f"dock: {line} failed with exit status {done.returncode}: {why[-1] if why else 'no output'}{hint}"
            )
        return done

    def _switch(self, on: bool) -> DockSwitch:
        cmd = uhubctl_command(self.port, "on" if on else "off")
        line = " ".join(cmd)
        t0 = self.clock.now()
        done = self._call(cmd, line)
        t1 = self.clock.now()
        wrong = [p for p, powered in ports_after(done.stdout or "").items() if p in self.port.ports and powered != on]
        if wrong:
            raise DockError(
                f"dock: after {line} uhubctl reports port {wrong[0]} still {'off' if on else 'powered'} "
                "(a hub without per-port power switching, or the wrong location)"
            )
        self.docked = on
        self.clock.sleep(self.settle_s)
        log.info("%s: %s", "docked" if on else "undocked", line)
        return DockSwitch(on, (t0 + t1) / 2, (t1 - t0) / 2, "uhubctl", line)


# -- relay on the rig controller ----------------------------------------------------------------


class RelayDock:
    """Docks by closing a relay of the rig controller that connects the dock's contacts; the
    controller stamps the switching edge, so the instant is as good as a button press's."""

    def __init__(self, controller: RigController, clock: Clock, relay: str = "dock", settle_s: float = 0.0) -> None:
        self.controller = controller
        self.clock = clock
        self.relay = relay
        self.settle_s = settle_s
        self.docked: bool | None = None

    def describe(self) -> str:
        return f"relay {self.relay!r} of the rig controller"

    def dock(self) -> DockSwitch:
        return self._switch(True)

    def undock(self) -> DockSwitch:
        return self._switch(False)

    def _switch(self, on: bool) -> DockSwitch:
        try:
            edge, uncertainty = self.controller.relay(self.relay, on)
        except RigControllerError as exc:
            raise DockError(f"dock: {exc}") from exc
        self.docked = on
        if self.settle_s:
            self.clock.sleep(self.settle_s)
        return DockSwitch(on, edge.t, uncertainty, "relay", f"RELAY {self.relay} {'ON' if on else 'OFF'}")


# -- the operator, by hand ------------------------------------------------------------------------

#: what the operator is asked (the rig file may say it in the lab's own words)
DOCK_TEXT = "Put the camera in its dock (charging, connected), then confirm"
UNDOCK_TEXT = "Take the camera out of its dock, then confirm"
#: the prompt keys: the emulated rig's automatic operator docks its camera by them
DOCK_KEY, UNDOCK_KEY = "dock_camera", "undock_camera"


class PromptDock:
    """Docks by asking the operator to dock (or undock) the camera and confirm. The camera moved
    between the question and the answer: the instant is the middle, within half the wait (a person
    takes seconds, so the check that reads it widens its limit by as much). An answer other than a
    confirmation ends the scenario as an error, as an unanswered ``prompt`` step does."""

    def __init__(
        self,
        operator: Callable[[], Operator],
        clock: Clock,
        dock_text: str = DOCK_TEXT,
        undock_text: str = UNDOCK_TEXT,
        timeout_s: float = 300.0,
        settle_s: float = 0.0,
    ) -> None:
        """``operator`` gives whoever answers the rig's prompts (asked when a dock is needed)."""
        self._operator = operator
        self.clock = clock
        self.texts = {True: dock_text, False: undock_text}
        self.timeout_s = timeout_s
        self.settle_s = settle_s
        self.docked: bool | None = None

    def describe(self) -> str:
        return "the operator, by hand when asked"

    def dock(self) -> DockSwitch:
        return self._switch(True)

    def undock(self) -> DockSwitch:
        return self._switch(False)

    def _switch(self, on: bool) -> DockSwitch:
        prompt = Prompt(self.texts[on], "confirm", self.timeout_s, key=DOCK_KEY if on else UNDOCK_KEY)
        t0 = self.clock.now()
        answer = self._operator().ask(prompt)
        if not answer.ok:
            raise PromptUnanswered(prompt, answer)
        self.clock.sleep(0.0)  # what the answer set in motion happens now (an emulated bench's dock)
        t1 = self.clock.now()
        self.docked = on
        if self.settle_s:
            self.clock.sleep(self.settle_s)
        said = f"{prompt.text}: {answer.outcome} by {answer.by} ({answer.via}) after {answer.waited_s:.1f} s"
        return DockSwitch(on, (t0 + t1) / 2, (t1 - t0) / 2, "prompt", said)
