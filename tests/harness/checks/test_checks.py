"""Tests for the checks on synthetic clip analyses: stitching, expected pre-roll, hidden drops, clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from harness.analysis.clip import ClipAnalysis
from harness.checks import (
    CHECKS,
    CheckInput,
    expected_preroll,
    hidden_missing_frames,
    metadata,
    stitch,
)
from harness.core.paths import CAMERAS_DIR
from harness.core.timeline import Action, Timeline
from harness.plan.profile import CameraProfile

PERIOD = 1 / 30
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
EPOCH_TS = EPOCH.timestamp()


@pytest.fixture(scope="module")
def profile():
    return CameraProfile.load(CAMERAS_DIR / "emulated.yaml")


def clip(name, first_ref, last_ref=None, n=30, tags=None, **fields):
    """A decoded clip of n frames at 30 fps from scene time first_ref (last_ref overrides the span end)."""
    ref = [first_ref + k * PERIOD for k in range(n)]
    pts = [k * PERIOD for k in range(n)]
    return ClipAnalysis(
        path=f"/clips/{name}.mp4",
        pts_s=pts,
        ref_s=ref,
        first_ref_s=first_ref,
        last_ref_s=ref[-1] if last_ref is None else last_ref,
        frames=n,
        decoded=n,
        tags=tags or {},
        **fields,
    )


def seg(event, segment):
    return {"comment": json.dumps({"event": event, "segment": segment, "segments": 2})}


def names(recordings):
    return [[c.path.rsplit("/", 1)[-1][:-4] for c in r.clips] for r in recordings]


# --------------------------------------------------------------------------- registry and metadata


def test_registered_checks():
    """Every check the scenarios name is registered and callable."""
    expected = {
        "clip_count",
        "preroll",
        "activation",
        "continuity",
        "segments",
        "stop",
        "clock",
        "av_sync",
        "audio_policy",
    }
    assert expected <= set(CHECKS)
    assert all(callable(CHECKS[n]) for n in expected)


@pytest.mark.parametrize(
    "tags, key, result",
    [
        ({"comment": '{"segment": 2}'}, "comment", {"segment": 2}),
        ({"comment": "not json"}, "comment", None),
        ({"comment": "[1, 2]"}, "comment", None),
        ({}, "comment", None),
        ({"comment": '{"segment": 2}'}, None, None),
    ],
    ids=["json-object", "not-json", "json-list", "absent", "no-key"],
)
def test_metadata_reads_only_json_objects(tags, key, result):
    """metadata() returns the tag's JSON object, and None for anything else."""
    assert metadata(clip("a", 0.0, tags=tags), key) == result


# --------------------------------------------------------------------------- stitch


def test_stitch_joins_segments_of_one_event_by_metadata():
    """Segment 2 joins its event (even far away); segment 1 starts a new event (even when adjacent)."""
    a = clip("a", 10.0, 20.0, tags=seg(1, 1))
    b = clip("b", 20.0 + PERIOD, 30.0, tags=seg(1, 2))
    c = clip("c", 30.1, 40.0, tags=seg(2, 1))  # 0.1 s after b: still a new event
    d = clip("d", 100.0, 110.0, tags=seg(2, 2))  # 60 s after c: still c's event
    assert names(stitch([d, b, c, a], "comment")) == [["a", "b"], ["c", "d"]]


def test_stitch_without_metadata_joins_adjacent_files():
    """Without metadata, files less than 2 s apart are one event, files further apart are two."""
    a = clip("a", 10.0, 20.0)
    b = clip("b", 21.5, 30.0)  # 1.5 s gap: same event
    c = clip("c", 32.5, 40.0)  # 2.5 s gap: new event
    assert names(stitch([c, a, b], None)) == [["a", "b"], ["c"]]
    assert names(stitch([c, a, b], "comment")) == [["a", "b"], ["c"]]  # key given, tag absent


def test_stitch_without_metadata_splits_at_a_file_holding_a_start_gesture():
    """A camera that refills its buffer at a stop and is started again within its buffer length
    writes a clip joining the previous one without a gap; it holds its own start gesture, which a
    file continuing an event (a split at the maximum recording length) never does."""
    a = clip("a", 10.0, 20.0)
    b = clip("b", 20.0 + PERIOD, 30.0)  # event 2: pre-roll back to a's end, started at 23
    c = clip("c", 30.0 + PERIOD, 40.0)  # event 2 continued: no start inside
    assert names(stitch([a, b, c], None, starts=[15.0, 23.0])) == [["a"], ["b", "c"]]
    assert names(stitch([a, b, c], None)) == [["a", "b", "c"]]


def test_stitch_metadata_without_segment_falls_back_to_gaps():
    """A JSON tag lacking 'segment' is judged by the time-code gap."""
    tags = {"comment": json.dumps({"event": 1})}
    a, b, c = clip("a", 10.0, 20.0, tags=tags), clip("b", 21.0, 30.0, tags=tags), clip("c", 40.0, 50.0, tags=tags)
    assert names(stitch([a, b, c], "comment")) == [["a", "b"], ["c"]]


def test_stitch_ignores_unreadable_clips():
    """Clips without a time-code span (unreadable files) are left out and do not split or join events."""
    a = clip("a", 10.0, 20.0)
    broken = ClipAnalysis(path="/clips/broken.mp4", error="truncated")
    half = ClipAnalysis(path="/clips/half.mp4", first_ref_s=20.5, last_ref_s=None)
    b = clip("b", 21.0, 30.0)
    assert names(stitch([broken, a, half, b], None)) == [["a", "b"]]
    assert stitch([broken], None) == []


# --------------------------------------------------------------------------- expected pre-roll


def inp(profile, actions, **update):
    prof = profile.model_copy(update=update) if update else profile
    return CheckInput(prof, Timeline([Action(t, kind, name) for t, kind, name in actions]), [], 1)


def test_expected_preroll_full_buffer(profile):
    """Long after boot the promise is the whole 120 s buffer, and the buffer is full."""
    i = inp(profile, [(0.0, "power", "on")])
    assert expected_preroll(i, 500.0) == (120.0, True)
    assert expected_preroll(i, 128.0) == (120.0, True)  # exactly boot + buffer: full


def test_expected_preroll_early_activation(profile):
    """Activated 42 s after power-on (34 s buffered) the promise is 34 s less half a frame, buffer not full."""
    i = inp(profile, [(10.0, "power", "on")])
    value, full = expected_preroll(i, 52.0)
    assert not full
    assert value == pytest.approx(52.0 - 10.0 - 8.0 - PERIOD / 2, abs=1e-9)
    assert expected_preroll(i, 15.0) == (0.0, False)  # still booting: nothing buffered


def test_expected_preroll_uses_last_power_on(profile):
    """After a power cycle the buffer starts again from the latest power-on."""
    i = inp(profile, [(0.0, "power", "on"), (500.0, "power", "off"), (600.0, "power", "on")])
    value, full = expected_preroll(i, 650.0)
    assert not full and value == pytest.approx(42.0 - PERIOD / 2, abs=1e-9)


@pytest.mark.parametrize(
    "after_stop, post, expected",
    [
        ("refill", 0.0, (40.0 - PERIOD / 2, False)),
        ("refill", 10.0, (30.0 - PERIOD / 2, False)),
        ("continuous", 0.0, (120.0, True)),
    ],
)
def test_expected_preroll_after_a_stop(profile, after_stop, post, expected):
    """A refilling buffer restarts at stop + post-record; a continuous one stays full."""
    actions = [
        (0.0, "power", "on"),
        (200.0, "gesture", "start"),
        (260.0, "gesture", "stop"),
        (300.0, "gesture", "start"),
    ]
    i = inp(profile, actions, buffer_after_stop=after_stop, post_record_s=post)
    value, full = expected_preroll(i, 300.0)
    assert full is expected[1]
    assert value == pytest.approx(expected[0], abs=1e-9)


def test_expected_preroll_refilled_buffer_full_again(profile):
    """Long enough after the stop the refilled buffer is full again."""
    actions = [(0.0, "power", "on"), (200.0, "gesture", "start"), (260.0, "gesture", "stop")]
    assert expected_preroll(inp(profile, actions), 400.0) == (120.0, True)


@pytest.mark.parametrize(
    "first_ref, outcome",
    [(380.0 - 120.0 + 0.01, "pass"), (380.0 - 115.0, "fail")],
    ids=["full-buffer", "five-seconds-short"],
)
def test_preroll_check_against_expectation(profile, first_ref, outcome):
    """preroll passes a clip starting buffer-length before the press, fails one 5 s short."""
    i = CheckInput(
        profile,
        Timeline([Action(0.0, "power", "on"), Action(380.0, "gesture", "start")]),
        [clip("a", first_ref, 400.0)],
        1,
    )
    (m,) = CHECKS["preroll"](i)
    assert m.value == pytest.approx(380.0 - first_ref, abs=1e-9)
    assert m.outcome == outcome


# --------------------------------------------------------------------------- hidden missing frames


def test_hidden_drop_of_five_frames():
    """Regular pts over a 5-frame jump of the time code: 5 hidden missing frames."""
    ref = [100.0 + (k if k < 30 else k + 5) * PERIOD for k in range(60)]
    c = ClipAnalysis(path="x", pts_s=[k * PERIOD for k in range(60)], ref_s=ref)
    assert hidden_missing_frames(c, PERIOD) == 5


def test_hidden_drop_across_unreadable_frames():
    """Unreadable frames around the jump do not change the count."""
    ref: list[float | None] = [100.0 + (k if k < 30 else k + 5) * PERIOD for k in range(60)]
    ref[29] = ref[30] = ref[31] = None
    c = ClipAnalysis(path="x", pts_s=[k * PERIOD for k in range(60)], ref_s=ref)
    assert hidden_missing_frames(c, PERIOD) == 5


def test_honest_gap_is_not_hidden():
    """Pts and time code jumping together (a visible gap) and a repeated frame count as 0 hidden frames."""
    idx = [k if k < 30 else k + 5 for k in range(60)]
    gap = ClipAnalysis(path="x", pts_s=[k * PERIOD for k in idx], ref_s=[100.0 + k * PERIOD for k in idx])
    assert hidden_missing_frames(gap, PERIOD) == 0
    shown = list(range(31)) + [30] + list(range(31, 60))
    dup = ClipAnalysis(path="x", pts_s=[k * PERIOD for k in range(61)], ref_s=[100.0 + k * PERIOD for k in shown])
    assert hidden_missing_frames(dup, PERIOD) == 0


# --------------------------------------------------------------------------- clock


def iso(t: float) -> str:
    return (EPOCH + timedelta(seconds=t)).isoformat(timespec="milliseconds")


def clock_clip(name, first_ref, burned=None, meta=None, container=None, event=1):
    """A clip whose camera states its clock with the given offsets (s) from reference UTC at first_ref."""
    tags = {}
    if meta is not None:
        tags["comment"] = json.dumps({"camera_start_utc": iso(first_ref + meta), "event": event, "segment": 1})
    created = None
    if container is not None:
        created = (EPOCH + timedelta(seconds=first_ref + container)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    c = clip(name, first_ref, tags=tags, creation_time=created)
    if burned is not None:
        c.camera_utc = [(k, EPOCH_TS + c.ref_s[k] + burned) for k in range(0, 30, 3)]
        c.camera_utc[4] = (12, EPOCH_TS + 12345.0)  # one misread: the median ignores it
    return c


def clock_input(profile, clips, starts):
    return CheckInput(
        profile,
        Timeline([Action(t, "gesture", "start") for t in starts]),
        clips,
        len(clips),
        reference_utc=lambda t: EPOCH + timedelta(seconds=t),
    )


def test_clock_offsets_per_source(profile):
    """Each source's offset is measured as constructed; -1.5 s fails from metadata but passes from the container."""
    c = clock_clip("a", 100.0, burned=0.25, meta=-1.5, container=-1.5)
    m = {x.name: x for x in CHECKS["clock"](clock_input(profile, [c], [101.0]))}
    assert set(m) == {f"clock_offset_s[event 1][{s}]" for s in ("burned-in", "metadata", "container")}
    burned, meta, cont = (m[f"clock_offset_s[event 1][{s}]"] for s in ("burned-in", "metadata", "container"))
    assert burned.value == pytest.approx(0.25, abs=1e-5) and burned.outcome == "pass"
    assert meta.value == pytest.approx(-1.5, abs=1e-5) and meta.outcome == "fail"
    assert cont.value == pytest.approx(-1.5, abs=1e-5) and cont.outcome == "pass"  # whole seconds: 1 s extra
    assert (meta.low, meta.high) == (-1.0, 1.0) and (cont.low, cont.high) == (-2.0, 1.0)


def test_container_tolerance_is_only_below(profile):
    """The container's extra second covers truncation (camera behind), not a camera 1.5 s ahead."""
    c = clock_clip("a", 100.0, container=1.5)
    (m,) = CHECKS["clock"](clock_input(profile, [c], [101.0]))
    assert m.name == "clock_offset_s[event 1][container]"
    assert m.value == pytest.approx(1.5, abs=1e-5) and m.outcome == "fail"


def test_clock_without_any_source_is_unmeasured(profile):
    """A camera stating its time nowhere gives one unmeasured, failing offset."""
    c = clip("a", 100.0)
    (m,) = CHECKS["clock"](clock_input(profile, [c], [101.0]))
    assert m.name == "clock_offset_s[event 1]" and m.value is None and m.outcome == "fail"


def test_clock_drift_over_twelve_hours(profile):
    """Offsets 0.1 s and 4.42 s 12 h apart (burned-in preferred over metadata) give 100 ppm: FAIL."""
    t0, t1 = 100.0, 100.0 + 43200.0
    a = clock_clip("a", t0, burned=0.1, meta=0.3, container=0.0, event=1)
    b = clock_clip("b", t1, burned=0.1 + 4.32, meta=0.3, container=0.0, event=2)
    m = {x.name: x for x in CHECKS["clock"](clock_input(profile, [b, a], [t0 + 1.0, t1 + 1.0]))}
    assert m["clock_offset_s[event 1][burned-in]"].value == pytest.approx(0.1, abs=1e-5)
    assert m["clock_offset_s[event 2][burned-in]"].value == pytest.approx(4.42, abs=1e-5)
    drift = m["clock_drift_ppm"]
    assert drift.value == pytest.approx(100.0, abs=0.01)
    assert drift.high == pytest.approx(2.0 / 43200 * 1e6)
    assert drift.outcome == "fail"


def test_clock_drift_within_limit_passes(profile):
    """Offsets 0.1 s and 0.6 s over 12 h (11.6 ppm) pass the 46.3 ppm limit."""
    t0, t1 = 100.0, 100.0 + 43200.0
    clips = [clock_clip("a", t0, meta=0.1, event=1), clock_clip("b", t1, meta=0.6, event=2)]
    m = {x.name: x for x in CHECKS["clock"](clock_input(profile, clips, [t0 + 1.0, t1 + 1.0]))}
    assert m["clock_drift_ppm"].value == pytest.approx(0.5 / 43200 * 1e6, abs=0.01)
    assert m["clock_drift_ppm"].outcome == "pass"


def test_no_drift_over_short_span(profile):
    """Events less than 10 minutes apart give no drift measurement."""
    clips = [clock_clip("a", 100.0, meta=0.1, event=1), clock_clip("b", 600.0, meta=0.6, event=2)]
    names_ = [x.name for x in CHECKS["clock"](clock_input(profile, clips, [101.0, 601.0]))]
    assert "clock_drift_ppm" not in names_


def test_clock_without_reference_utc_raises_for_burned_in(profile):
    """Without the rig's reference UTC the clock check refuses to measure a burned-in clock."""
    i = CheckInput(profile, Timeline([Action(101.0, "gesture", "start")]), [clock_clip("a", 100.0, burned=0.2)], 1)
    with pytest.raises(ValueError, match="reference UTC"):
        CHECKS["clock"](i)


@pytest.mark.parametrize("source", ["meta", "container"])
def test_clock_without_reference_utc_raises_for_metadata_and_container(profile, source):
    """A missing rig reference is a harness error for every source, not a camera failure."""
    i = CheckInput(profile, Timeline([Action(101.0, "gesture", "start")]), [clock_clip("a", 100.0, **{source: 0.2})], 1)
    with pytest.raises(ValueError, match="reference UTC"):
        CHECKS["clock"](i)


# --------------------------------------------------------------------------- limits from the catalogue


def _agency(tmp_path, old: str, new: str):
    """A copy of the built-in catalogue with one figure changed."""
    from harness.core.paths import CATALOGUE
    from harness.plan.requirements import Catalogue

    text = CATALOGUE.read_text()
    assert old in text, old
    path = tmp_path / "my-agency.yaml"
    path.write_text(text.replace(old, new, 1))
    return Catalogue.load(path)


def test_preroll_verdict_follows_the_buffer_the_catalogue_sets(profile, tmp_path):
    """The 120 s camera passes on its own profile's figure; an agency's 60 s buffer fails it, and the
    limit shown is the agency's."""
    timeline = Timeline([Action(0.0, "power", "on"), Action(380.0, "gesture", "start")])
    clips = [clip("a", 380.0 - 120.0 + 0.01, 400.0)]
    (own,) = CHECKS["preroll"](CheckInput(profile, timeline, clips, 1))
    assert own.passed and own.low == pytest.approx(120 - PERIOD)
    agency = _agency(tmp_path, "      # buffer: {value: 120, unit: s}", "      buffer: {value: 1, unit: min}")
    (m,) = CHECKS["preroll"](CheckInput(profile, timeline, clips, 1, catalogue=agency))
    assert m.value == own.value  # the same measured value, judged against another figure
    assert m.outcome == "fail" and m.requirement == "BWC-PRE-01"
    assert (m.low, m.high) == pytest.approx((60 - PERIOD, 60 + PERIOD))
    assert "my-agency.yaml" in m.note


def test_stop_verdict_follows_the_catalogue_slack(profile, tmp_path):
    """stop_lag_s on a synthetic clip: 1.5 s past post-record passes a 2 s slack, fails the built-in 1 s."""
    post = profile.post_record_s
    timeline = Timeline(
        [Action(0.0, "power", "on"), Action(200.0, "gesture", "start"), Action(230.0, "gesture", "stop")]
    )
    clips = [clip("a", 80.0, 230.0 + post + 1.5 - PERIOD)]
    (lag, _) = CHECKS["stop"](CheckInput(profile, timeline, clips, 1))
    assert lag.value == pytest.approx(post + 1.5) and lag.outcome == "fail"
    loose = _agency(tmp_path, "slack: {value: 1, unit: s}", "slack: {value: 2, unit: s}")
    (lag2, _) = CHECKS["stop"](CheckInput(profile, timeline, clips, 1, catalogue=loose))
    assert lag2.value == lag.value and lag2.outcome == "pass" and lag2.high == pytest.approx(post + 2)


def test_measurements_carry_structured_dimensions_and_keep_their_printed_names(profile):
    """The record keeps today's name for readers, with the dimensions beside it; informative values
    are their own kind and never fail."""
    i = CheckInput(
        profile,
        Timeline([Action(0.0, "power", "on"), Action(380.0, "gesture", "start")]),
        [clip("a", 260.01, 400.0, undecodable=3)],
        1,
    )
    by_name = {m.name: m.record() for m in CHECKS["continuity"](i)}
    rec = by_name["join_missing_frames[event 1]"]
    assert rec["quantity"] == "join_missing_frames" and rec["dimensions"] == {"event": 1}
    info = by_name["undecodable_frames[event 1]"]
    assert info["kind"] == "info" and info["outcome"] == "info" and info["low"] is None and info["value"] == 3
    assert info["limits_from"] == "none"


def test_every_declared_measurement_names_a_catalogued_requirement():
    from harness.checks import DECLARED
    from harness.checks.common import builtin_catalogue

    ids = builtin_catalogue().ids
    for family, declared in DECLARED.items():
        for d in declared:
            assert d.requirement in ids, (family, d.quantity)
