"""The rig controller over RFC 2217 (ser2net on the loopback, as a labgrid exporter serves it) against a direct pty.

A bench shared through labgrid reaches its rig controller through the exporter's ser2net, which
pyserial opens as ``rfc2217://host:port``. This measures what that costs: the round trip of one
``TIME?`` ping (median and p99) and the controller clock-mapping uncertainty the driver reaches
(the bound its fit reports, and its true error against the emulated controller's clock), on a
direct pty and through ser2net started exactly as labgrid's exporter starts it.

Usage: python benchmarks/bench_rfc2217.py [PINGS] [TRIALS]   (needs ser2net: apt-get install ser2net)
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from harness.core.clock import RealClock
from harness.devices.rig_controller import SerialRigController
from harness.emulator.rig_controller import EmulatedRigController

DRIFT_PPM = 150.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_ser2net(path: str, speed: int = 115200, chardelay: bool = True) -> tuple[subprocess.Popen[bytes], str]:
    """ser2net serving ``path`` as RFC 2217, with the configuration labgrid's exporter gives it (ser2net >= 4.2);
    ``chardelay=False`` adds ser2net's option that sends each read at once instead of gathering characters."""
    binary = shutil.which("ser2net") or "/usr/sbin/ser2net"
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "-d",
            "-n",
            "-Y",
            f"connection: &con01#  accepter: telnet(rfc2217,mode=server),tcp,{port}",
            "-Y",
            f"  connector: serialdev(nouucplock=true),{path},{speed}n81,local",
            "-Y",
            "  options:",
            "-Y",
            "    max-connections: 10",
            *([] if chardelay else ["-Y", "    chardelay: false"]),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"rfc2217://127.0.0.1:{port}?ign_set_control"


def pings(driver: SerialRigController, n: int) -> list[float]:
    return [driver.exchange().rtt_s for _ in range(n)]


def sync_trial(
    driver: SerialRigController, emu: EmulatedRigController, syncs: int = 6, gap_s: float = 0.3
) -> tuple[float, float]:
    """The fitted offset's true error and its reported bound after the driver's usual syncs."""
    clock = driver.clock
    driver.samples.clear()
    driver.mapping = None
    for _ in range(syncs):
        clock.sleep(gap_s)
        m = driver.sync(8)
    true_offset = (m.ref_t - emu._boot) * emu._rate / 1e6 - m.ref_t
    return m.offset_s - true_offset, m.uncertainty_s


def measure(
    name: str, url_of: Callable[[EmulatedRigController], tuple[str, Callable[[], None]]], n: int, trials: int
) -> None:
    clock = RealClock()
    emu = EmulatedRigController(clock, ("event",), lambda b, d: None, drift_ppm=DRIFT_PPM, boot_ticks=5_000_000_000)
    url, cleanup = url_of(emu)
    driver = SerialRigController(url, clock, timeout_s=2.0)
    try:
        rtt = sorted(pings(driver, n))
        rows = [sync_trial(driver, emu) for _ in range(trials)]
    finally:
        driver.close()
        cleanup()
        emu.close()
        clock.close()
    p99 = rtt[min(len(rtt) - 1, round(0.99 * (len(rtt) - 1)))]
    print(
        f"{name:<22} ping rtt median {statistics.median(rtt) * 1e3:6.3f} ms  p99 {p99 * 1e3:6.3f} ms  "
        f"max {rtt[-1] * 1e3:6.3f} ms ({n} pings);  clock mapping: median bound "
        f"{statistics.median(r[1] for r in rows) * 1e6:7.1f} us, median |error| "
        f"{statistics.median(abs(r[0]) for r in rows) * 1e6:7.1f} us, "
        f"{sum(abs(e) <= u for e, u in rows)}/{len(rows)} inside the bound"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 5

    def direct(emu: EmulatedRigController) -> tuple[str, Callable[[], None]]:
        return emu.url, lambda: None

    def rfc2217(emu: EmulatedRigController) -> tuple[str, Callable[[], None]]:
        proc, url = start_ser2net(emu.url)

        def stop() -> None:
            proc.terminate()
            proc.wait(5)

        return url, stop

    measure("direct pty", direct, n, trials)
    if shutil.which("ser2net") is None and not shutil.os.path.exists("/usr/sbin/ser2net"):  # type: ignore[attr-defined]
        print("ser2net is not installed (apt-get install ser2net): RFC 2217 not measured")
        return
    measure("RFC 2217 via ser2net", rfc2217, n, trials)

    def rfc2217_no_delay(emu: EmulatedRigController) -> tuple[str, Callable[[], None]]:
        proc, url = start_ser2net(emu.url, chardelay=False)

        def stop() -> None:
            proc.terminate()
            proc.wait(5)

        return url, stop

    measure("  same, chardelay off", rfc2217_no_delay, n, trials)


if __name__ == "__main__":
    main()
