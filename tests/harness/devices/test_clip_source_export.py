"""Vendor export folder: clips taken from the export, checked against the export's hash manifest.

Which clips belong to the run (run id and time in the time code) is decided above the devices
layer; here the source must report exactly what the manifest says about the files it took.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from harness.core.clock import VirtualClock
from harness.devices.clip_source import ClipSourceError
from harness.devices.clip_source_export import (
    HASH_MISMATCH,
    NOT_IN_MANIFEST,
    RENAMED,
    ExportClipSource,
    ExportManifest,
    ManifestError,
    parse_csv,
    parse_sha256sum,
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


CLIPS = {
    "Axon_Body_4_Video_2026-12-05_1015_X60A1234.mp4": b"first event " * 500,
    "Axon_Body_4_Video_2026-12-05_1022_X60A1234.mp4": b"second event " * 400,
    "Axon_Body_4_Video_2026-12-05_1030_X60A1234.mp4": b"third event " * 300,
}


def _export(folder: Path, files: dict[str, bytes], manifest: dict[str, bytes], name: str = "SHA256SUMS.sha256") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    (folder / name).write_text("".join(f"{sha(data)}  {rel}\n" for rel, data in manifest.items()))


def test_renamed_extra_and_missing_files_give_exactly_those_findings(tmp_path: Path) -> None:
    """The manifest lists the run's three clips. In the export one is intact, one was renamed after the
    export, one is missing, and a file of another run (not in the manifest) lies beside them."""
    first, second, third = CLIPS
    other = "Axon_Body_4_Video_2026-11-30_0901_X60A1234.mp4"
    files = {first: CLIPS[first], "renamed_by_operator.mp4": CLIPS[second], other: b"another run"}
    export = tmp_path / "export"
    _export(export, files, CLIPS)
    source = ExportClipSource(export, ".mp4", ExportManifest("*.sha256"))
    taken = source.take_new(frozenset(), tmp_path / "evidence")
    findings = {e.camera_path: e.finding for e in taken}
    assert findings == {
        first: None,
        "renamed_by_operator.mp4": f"{RENAMED}: SHA256SUMS.sha256 line 2 lists it as {second!r}",
        other: f"{NOT_IN_MANIFEST}: SHA256SUMS.sha256 does not list it",
    }
    assert source.last_wait.untaken == [f"{third!r}: listed in SHA256SUMS.sha256 line 3 but not in the export"]
    check = source.last_check
    assert (check.manifest, check.renamed, check.unlisted, check.missing, check.mismatched) == (
        "SHA256SUMS.sha256",
        ["renamed_by_operator.mp4"],
        [other],
        [third],
        [],
    )
    # every taken file says where it came from: the export folder, the manifest and its line
    by_name = {e.camera_path: e.origin.record() for e in taken if e.origin}
    assert by_name[first]["kind"] == "export" and by_name[first]["export_folder"] == str(export)
    assert by_name[first]["manifest"] == "SHA256SUMS.sha256" and by_name[first]["manifest_line"] == "1"
    assert by_name[first]["manifest_entry"] == f"{sha(CLIPS[first])}  {first}"
    assert by_name["renamed_by_operator.mp4"]["manifest_line"] == "2" and "manifest_line" not in by_name[other]
    assert (tmp_path / "evidence" / "SHA256SUMS.sha256").is_file()  # the manifest is kept with the evidence


def test_a_changed_clip_is_a_hash_mismatch(tmp_path: Path) -> None:
    export = tmp_path / "export"
    first = next(iter(CLIPS))
    _export(export, {first: b"edited after the export"}, {first: CLIPS[first]})
    (taken,) = ExportClipSource(export, ".mp4", ExportManifest("*.sha256")).take_new(frozenset(), tmp_path / "ev")
    assert taken.finding == (
        f"{HASH_MISMATCH}: SHA256SUMS.sha256 line 1 gives {sha(CLIPS[first])[:12]}..., "
        f"the file is {sha(b'edited after the export')[:12]}..."
    )


def test_without_a_declared_manifest_nothing_is_checked(tmp_path: Path) -> None:
    export = tmp_path / "export"
    _export(export, CLIPS, {})
    source = ExportClipSource(export, ".mp4")
    taken = source.take_new(frozenset(), tmp_path / "ev")
    assert len(taken) == 3 and all(e.finding is None for e in taken) and source.last_wait.untaken == []


def test_a_declared_manifest_that_is_absent_is_one_line(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "clip.mp4").write_bytes(b"x")
    (export / "link.sha256").symlink_to(tmp_path / "elsewhere.sha256")  # a link is never the manifest
    source = ExportClipSource(export, ".mp4", ExportManifest("*.sha256"))
    (taken,) = source.take_new(frozenset(), tmp_path / "ev")
    assert taken.finding is None
    assert source.last_wait.untaken == [f"no export manifest named '*.sha256' in {export}: clip hashes not verified"]


def test_a_broken_manifest_line_is_named(tmp_path: Path) -> None:
    export = tmp_path / "export"
    _export(export, CLIPS, CLIPS)
    with open(export / "SHA256SUMS.sha256", "a") as fh:
        fh.write("not a hash line\n")
    source = ExportClipSource(export, ".mp4", ExportManifest("*.sha256"))
    source.take_new(frozenset(), tmp_path / "ev")
    assert source.last_wait.untaken == [
        "export manifest SHA256SUMS.sha256: SHA256SUMS.sha256 line 4: not a sha256sum line: 'not a hash line'"
    ]


def test_the_runner_is_asked_for_the_export_then_the_files_are_awaited(tmp_path: Path) -> None:
    """The hook is the runner's way to ask the operator; the export appears while it is asked."""
    export = tmp_path / "export"
    asked: list[str] = []

    def ask(text: str) -> None:
        asked.append(text)
        _export(export, CLIPS, CLIPS)

    source = ExportClipSource(export, ".mp4", ExportManifest("*.sha256"), settle_s=1.0, ask=ask)
    before = source.snapshot()  # the folder does not exist yet
    taken = source.wait_for_new(before, tmp_path / "ev", VirtualClock(), timeout_s=3.0)
    assert asked == [
        f"export this run's events from the evidence system into a folder and enter it (default: {export})"
    ]
    assert len(taken) == 3 and all(e.finding is None for e in taken)


def test_the_folder_the_operator_enters_is_the_one_taken_whole(tmp_path: Path) -> None:
    """A fresh folder per export: every clip in it is a candidate (the old snapshot does not apply)."""
    default, entered = tmp_path / "export", tmp_path / "export-2"
    _export(default, CLIPS, CLIPS)
    _export(entered, CLIPS, CLIPS)
    source = ExportClipSource(default, ".mp4", ExportManifest("*.sha256"), settle_s=0.0, ask=lambda _: entered)
    before = source.snapshot()  # the same names are in the default folder already
    taken = source.wait_for_new(before, tmp_path / "ev", VirtualClock(), timeout_s=1.0)
    assert len(taken) == 3 and all(e.finding is None for e in taken)
    assert all(e.origin is not None and dict(e.origin.details)["export_folder"] == str(entered) for e in taken)
    assert source.describe() == f"vendor export folder {entered}"


def test_sha256sum_forms() -> None:
    h = "ab" * 32
    text = f"# exported 2026-12-05\n{h.upper()} *bin/A.mp4\n{h}  ./B.mp4\n\\{h}  new\\nline.mp4\n\n"
    entries = parse_sha256sum(text, "m")
    assert [(e.name, e.sha256, e.line) for e in entries] == [
        ("bin/A.mp4", h, 2),
        ("B.mp4", h, 3),
        ("new\nline.mp4", h, 4),
    ]


def test_csv_manifest() -> None:
    h = "cd" * 32
    entries = parse_csv(f"Evidence ID,File Name,SHA-256\nX60A1234-1,A.mp4,{h}\n\n", "export.csv")
    assert [(e.name, e.sha256, e.line) for e in entries] == [("A.mp4", h, 2)]
    with pytest.raises(ManifestError, match="export.csv line 1: expected a file name column and a SHA-256 column"):
        parse_csv("Evidence ID,MD5\n", "export.csv")
    with pytest.raises(ManifestError, match="export.csv line 2"):
        parse_csv("name,sha256\nA.mp4,123\n", "export.csv")


def test_an_unknown_manifest_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown manifest format 'md5'; known: csv, sha256sum"):
        ExportManifest("x", "md5")


def test_the_export_prompt_and_the_folder_the_operator_enters(tmp_path: Path) -> None:
    """The runner asks the rig's operator with the source's prompt; a folder that cannot be an export
    is refused in one line, an entered folder is taken whole."""
    default, entered = tmp_path / "export", tmp_path / "entered"
    _export(entered, CLIPS, CLIPS)
    source = ExportClipSource(default, ".mp4", ExportManifest("*.sha256"), settle_s=0.0, folder_check=lambda f: None)
    prompt = source.handover_prompt()
    assert prompt is not None and prompt.key == "export_folder" and prompt.expect == "value"
    assert str(default) in prompt.text and not source.reachable()
    for value, why in (("relative/dir", "not an absolute path"), (str(tmp_path / "none"), "no such folder")):
        with pytest.raises(ClipSourceError) as err:
            source.handed_over(value)
        assert str(err.value) == f"export folder {value!r} entered by the operator: {why}"
    strict = ExportClipSource(default, ".mp4", folder_check=lambda f: "it is a system folder")
    with pytest.raises(ClipSourceError, match="entered by the operator: it is a system folder"):
        strict.handed_over(str(entered))
    source.handed_over(str(entered))
    taken = source.wait_for_new(source.snapshot(), tmp_path / "ev", VirtualClock(), timeout_s=1.0)
    assert len(taken) == 3 and source.describe() == f"vendor export folder {entered}"
