"""A camera that shows its storage as a USB mass-storage volume (most generic body cameras).

The volume is found by its file-system label, UUID or the USB serial of its disk
(:mod:`harness.devices.block_devices`), mounted read-only at a mount point the harness owns (or
an existing mount is used as it is), and its clips are read with the defensive folder reader of
:class:`~harness.devices.clip_source.FolderClipSource` (links never followed, partial files
left alone, a clip taken only once it has settled). :meth:`MassStorageClipSource.close`
unmounts what the harness mounted, on every way out (also when the process ends without it).
"""

from __future__ import annotations

import logging
import os
import tempfile
import weakref
from pathlib import Path, PurePosixPath

from harness.core.clock import Clock
from harness.core.evidence import EvidenceFile
from harness.devices.block_devices import BlockDevices, Mounter, Volume, VolumeSelector, is_read_only
from harness.devices.clip_source import (
    ClipSource,
    ClipSourceError,
    DeviceIdentity,
    FolderClipSource,
    Progress,
    WaitOutcome,
    identity_rel,
)
from harness.devices.operator import Prompt
from harness.plan.naming import FileNaming

log = logging.getLogger(__name__)
CONNECT_PROMPT_S = 600.0
FIND_WAIT_S = 10.0  # after the operator connects the camera, how long the volume may take to show up


def _unmount_at_exit(mounter: Mounter, mount_point: Path, made: bool) -> None:
    """Last resort when a source is dropped without :meth:`close` (weakref finalizer)."""
    if mounter.unmount(mount_point) is None and made:
        try:
            mount_point.rmdir()
        except OSError:
            pass


class MassStorageClipSource(ClipSource):
    """Clips from the camera's USB volume, found by label, UUID or USB serial, mounted read-only.

    The volume is attached when the source is made (a missing volume is one clear
    :class:`ClipSourceError`), so the rig knows the camera's USB serial before any scenario.

    With ``connect_on_request`` (a camera that records only while disconnected), the volume is
    given back after that and after every take; before each collection the runner asks the
    operator to connect the camera (:meth:`handover_prompt`), and the volume is then found and
    mounted afresh (it may come back as another device).
    """

    def __init__(
        self,
        selector: VolumeSelector,
        suffix: str = ".mp4",
        subfolder: str | None = None,
        mount_point: Path | None = None,
        settle_s: float = 2.0,
        devices: BlockDevices | None = None,
        mounter: Mounter | None = None,
        connect_on_request: bool = False,
        naming: FileNaming | None = None,
    ) -> None:
        self.selector = selector
        self.naming = naming
        self.on_request = connect_on_request
        # a camera connected only on request also holds files of scenarios whose footage was never
        # collected (a shift judged by the instrument): the run's time code places each file
        self.holds_other_footage = connect_on_request
        self.suffix = suffix
        self.subfolder = (subfolder or "").strip("/")
        self.wanted_mount_point = mount_point
        self.settle_s = settle_s
        self.devices = devices or BlockDevices()
        self.mounter = mounter or Mounter()
        self.volume: Volume | None = None
        self.mount_point: Path | None = None
        self.mounted_here = False  # the harness mounted it (and unmounts it on close)
        self._made_mount_point = False
        self._finalizer: weakref.finalize | None = None
        self._folder: FolderClipSource | None = None
        self.last_wait = WaitOutcome()
        self.known: Volume | None = None  # the volume as last attached (its identity while it is away)
        self._seen: frozenset[str] = frozenset()  # its clips as last seen
        self.attach()
        if self.on_request:
            self._seen = self.snapshot()
            self.release()

    # -- the volume ------------------------------------------------------------------------------
    def attach(self) -> Volume:
        """Find the volume and mount it read-only (or use the mount it already has)."""
        if self.volume is not None:
            return self.volume
        volume = self.devices.find(self.selector)
        if volume.mountpoints:
            mount_point = Path(volume.mountpoints[0])
            self.mounted_here = False
            if not is_read_only(mount_point):
                log.warning(
                    "%s is mounted read-write at %s (not by the harness): clips are only read, "
                    "but mount it read-only to be sure nothing changes the camera's files",
                    volume.path,
                    mount_point,
                )
        else:
            mount_point = self._mount_point()
            try:
                self.mounter.mount(volume, mount_point)
            except ClipSourceError:
                self._drop_mount_point(mount_point)
                raise
            self.mounted_here = True
            self._finalizer = weakref.finalize(
                self, _unmount_at_exit, self.mounter, mount_point, self._made_mount_point
            )
        self.volume, self.mount_point = volume, mount_point
        folder = mount_point / self.subfolder if self.subfolder else mount_point
        self._folder = FolderClipSource(folder, self.suffix, recursive=True, settle_s=self.settle_s)
        self._folder.origin_kind = "mass_storage"
        self._folder.origin_prefix = f"{self.subfolder}/" if self.subfolder else ""
        self._folder.origin_details = tuple(
            (key, value)
            for key, value in (
                ("device", volume.path),
                ("label", volume.label),
                ("uuid", volume.uuid),
                ("usb_serial", volume.usb_serial),
                ("fstype", volume.fstype),
                ("mount_point", str(mount_point)),
                ("mounted_by", "harness (read-only)" if self.mounted_here else "system"),
                ("mount_type", self.mounter.driver if self.mounted_here else ""),
            )
            if value
        )
        log.info("camera volume %s at %s", volume.describe(), mount_point)
        self.known = volume
        return volume

    def _mount_point(self) -> Path:
        """The rig file's mount point (created if absent, must be empty), or a fresh private one."""
        self._made_mount_point = False
        if self.wanted_mount_point is None:
            self._made_mount_point = True
            return Path(tempfile.mkdtemp(prefix="bwc-camera-"))
        mp = self.wanted_mount_point
        if not mp.exists():
            mp.mkdir(parents=True)
            self._made_mount_point = True
        elif not mp.is_dir() or os.path.ismount(mp) or any(mp.iterdir()):
            raise ClipSourceError(f"mount point {mp} is not an empty folder: the camera's volume is mounted on one")
        return mp

    def _drop_mount_point(self, mount_point: Path) -> None:
        if self._made_mount_point:
            try:
                mount_point.rmdir()
            except OSError:
                pass

    def release(self) -> None:
        """Give the volume back (unmount what the harness mounted) so the camera can be disconnected;
        its identity and the clips last seen are kept."""
        self.close()

    def close(self) -> None:
        """Unmount the volume if the harness mounted it; safe to call more than once."""
        if self.mounted_here and self.mount_point is not None:
            if self._finalizer is not None:
                self._finalizer.detach()
            problem = self.mounter.unmount(self.mount_point)
            if problem is not None:
                log.warning("cannot unmount the camera volume at %s: %s", self.mount_point, problem)
            else:
                self._drop_mount_point(self.mount_point)
        self.volume, self.mount_point, self._folder, self.mounted_here = None, None, None, False

    def _source(self) -> FolderClipSource:
        if self._folder is None:
            raise ClipSourceError(f"camera volume with {self.selector.describe()} is not attached (source closed)")
        return self._folder

    # -- the protocol ----------------------------------------------------------------------------
    def describe(self) -> str:
        if self.volume is None and self.known is not None and self.on_request:
            return f"mass storage {self.known.describe()}, connected when the run asks for it"
        if self.volume is None:
            return f"mass storage with {self.selector.describe()} (not attached)"
        return f"mass storage {self.volume.describe()}; clips in {self._source().folder}"

    def handover_prompt(self) -> Prompt | None:
        if not self.on_request:
            return None
        return Prompt(
            f"connect the camera's USB storage ({self.selector.describe()}) to this computer and confirm",
            "confirm",
            CONNECT_PROMPT_S,
            key="camera_connected",
        )

    def _attach_when_there(self, clock: Clock) -> None:
        """Attach the volume, giving it :data:`FIND_WAIT_S` to show up after the operator connected it."""
        deadline = clock.now() + FIND_WAIT_S
        while True:
            try:
                self.attach()
                return
            except ClipSourceError:
                if clock.now() >= deadline:
                    raise
            clock.sleep(0.5)

    def reachable(self) -> bool:
        return not self.on_request  # connected only when the run asks for the clips

    def device_identity(self) -> DeviceIdentity | None:
        """The disk's USB serial; a disk without one (a card reader, many no-name cameras) states
        the unit in the names of the camera's files on it, when they all name the same serial."""
        volume = self.volume or self.known
        if volume is None:
            return None
        if volume.usb_serial:
            return DeviceIdentity(volume.usb_serial, f"USB serial of the disk holding {volume.path}")
        if self.naming is None or "serial" not in self.naming.fields:
            return None
        names = [PurePosixPath(identity_rel(entry)).name for entry in self._seen or self.snapshot()]
        serials = {
            fields.serial
            for name in names
            if name.lower().endswith(self.suffix.lower())
            and (fields := self.naming.parse(name[: -len(self.suffix)])) is not None
            and fields.serial
        }
        if len(serials) != 1:
            if len(serials) > 1:
                log.warning("the files on %s name %d serials (%s): none is the unit's", volume.path, len(serials),
                            ", ".join(sorted(serials)))  # fmt: skip
            return None
        (serial,) = serials
        return DeviceIdentity(serial, f"names of the camera's files on {volume.path} (the disk states no USB serial)")

    def snapshot(self) -> frozenset[str]:
        if self.on_request and self._folder is None:
            return self._seen  # the camera is away: what it held when last connected
        self._seen = self._source().snapshot()
        return self._seen

    def resolve(self, name: str) -> Path:
        return self._source().resolve(name)

    def take_new(self, before: frozenset[str], evidence_dir: Path) -> list[EvidenceFile]:
        source = self._source()
        taken = source.take_new(before, evidence_dir)
        self.last_wait = source.last_wait
        return taken

    def wait_for_new(
        self,
        before: frozenset[str],
        evidence_dir: Path,
        clock: Clock,
        timeout_s: float,
        progress: Progress | None = None,
    ) -> list[EvidenceFile]:
        if not self.on_request:
            source = self._source()
            taken = source.wait_for_new(before, evidence_dir, clock, timeout_s, progress)
            self.last_wait = source.last_wait
            return taken
        try:
            self._attach_when_there(clock)
            source = self._source()
            source.clock = clock
            taken = source.wait_for_new(before, evidence_dir, clock, timeout_s, progress)
            self.last_wait = source.last_wait
            self._seen = source.snapshot()
        finally:
            self.release()
        return taken
