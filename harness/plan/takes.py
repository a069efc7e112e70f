"""The pre-roll take built in code: one activation a chosen time into the buffer, the scenario that
repeatability and uncertainty studies run many times with seeded buffer times."""

from __future__ import annotations

from harness.plan.scenario import Scenario


def preroll_take(take_id: str, title: str, buffer_s: float, record_s: float = 1.0, settle_s: float = 4.0) -> Scenario:
    """Power on, buffer ``buffer_s`` (from the camera's buffering, not from power-on), start, record
    ``record_s``, stop, give the clip ``settle_s`` to be written, power off: one clip whose pre-roll
    is what the buffer held."""
    return Scenario.model_validate(
        {
            "id": take_id,
            "title": title,
            "requirements": ["BWC-PRE-02"],
            "steps": [
                {"power": "on"},
                {"wait": {"seconds": round(buffer_s, 3), "since": "buffering"}},
                {"gesture": "start"},
                {"wait": {"seconds": record_s}},
                {"gesture": "stop"},
                {"wait": {"seconds": settle_s}},
                {"power": "off"},
            ],
            "expect": {"clips": 1, "checks": ["clip_count", "preroll"]},
        }
    )
