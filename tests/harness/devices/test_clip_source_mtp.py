"""MTP clip source: libmtp's tool output parsed as the tools print it, and the source run end to end
against fake ``mtp-*`` tools on PATH that serve recorded output (no MTP device exists here).

What is tested how: the parsers read recorded ``mtp-detect``/``mtp-files``/``mtp-folders`` output
(tests/harness/devices/mtp_output, in libmtp 1.1.x's print format); the source runs the tools as
subprocesses found on PATH (fake scripts that print that output and copy an object for
``mtp-getfile``); the real ``mtp-detect`` of Debian's mtp-tools is run once, when installed, to
show the "no device" path on the real tool.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
from datetime import datetime
from pathlib import Path

import pytest

from harness.core.clock import VirtualClock
from harness.devices.clip_source import ClipSourceError
from harness.devices.clip_source_mtp import (
    MtpClipSource,
    MtpParseError,
    MtpTools,
    parse_detect,
    parse_files,
    parse_folders,
)

OUTPUT = Path(__file__).parent / "mtp_output"
TOOLS = ("mtp-detect", "mtp-files", "mtp-folders", "mtp-getfile")

FAKE_TOOL = """#!{python}
import os, shutil, sys
here = os.environ["BWC_FAKE_MTP"]
name = os.path.basename(sys.argv[0])
with open(os.path.join(here, "calls.log"), "a") as log:
    log.write(" ".join([name] + sys.argv[1:]) + "\\n")
def text(suffix):
    path = os.path.join(here, name + suffix)
    return open(path).read() if os.path.exists(path) else ""
sys.stderr.write(text(".err"))
if name == "mtp-getfile":
    oid, target = sys.argv[1], sys.argv[2]
    print(f"Getting file/track {{oid}} to local file {{target}}")
    src = os.path.join(here, "content", oid)
    if not os.path.exists(src):
        print("\\nError getting file from MTP device.")
        sys.exit(1)
    shutil.copyfile(src, target)
    print()
    sys.exit(0)
sys.stdout.write(text(".txt"))
rc = text(".rc").strip()
sys.exit(int(rc) if rc else 0)
"""


def parse(name: str) -> str:
    return (OUTPUT / name).read_text()


# -- the parsers, on recorded output ------------------------------------------------------------------


def test_detect_reads_the_camera_and_its_serial() -> None:
    (dev,) = parse_detect(parse("mtp-detect.txt"))
    assert (dev.usb_id, dev.bus, dev.dev) == ("2b1f:0e51", 1, 9)
    assert (dev.manufacturer, dev.model, dev.serial, dev.version) == (
        "Bodycam Systems",
        "BC-400",
        "BC400-0071234",
        "2.14.0",
    )
    assert dev.vendor is None  # unknown to libmtp's device table: no vendor name on the raw line


def test_detect_reads_a_known_device_line_and_two_devices() -> None:
    (known,) = parse_detect(parse("mtp-detect-known.txt"))
    assert (known.vendor, known.product, known.usb_id, known.serial) == (
        "GoPro",
        "HERO10 Black",
        "2672:0056",
        "C3441325000000",
    )
    cam, phone = parse_detect(parse("mtp-detect-two.txt"))
    assert cam.serial == "BC400-0071234" and phone.product == "Nexus/Pixel (MTP)" and phone.serial == "28011FDH2000XY"


def test_detect_with_no_device() -> None:
    assert parse_detect("libmtp version: 1.1.20\n\nListing raw device(s)\n   No raw devices found.\n") == []


@pytest.mark.parametrize("name", ["mtp-files.txt", "mtp-files-sn.txt"])
def test_files_lists_ids_sizes_parents_and_storages(name: str) -> None:
    files = {f.object_id: f for f in parse_files(parse(name))}
    clip = files[17]
    assert clip.name == "BC400-0071234_20261205_101500_0001_00.MP4" and clip.size == 52428800
    assert (clip.parent_id, clip.storage_id) == (2, 0x00010001)
    assert files[65600].storage_id == 0x00020001 and files[30].filetype == "Text file"
    if name == "mtp-files-sn.txt":
        assert files[40].size == -1 and "[SN:BC400-0071234]" in clip.device  # an abstract file has no size


def test_a_file_without_a_size_is_named() -> None:
    with pytest.raises(MtpParseError, match="file 5 has no name or size"):
        parse_files("File ID: 5\n   Filename: X.MP4\n   Parent ID: 1\n")
    with pytest.raises(MtpParseError, match="line 4"):
        parse_files(
            "File ID: 5\n   Filename: X.MP4\n   File size 3 (0x0000000000000003) bytes\n   Storage ID: nothex\n"
        )


def test_folders_give_paths_per_storage() -> None:
    tree = parse_folders(parse("mtp-folders.txt"))
    assert tree.path(2) == "DCIM/100BC400" and tree.path(3) == "DCIM/101BC400" and tree.path(4) == "LOG"
    assert tree.path(65538) == "EXPORT/DCIM" and tree.path(0) == "" and tree.path(999) is None
    with pytest.raises(MtpParseError, match="line 2: 'B' is nested below no folder"):
        parse_folders("Storage: x\n5\t    B\n")


# -- the source, through fake tools on PATH -------------------------------------------------------------


@pytest.fixture
def fake_mtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of fake ``mtp-*`` tools first on PATH; returns its data folder (output, content, calls.log)."""
    bin_dir, data = tmp_path / "bin", tmp_path / "mtp"
    bin_dir.mkdir()
    (data / "content").mkdir(parents=True)
    script = FAKE_TOOL.format(python=sys.executable)
    for tool in TOOLS:
        (bin_dir / tool).write_text(script)
        (bin_dir / tool).chmod(0o755)
    for tool, fixture in (
        ("mtp-detect", "mtp-detect.txt"),
        ("mtp-files", "mtp-files.txt"),
        ("mtp-folders", "mtp-folders.txt"),
    ):
        shutil.copy(OUTPUT / fixture, data / f"{tool}.txt")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("BWC_FAKE_MTP", str(data))
    return data


def _objects(data: Path, sizes: dict[int, int]) -> dict[int, bytes]:
    """Content for the listed objects, of the sizes the listing gives (kept small: the listing is edited)."""
    listing = (data / "mtp-files.txt").read_text()
    out = {}
    for oid, size in sizes.items():
        body = bytes([oid % 251]) * size
        (data / "content" / str(oid)).write_bytes(body)
        out[oid] = body
    for big, small in (
        ("52428800 (0x0000000003200000)", "4096 (0x0000000000001000)"),
        ("20971520 (0x0000000001400000)", "2048 (0x0000000000000800)"),
    ):
        listing = listing.replace(big, small)
    (data / "mtp-files.txt").write_text(listing)
    return out


def test_new_clips_of_the_folder_are_copied_with_their_mtp_provenance(fake_mtp: Path, tmp_path: Path) -> None:
    """Clips below DCIM are taken (the XML, the log and the SD card's EXPORT/DCIM are not), hashed, read-only,
    each with device, storage id and object id; the serial is the one mtp-detect states."""
    objects = _objects(fake_mtp, {17: 4096, 21: 2048})
    with MtpClipSource("DCIM", ".mp4", serial="BC400-0071234") as source:
        assert source.device_identity() is not None and source.device_identity().serial == "BC400-0071234"  # type: ignore[union-attr]
        clock = VirtualClock()
        taken = source.wait_for_new(frozenset(), tmp_path / "evidence", clock, timeout_s=5.0)
        assert [e.camera_path for e in taken] == [
            "100BC400/BC400-0071234_20261205_101500_0001_00.MP4",
            "101BC400/BC400-0071234_20261205_102210_0002_00.MP4",
        ]
        for e, oid in zip(taken, (17, 21)):
            assert e.sha256 == hashlib.sha256(objects[oid]).hexdigest() and e.path.read_bytes() == objects[oid]
            assert stat.S_IMODE(e.path.stat().st_mode) == 0o444
            assert e.origin is not None
            rec = e.origin.record()
            assert rec["kind"] == "mtp" and rec["path"] == f"DCIM/{e.camera_path}" and rec["mtp_object_id"] == str(oid)
            assert rec["mtp_storage_id"] == "0x00010001" and rec["mtp_serial"] == "BC400-0071234"
            assert datetime.fromisoformat(rec["taken_utc"]) == clock.utc()  # on the run's clock, after the wait
        before = source.snapshot()
        assert source.take_new(before, tmp_path / "again") == []  # nothing new since
        staging = source._staging
    assert not staging.exists()  # close drops the staged copies
    calls = (fake_mtp / "calls.log").read_text().splitlines()
    assert calls[0] == "mtp-detect" and sum(c.startswith("mtp-getfile") for c in calls) == 2


def test_a_clip_of_the_snapshot_resolves_to_a_staged_copy(fake_mtp: Path) -> None:
    """As a power cut hashes the clips saved so far: the name before an identity's last two ':' resolves."""
    objects = _objects(fake_mtp, {17: 4096, 21: 2048})
    with MtpClipSource("DCIM", ".mp4") as source:
        names = sorted(identity.rsplit(":", 2)[0] for identity in source.snapshot())
        assert names == [
            "100BC400/BC400-0071234_20261205_101500_0001_00.MP4",
            "101BC400/BC400-0071234_20261205_102210_0002_00.MP4",
        ]
        assert source.resolve(names[1]).read_bytes() == objects[21]


def test_a_short_copy_is_not_taken_and_is_named(fake_mtp: Path, tmp_path: Path) -> None:
    _objects(fake_mtp, {17: 4096, 21: 2048})
    (fake_mtp / "content" / "21").write_bytes(b"short")
    source = MtpClipSource("DCIM", ".mp4")
    taken = source.take_new(frozenset(), tmp_path / "evidence")
    assert [e.origin.record()["mtp_object_id"] for e in taken if e.origin] == ["17"]
    (line,) = source.last_wait.untaken
    assert (
        "101BC400/BC400-0071234_20261205_102210_0002_00.MP4" in line
        and "copied 5 bytes of object 21, the device listed 2048" in line
    )
    source.close()


def test_a_clip_the_device_cannot_give_is_named(fake_mtp: Path, tmp_path: Path) -> None:
    _objects(fake_mtp, {17: 4096})  # object 21 has no content: mtp-getfile prints its error
    source = MtpClipSource("DCIM", ".mp4")
    assert len(source.take_new(frozenset(), tmp_path / "evidence")) == 1
    (line,) = source.last_wait.untaken
    assert line.startswith("'101BC400/BC400-0071234_20261205_102210_0002_00.MP4': not taken (mtp-getfile failed")
    assert "Error getting file from MTP device." in line
    source.close()


@pytest.mark.parametrize(
    ("detect", "rc", "err", "expected"),
    [
        (
            "libmtp version: 1.1.20\n\nListing raw device(s)\n   No raw devices found.\n",
            "",
            "",
            "no MTP device is connected",
        ),
        (
            None,
            "",
            "",
            "2 MTP devices are connected (Bodycam Systems BC-400 (2b1f:0e51 @ bus 1, dev 9, SN BC400-0071234); Google Pixel 7",
        ),
        (
            "libmtp version: 1.1.20\n",
            "1",
            "Detect: There has been an error connecting. Exiting\n",
            "mtp-detect failed (exit code 1): Detect: There has been an error connecting. Exiting",
        ),
    ],
)
def test_no_device_two_devices_and_a_tool_error_are_one_line(
    fake_mtp: Path, detect: str | None, rc: str, err: str, expected: str
) -> None:
    if detect is None:
        shutil.copy(OUTPUT / "mtp-detect-two.txt", fake_mtp / "mtp-detect.txt")
    else:
        (fake_mtp / "mtp-detect.txt").write_text(detect)
    (fake_mtp / "mtp-detect.rc").write_text(rc)
    (fake_mtp / "mtp-detect.err").write_text(err)
    with pytest.raises(ClipSourceError) as exc:
        MtpClipSource("DCIM")
    assert expected in str(exc.value) and "\n" not in str(exc.value)


def test_another_device_than_the_rig_file_names_is_refused(fake_mtp: Path) -> None:
    with pytest.raises(ClipSourceError, match="not the camera with serial 'BC400-9999999' the rig file names"):
        MtpClipSource("DCIM", serial="BC400-9999999")


def test_a_device_that_goes_away_during_the_wait_is_reported(fake_mtp: Path, tmp_path: Path) -> None:
    source = MtpClipSource("DCIM", ".mp4")
    (fake_mtp / "mtp-files.txt").write_text("libmtp version: 1.1.20\n\nmtp-files: No Devices have been found\n")
    assert source.wait_for_new(frozenset(), tmp_path / "ev", VirtualClock(), timeout_s=3.0) == []
    assert source.last_wait.untaken == [
        "MTP device: no MTP device is connected (is the camera docked and in MTP mode?)"
    ]
    source.close()


def test_missing_tools_name_the_debian_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ClipSourceError, match=r"mtp-detect is not installed \(Debian package: mtp-tools\)"):
        MtpTools().detect()


@pytest.mark.skipif(shutil.which("mtp-detect") is None, reason="Debian's mtp-tools is not installed")
def test_the_real_mtp_detect_without_a_device() -> None:
    """The installed libmtp tool, with no MTP device on this machine: the source says so in one line."""
    with pytest.raises(ClipSourceError, match="no MTP device is connected"):
        MtpClipSource("DCIM")
