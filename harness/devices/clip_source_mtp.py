"""A camera that hands its files over by MTP, read through libmtp's command-line tools.

Debian's ``mtp-tools`` (libmtp 1.1.x) prints what the harness needs: ``mtp-detect`` the device's
manufacturer, model and serial number; ``mtp-files`` every file with its object id, size, parent
folder id and storage id; ``mtp-folders`` the folder tree (id, indentation, name) per storage;
``mtp-getfile ID FILE`` copies one object. The parsers here read the tools' output exactly as
they print it, so they are tested against recorded output when no MTP device is attached.

libmtp's tools work on the first device they find: with more than one MTP device attached the
source refuses to guess which is the camera.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.core.clock import Clock
from harness.core.evidence import EvidenceError, EvidenceFile, Provenance, copy_fd, open_below, open_dir, safe_parts
from harness.devices.block_devices import Runner, run_tool
from harness.devices.clip_source import (
    PARTIAL_SUFFIXES,
    POLL_S,
    ClipSource,
    ClipSourceError,
    DeviceIdentity,
    Progress,
    WaitOutcome,
    taken_utc,
)

log = logging.getLogger(__name__)

#: a listing over MTP takes a while: poll no faster than this
MTP_POLL_S = max(POLL_S, 2.0)


@dataclass(frozen=True)
class MtpDevice:
    """One device as ``mtp-detect`` describes it."""

    usb_id: str  # "vvvv:pppp"
    bus: int
    dev: int
    vendor: str | None = None
    product: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    version: str | None = None

    def describe(self) -> str:
        name = " ".join(x for x in (self.manufacturer or self.vendor, self.model or self.product) if x) or self.usb_id
        return f"{name} ({self.usb_id} @ bus {self.bus}, dev {self.dev}" + (
            f", SN {self.serial})" if self.serial else ")"
        )


@dataclass(frozen=True)
class MtpFile:
    """One file as ``mtp-files`` lists it."""

    object_id: int
    name: str
    size: int
    parent_id: int
    storage_id: int
    filetype: str = ""
    device: str = ""  # the device name line it was listed under


@dataclass
class MtpFolders:
    """The folder tree of ``mtp-folders``: folder id -> (parent id, name), per storage."""

    folders: dict[int, tuple[int, str, str]] = field(default_factory=dict)  # id -> (parent, name, storage)

    def path(self, folder_id: int) -> str | None:
        """The '/'-path of a folder from the storage root; None when the id is not a known folder."""
        parts: list[str] = []
        seen: set[int] = set()
        while folder_id in self.folders and folder_id not in seen:
            seen.add(folder_id)
            parent, name, _ = self.folders[folder_id]
            parts.append(name)
            folder_id = parent
        if not parts:
            return "" if folder_id == 0 else None
        return "/".join(reversed(parts))


class MtpParseError(ClipSourceError):
    """A tool printed something the parser does not know: the line is named."""


_DETECT_FOUND = re.compile(
    r"^\s+(?:(?P<vendor>.+?): (?P<product>.+?) )?\(?(?P<id>[0-9a-f]{4}:[0-9a-f]{4})\)? @ bus (?P<bus>\d+), dev (?P<dev>\d+)\s*$"
)


def parse_detect(text: str) -> list[MtpDevice]:
    """Devices of ``mtp-detect`` output: the raw-device lines, then each device's ``Device info`` block."""
    raw: list[MtpDevice] = []
    infos: list[dict[str, str]] = []
    info: dict[str, str] | None = None
    for line in text.splitlines():
        m = _DETECT_FOUND.match(line)
        if m:
            raw.append(MtpDevice(m["id"], int(m["bus"]), int(m["dev"]), vendor=m["vendor"], product=m["product"]))
            continue
        if line.startswith("Device info:"):
            info = {}
            infos.append(info)
            continue
        if info is not None:
            if not line.startswith(" "):
                info = None  # the block ends at the next heading
                continue
            key, sep, value = line.strip().partition(": ")
            if sep and key in ("Manufacturer", "Model", "Serial number", "Device version"):
                info[key] = value.strip()
    out = []
    for i, dev in enumerate(raw):
        got = infos[i] if i < len(infos) else {}
        out.append(
            replace(
                dev,
                manufacturer=got.get("Manufacturer") or None,
                model=got.get("Model") or None,
                serial=got.get("Serial number") or None,
                version=got.get("Device version") or None,
            )
        )
    return out


_FILE_ID = re.compile(r"^File ID: (\d+)$")
_FILE_SIZE = re.compile(r"^\s+File size (\d+)(?: \(0x[0-9A-Fa-f]+\))? bytes$")


@dataclass
class _Block:
    """One ``File ID:`` block of ``mtp-files`` while it is read."""

    object_id: int
    name: str | None = None
    size: int | None = None
    parent_id: int = 0
    storage_id: int = 0
    filetype: str = ""


def parse_files(text: str) -> list[MtpFile]:
    """Files of ``mtp-files`` output (libmtp 1.1.x ``dump_fileinfo`` blocks)."""
    files: list[MtpFile] = []
    cur: _Block | None = None
    device = ""

    def flush(block: _Block | None) -> None:
        if block is None:
            return
        if block.name is None or block.size is None:
            raise MtpParseError(f"mtp-files: file {block.object_id} has no name or size in the listing")
        files.append(
            MtpFile(block.object_id, block.name, block.size, block.parent_id, block.storage_id, block.filetype, device)
        )

    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("Listing File Information on Device with name:"):
            flush(cur)
            cur = None
            device = line.partition(":")[2].strip()
            continue
        m = _FILE_ID.match(line)
        if m:
            flush(cur)
            cur = _Block(int(m.group(1)))
            continue
        if cur is None or not line.startswith("   "):
            continue
        size = _FILE_SIZE.match(line)
        if size:
            cur.size = int(size.group(1))
            continue
        key, sep, value = line.strip().partition(": ")
        if not sep:
            if line.strip().startswith("None. (abstract file"):
                cur.size = -1
            continue
        try:
            if key == "Filename":
                cur.name = value
            elif key == "Parent ID":
                cur.parent_id = int(value)
            elif key == "Storage ID":
                cur.storage_id = int(value, 16)
            elif key == "Filetype":
                cur.filetype = value
        except ValueError:
            raise MtpParseError(f"mtp-files line {n}: cannot read {line.strip()!r}") from None
    flush(cur)
    return files


_FOLDER = re.compile(r"^(\d+)\t( *)(.*)$")


def parse_folders(text: str) -> MtpFolders:
    """The tree of ``mtp-folders`` output: ``ID<TAB>`` then two spaces per level, then the name."""
    tree = MtpFolders()
    storage = ""
    stack: list[int] = []  # folder id at each depth
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("Storage: "):
            storage, stack = line[len("Storage: ") :].strip(), []
            continue
        m = _FOLDER.match(line)
        if not m:
            continue
        indent = len(m.group(2))
        if indent % 2:
            raise MtpParseError(f"mtp-folders line {n}: odd indentation in {line!r}")
        depth = indent // 2
        if depth > len(stack):
            raise MtpParseError(f"mtp-folders line {n}: {m.group(3)!r} is nested below no folder")
        del stack[depth:]
        folder_id = int(m.group(1))
        tree.folders[folder_id] = (stack[-1] if stack else 0, m.group(3), storage)
        stack.append(folder_id)
    return tree


def _tool_error(tool: str, code: int, out: str, err: str) -> str | None:
    """The tool's own complaint, as one line (None: it worked)."""
    text = f"{err}\n{out}"
    for marker in ("No Devices have been found", "no devices found", "No raw devices found", "No devices."):
        if marker in text:
            return "no MTP device is connected (is the camera docked and in MTP mode?)"
    if code != 0:
        lines = [ln.strip() for ln in err.splitlines() if ln.strip()] or [
            ln.strip() for ln in out.splitlines() if ln.strip()
        ]
        return f"{tool} failed (exit code {code}): {lines[-1] if lines else 'no message'}"
    return None


class MtpTools:
    """The libmtp command-line tools, run with a time bound (``runner``: tests record or fake them)."""

    def __init__(self, runner: Runner = run_tool) -> None:
        self.runner = runner

    def _run(self, *args: str) -> str:
        code, out, err = self.runner(list(args))
        problem = _tool_error(args[0], code, out, err)
        if problem is not None:
            raise ClipSourceError(problem)
        return out

    def detect(self) -> list[MtpDevice]:
        return parse_detect(self._run("mtp-detect"))

    def files(self) -> list[MtpFile]:
        return parse_files(self._run("mtp-files"))

    def folders(self) -> MtpFolders:
        return parse_folders(self._run("mtp-folders"))

    def getfile(self, object_id: int, target: Path) -> None:
        out = self._run("mtp-getfile", str(object_id), str(target))
        if "Error getting file" in out or not target.is_file():
            raise EvidenceError(f"mtp-getfile could not copy object {object_id}")


@dataclass(frozen=True)
class _Listed:
    file: MtpFile
    rel: str  # path below the rig file's folder

    @property
    def identity(self) -> str:
        """``rel:size:object``, the shape of every source's identities (the name before the last two ``:``)."""
        return f"{self.rel}:{self.file.size}:{self.file.storage_id:08x}-{self.file.object_id}"


class MtpClipSource(ClipSource):
    """Clips listed and copied over MTP, from one folder of the camera (e.g. ``DCIM``)."""

    def __init__(
        self,
        folder: str = "",
        suffix: str = ".mp4",
        serial: str | None = None,
        settle_s: float = 2.0,
        tools: MtpTools | None = None,
    ) -> None:
        self.folder = folder.strip("/")
        self.suffix = suffix.lower()
        self.serial = serial
        self.settle_s = settle_s
        self.tools = tools or MtpTools()
        self.last_wait = WaitOutcome()
        self.clock: Clock | None = None
        self._staging = Path(tempfile.mkdtemp(prefix="bwc-mtp-"))
        self.device = self._the_device()

    def _the_device(self) -> MtpDevice:
        """The one attached MTP device, checked against the rig file's serial."""
        devices = self.tools.detect()
        if not devices:
            raise ClipSourceError(
                "no MTP device is connected (mtp-detect found none): is the camera docked and in MTP mode?"
            )
        if len(devices) > 1:
            raise ClipSourceError(
                f"{len(devices)} MTP devices are connected ({'; '.join(d.describe() for d in devices)}): "
                "libmtp's tools take the first, so connect only the camera"
            )
        device = devices[0]
        if self.serial is not None and device.serial != self.serial:
            raise ClipSourceError(
                f"the MTP device is {device.describe()}, not the camera with serial {self.serial!r} the rig file names"
            )
        return device

    def describe(self) -> str:
        return f"MTP {self.device.describe()}" + (f" folder {self.folder}" if self.folder else "")

    def device_identity(self) -> DeviceIdentity | None:
        if not self.device.serial:
            return None
        return DeviceIdentity(self.device.serial, "MTP device info (mtp-detect)")

    def close(self) -> None:
        shutil.rmtree(self._staging, ignore_errors=True)

    # -- listing ---------------------------------------------------------------------------------
    def _wanted(self, name: str) -> bool:
        low = name.lower()
        return not name.startswith(".") and low.endswith(self.suffix) and not low.endswith(PARTIAL_SUFFIXES)

    def _list(self) -> list[_Listed]:
        tree = self.tools.folders()
        out = []
        for f in self.tools.files():
            if f.size < 0 or not self._wanted(f.name):
                continue
            where = tree.path(f.parent_id)
            if where is None:
                continue  # a parent that is no folder: not a place a camera keeps clips
            path = f"{where}/{f.name}" if where else f.name
            if self.folder:
                if not path.startswith(self.folder + "/"):
                    continue
                rel = path[len(self.folder) + 1 :]
            else:
                rel = path
            out.append(_Listed(f, rel))
        return sorted(out, key=lambda x: x.rel)

    def snapshot(self) -> frozenset[str]:
        return frozenset(x.identity for x in self._list())

    # -- taking ----------------------------------------------------------------------------------
    def _stage(self, item: _Listed) -> Path:
        """Copy the object to the private staging folder; checks the size the device listed."""
        safe_parts(item.rel)
        target = self._staging / f"{item.file.object_id}.bin"
        target.unlink(missing_ok=True)
        self.tools.getfile(item.file.object_id, target)
        size = target.stat().st_size
        if size != item.file.size:
            raise EvidenceError(
                f"mtp-getfile copied {size} bytes of object {item.file.object_id}, the device listed {item.file.size}"
            )
        return target

    def resolve(self, name: str) -> Path:
        """A staged copy of the clip ``name`` (MTP has no path to open in place)."""
        for item in self._list():
            if item.rel == name:
                return self._stage(item)
        raise EvidenceError(f"refusing clip name {name!r}: the MTP device lists no such clip")

    def _fetch(self, item: _Listed, evidence_dir: Path) -> EvidenceFile:
        staged = self._stage(item)
        root = open_dir(self._staging)
        try:
            fd = open_below(root, [staged.name])
        finally:
            os.close(root)
        try:
            taken = copy_fd(fd, evidence_dir, item.rel, f"mtp:{self.device.describe()}:{item.file.object_id}")
        finally:
            os.close(fd)
            staged.unlink(missing_ok=True)
        path = f"{self.folder}/{item.rel}" if self.folder else item.rel
        details = [
            ("mtp_device", self.device.describe()),
            ("mtp_serial", self.device.serial or ""),
            ("mtp_storage_id", f"0x{item.file.storage_id:08X}"),
            ("mtp_object_id", str(item.file.object_id)),
            ("size", str(item.file.size)),
        ]
        origin = Provenance("mtp", path, taken_utc(self.clock), tuple((k, v) for k, v in details if v))
        return replace(taken, origin=origin)

    def _take(self, items: list[_Listed], evidence_dir: Path, untaken: list[str]) -> list[EvidenceFile]:
        taken = []
        for item in items:
            try:
                taken.append(self._fetch(item, evidence_dir))
            except (EvidenceError, ClipSourceError) as exc:
                line = f"{item.rel!r}: not taken ({exc})"
                log.warning("%s: %s", self.describe(), line)
                untaken.append(line)
        return taken

    def take_new(self, before: frozenset[str], evidence_dir: Path) -> list[EvidenceFile]:
        untaken: list[str] = []
        taken = self._take([x for x in self._list() if x.identity not in before], evidence_dir, untaken)
        self.last_wait = WaitOutcome(untaken=untaken)
        return taken

    def wait_for_new(
        self,
        before: frozenset[str],
        evidence_dir: Path,
        clock: Clock,
        timeout_s: float,
        progress: Progress | None = None,
    ) -> list[EvidenceFile]:
        """List for ``timeout_s`` (a device that is away meanwhile is listed again), then take the
        new clips whose size has stayed the same for ``settle_s``."""
        self.clock = clock
        start = clock.now()
        seen: dict[int, tuple[int, float]] = {}  # object id -> (size, since)
        current: dict[int, _Listed] = {}
        away = ""
        while True:
            now = clock.now()
            try:
                listed = self._list()
                away = ""
            except ClipSourceError as exc:
                listed, away = [], str(exc)
            current = {x.file.object_id: x for x in listed if x.identity not in before}
            for oid, x in current.items():
                if seen.get(oid, (None, 0.0))[0] != x.file.size:
                    seen[oid] = (x.file.size, now)
            writing = sorted(
                current[o].rel for o, (_, since) in seen.items() if o in current and now - since < self.settle_s
            )
            elapsed = now - start
            if progress is not None:
                progress(elapsed, timeout_s, away or f"{len(current) - len(writing)} clip(s) ready")
            if elapsed >= timeout_s and (not writing or elapsed >= 2 * timeout_s):
                break
            clock.sleep(MTP_POLL_S)
        outcome = WaitOutcome(timed_out=bool(writing), waited_s=clock.now() - start, still_writing=writing)
        if away:
            outcome.untaken.append(f"MTP device: {away}")
        ready = [x for x in sorted(current.values(), key=lambda x: x.rel) if x.rel not in writing]
        taken = self._take(ready, evidence_dir, outcome.untaken)
        self.last_wait = outcome
        return taken
