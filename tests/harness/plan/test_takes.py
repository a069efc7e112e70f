"""The pre-roll take built in code reads as its test plan: buffer, start, record, stop, settle."""

from __future__ import annotations

from harness.plan.takes import preroll_take


def test_a_take_buffers_from_buffering_then_records_one_clip() -> None:
    take = preroll_take("take-1", "Take", 41.23456, record_s=2.0, settle_s=5.0)
    assert [s.describe() for s in take.steps] == [
        "power on",
        "wait 41.235 s since buffering",
        "gesture start",
        "wait 2 s",
        "gesture stop",
        "wait 5 s",
        "power off",
    ]
    assert take.expect.clips == 1 and take.expect.checks == ["clip_count", "preroll"]
    assert take.requirements == ["BWC-PRE-02"]
