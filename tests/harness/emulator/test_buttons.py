"""The emulated camera's gesture firmware on virtual time: every form of gesture from solenoid
edges, confirmation inside and outside its window, and gestures the camera's state ignores."""

from __future__ import annotations

import pytest

from harness.core.clock import VirtualClock
from harness.emulator.buttons import PRESS_SLACK_S, GestureRecogniser
from harness.plan.profile import Gesture, Press

DOUBLE = Gesture(button="event", presses=2, press_s=0.15, gap_s=0.25)
SINGLE = Gesture(button="event")
HOLD = Gesture(button="event", hold_s=3.0)
CONFIRM = Gesture(sequence=(Press(button="event"), Press(button="event", at_s=2.0)), confirm_within_s=5.0)
ACROSS = Gesture(sequence=(Press(button="power", hold_s=1.0), Press(button="event", at_s=0.5)))
ACROSS_HELD = Gesture(sequence=(Press(button="power"), Press(button="event", at_s=0.5, hold_s=2.0)), acts_on="held")


class Bench:
    """A recogniser for ``gestures`` on a VirtualClock; ``applies`` is the set of gestures the
    camera listens for in its present state (all of them by default)."""

    def __init__(self, **gestures: Gesture) -> None:
        self.clock = VirtualClock()
        self.applying: set[str] = set(gestures)
        self.acted: list[tuple[str, float]] = []
        self.armed: list[tuple[str, float]] = []
        self.lapsed: list[tuple[str, float]] = []
        self.rec = GestureRecogniser(
            gestures,
            self.clock,
            lambda name: name in self.applying,
            lambda name, t: self.acted.append((name, t)),
            on_armed=lambda name, t: self.armed.append((name, t)),
            on_lapsed=lambda name, t: self.lapsed.append((name, t)),
        )

    def press(self, button: str = "event", hold: float = 0.15, then: float = 0.0) -> float:
        """Press ``button`` for ``hold`` s, then wait ``then`` s; returns the down instant."""
        t = self.clock.now()
        self.rec.edge(button, True)
        self.clock.sleep(hold)
        self.rec.edge(button, False)
        self.clock.sleep(then)
        return t

    def make(self, gesture: Gesture) -> None:
        """The gesture as the rig makes it (its presses at their planned times)."""
        start = self.clock.now()
        edges = []
        for p in gesture.presses_made():
            edges += [(start + p.at_s, p.button, True), (start + p.at_s + p.hold_s, p.button, False)]
        for t, button, down in sorted(edges, key=lambda e: (e[0], not e[2])):
            self.clock.sleep_until(t)
            self.rec.edge(button, down)


def test_single_press_acts_going_down() -> None:
    b = Bench(start=SINGLE)
    t = b.press()
    assert b.acted == [("start", t)]


def test_double_press_acts_on_the_second_press() -> None:
    b = Bench(start=DOUBLE)
    b.press(then=0.25)
    second = b.press()
    assert b.acted == [("start", second)]


def test_two_presses_too_far_apart_are_two_first_presses() -> None:
    b = Bench(start=DOUBLE)
    b.press(then=0.25 + PRESS_SLACK_S + 0.2)
    b.press()
    assert b.acted == []
    b.clock.sleep(0.1)
    third = b.press()  # pairs with the second press
    assert b.acted == [("start", third)]


def test_hold_acts_when_the_hold_reaches_its_length() -> None:
    b = Bench(stop=HOLD)
    t = b.press(hold=3.5)
    assert b.acted == [("stop", pytest.approx(t + 3.0))]


def test_hold_released_early_does_nothing() -> None:
    b = Bench(stop=HOLD)
    b.press(hold=2.9, then=1.0)
    assert b.acted == []


def test_confirmation_within_the_window_acts_on_the_confirming_press() -> None:
    b = Bench(stop=CONFIRM)
    first = b.press(then=2.0)
    assert b.armed == [("stop", first)] and b.acted == []
    confirm = b.press(then=6.0)
    assert b.acted == [("stop", confirm)] and b.lapsed == []


def test_confirmation_outside_the_window_lapses_and_rearms() -> None:
    """A second press 6 s after the first (window 5 s): the arm lapsed at 5 s, so the late press
    is a new first press (the camera keeps recording) and only a third one, in time, confirms."""
    b = Bench(stop=CONFIRM)
    first = b.press(then=5.85)
    assert b.lapsed == [("stop", pytest.approx(first + 5.0))] and b.acted == []
    late = b.press(then=1.0)
    assert b.acted == [] and b.armed == [("stop", first), ("stop", late)]
    third = b.press()
    assert b.acted == [("stop", third)]


def test_sequence_across_buttons_acts_on_the_last_press_down() -> None:
    b = Bench(power_off=ACROSS)
    b.make(ACROSS)
    assert b.acted == [("power_off", pytest.approx(0.5))]


def test_sequence_in_the_wrong_order_does_nothing() -> None:
    b = Bench(power_off=ACROSS)
    b.press("event", then=0.3)
    b.press("power", then=2.0)
    assert b.acted == []


def test_sequence_acting_on_held_waits_for_the_hold() -> None:
    b = Bench(power_off=ACROSS_HELD)
    b.make(ACROSS_HELD)
    assert b.acted == [("power_off", pytest.approx(0.5 + 2.0))]
    b2 = Bench(power_off=ACROSS_HELD)
    b2.press("power", then=0.35)
    b2.press("event", hold=1.0, then=3.0)  # released before the hold's 2 s
    assert b2.acted == []


def test_a_gesture_that_does_not_apply_is_ignored() -> None:
    """A camera that is not recording ignores the stop; while recording it ignores the start."""
    b = Bench(start=DOUBLE, stop=HOLD)
    b.applying = {"stop"}  # recording
    b.make(DOUBLE)
    assert b.acted == []
    b.applying = {"start"}  # buffering
    b.clock.sleep(2.0)
    b.press(hold=3.5)
    assert b.acted == []


def test_the_confirming_press_is_not_a_new_gesture() -> None:
    """On a one-button camera (press to start, press twice to stop) the confirming press belongs to
    the stop, even if the camera has already stopped: it does not start a new recording."""
    b = Bench(start=SINGLE, stop=CONFIRM)
    b.applying = {"stop"}
    b.press(then=2.0)
    b.applying = {"start"}  # a camera that stopped at the first press
    b.press()
    assert b.acted == [("stop", pytest.approx(2.15))]


def test_reset_forgets_an_armed_gesture() -> None:
    b = Bench(stop=CONFIRM)
    b.press(then=1.0)
    b.rec.reset()
    b.press(then=10.0)
    assert b.acted == [] and b.lapsed == [("stop", pytest.approx(6.15))]
