"""The emulated camera's button firmware: it recognises the profile's gestures from solenoid edges.

Every form a profile can write a :class:`~harness.plan.profile.Gesture` in is recognised from
the down and up edges of the camera's buttons, on the camera's clock:

* ``presses`` short presses of one button (1 = press, 2 = double press): the gesture acts on
  the n-th press going down, when each press follows the previous within its press and gap
  time (plus :data:`PRESS_SLACK_S`, a camera is not that strict);
* one press held ``hold_s``: the gesture acts when the hold reaches its length, if the button
  has stayed down since;
* a ``sequence`` of presses across buttons: each press must follow the previous one within
  their planned spacing plus :data:`PRESS_SLACK_S`; the gesture acts on the last press going
  down, or, with ``acts_on: held``, when the last press has been held its ``hold_s``;
* ``confirm_within_s``: the first press of the sequence *arms* the gesture (the camera asks
  for confirmation); the camera acts only if the confirming press comes within the window,
  else the arm lapses and the camera carries on as before (a V300 keeps recording).

A real camera ignores a gesture that means nothing in its present state (start while off, stop
while buffering): ``applies(name)`` says which gestures the camera listens for now, and a
gesture is only followed from a first press made while it applies. A press that continues an
armed or started sequence belongs to that sequence: it does not begin another gesture (the
camera is waiting for the confirmation, not for a new command).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.core.clock import Clock, Timer
from harness.plan.profile import Gesture, Press

#: how much later than planned a press of a gesture may come and still count (a camera is lenient)
PRESS_SLACK_S = 0.35


@dataclass
class _Progress:
    """How far a sequence (or a train of presses) has come: the down instants of its presses so far."""

    downs: list[float] = field(default_factory=list)
    lapse: Timer | None = None


class GestureRecogniser:
    """Turns button edges into gestures for one camera.

    ``on_gesture(name, t)`` is called when a gesture is complete (``t``: the instant the camera
    acts); ``on_armed(name, t)`` when the first press of a gesture with ``confirm_within_s``
    arms it; ``on_lapsed(name, t)`` when an arm runs out without its confirmation.
    """

    def __init__(
        self,
        gestures: dict[str, Gesture],
        clock: Clock,
        applies: Callable[[str], bool],
        on_gesture: Callable[[str, float], None],
        on_armed: Callable[[str, float], None] | None = None,
        on_lapsed: Callable[[str, float], None] | None = None,
    ) -> None:
        self.gestures = gestures
        self.clock = clock
        self.applies = applies
        self.on_gesture = on_gesture
        self.on_armed = on_armed or (lambda _name, _t: None)
        self.on_lapsed = on_lapsed or (lambda _name, _t: None)
        self._down_since: dict[str, float | None] = {}
        self._progress: dict[str, _Progress] = {name: _Progress() for name in gestures}

    def reset(self) -> None:
        """Forget every gesture in progress (the camera was switched off or rebooted)."""
        for name in self._progress:
            self._abandon(name)
        self._down_since.clear()

    def edge(self, button: str, down: bool) -> None:
        """A solenoid edge of ``button``, at the clock's present instant."""
        now = self.clock.now()
        if not down:
            self._down_since[button] = None
            return
        self._down_since[button] = now
        consumed = False
        # presses that continue a gesture already begun come first: they belong to it
        for name, gesture in self.gestures.items():
            if self._progress[name].downs and self._continues(name, gesture, button, now):
                consumed = True
        if consumed:
            return
        # which gestures this press may begin is decided as the press goes down: a press that
        # starts a recording does not also begin a stop made of the same press
        listening = [n for n in self.gestures if self.applies(n) and not self._progress[n].downs]
        for name in listening:
            self._begin(name, self.gestures[name], button, now)

    # -- one gesture
    @staticmethod
    def _presses(gesture: Gesture) -> tuple[Press, ...]:
        """The presses the camera expects; a hold is one press whose hold counts."""
        return gesture.presses_made()

    def _begin(self, name: str, gesture: Gesture, button: str, now: float) -> None:
        presses = self._presses(gesture)
        if presses[0].button != button:
            return
        if gesture.hold_s is not None:
            self.clock.call_at(now + gesture.hold_s, functools.partial(self._held, name, button, now))
            return
        if len(presses) == 1:
            self._last_press(name, gesture, button, now)
            return
        progress = self._progress[name]
        progress.downs = [now]
        if gesture.confirm_within_s is not None:
            self.on_armed(name, now)
            progress.lapse = self.clock.call_at(now + gesture.confirm_within_s, functools.partial(self._lapse, name))
        else:
            progress.lapse = self.clock.call_at(
                now + self._allowed_after(presses, 1), functools.partial(self._lapse, name)
            )

    def _continues(self, name: str, gesture: Gesture, button: str, now: float) -> bool:
        """Whether the down of ``button`` at ``now`` is the next press of gesture ``name`` in progress."""
        progress = self._progress[name]
        presses = self._presses(gesture)
        i = len(progress.downs)
        if i >= len(presses) or presses[i].button != button:
            return False
        if gesture.confirm_within_s is not None:
            in_time = now - progress.downs[0] <= gesture.confirm_within_s
        else:
            in_time = now - progress.downs[-1] <= self._allowed_after(presses, i)
        if not in_time:
            return False
        if progress.lapse is not None:
            progress.lapse.cancel()
            progress.lapse = None
        progress.downs.append(now)
        if i == len(presses) - 1:
            progress.downs = []
            self._last_press(name, gesture, button, now)
        elif gesture.confirm_within_s is None:
            progress.lapse = self.clock.call_at(
                now + self._allowed_after(presses, i + 1), functools.partial(self._lapse, name)
            )
        else:
            first = progress.downs[0]
            progress.lapse = self.clock.call_at(first + gesture.confirm_within_s, functools.partial(self._lapse, name))
        return True

    @staticmethod
    def _allowed_after(presses: tuple[Press, ...], i: int) -> float:
        """Longest time from press i-1 going down to press i going down that still counts."""
        return presses[i].at_s - presses[i - 1].at_s + PRESS_SLACK_S

    def _last_press(self, name: str, gesture: Gesture, button: str, now: float) -> None:
        held = gesture.held_s
        if held is None:
            self.on_gesture(name, now)
        else:
            self.clock.call_at(now + held, functools.partial(self._held, name, button, now))

    def _held(self, name: str, button: str, pressed_at: float) -> None:
        """The hold of ``button`` pressed at ``pressed_at`` reached its length: act if still down."""
        if self._down_since.get(button) == pressed_at:
            self.on_gesture(name, self.clock.now())

    def _lapse(self, name: str) -> None:
        progress = self._progress[name]
        armed = self.gestures[name].confirm_within_s is not None and bool(progress.downs)
        progress.downs = []
        progress.lapse = None
        if armed:
            self.on_lapsed(name, self.clock.now())

    def _abandon(self, name: str) -> None:
        progress = self._progress[name]
        if progress.lapse is not None:
            progress.lapse.cancel()
        progress.downs = []
        progress.lapse = None
