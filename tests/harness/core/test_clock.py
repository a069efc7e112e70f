"""Tests for the injected clocks: virtual time must run timers in order and jump between them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from harness.core.clock import RealClock, VirtualClock

# --------------------------------------------------------------------------- VirtualClock


def test_virtual_timers_run_in_time_order_at_their_due_time():
    """Timers fire sorted by due time (ties in scheduling order) and see now() == their due time."""
    clock = VirtualClock()
    fired = []
    for when, tag in [(3.0, "c"), (1.0, "a"), (2.0, "b1"), (2.0, "b2"), (0.5, "first")]:
        clock.call_at(when, lambda tag=tag: fired.append((tag, clock.now())))
    clock.sleep_until(2.5)
    assert fired == [("first", 0.5), ("a", 1.0), ("b1", 2.0), ("b2", 2.0)]
    assert clock.now() == 2.5
    assert clock.pending() == 1
    clock.sleep(10.0)
    assert fired[-1] == ("c", 3.0)
    assert clock.now() == 12.5


def test_virtual_twelve_hour_shift_fires_every_minute_timer():
    """A 12-hour sleep with a self-rescheduling one-minute timer fires exactly 720 times, at exact times."""
    clock = VirtualClock()
    ticks = []

    def tick():
        ticks.append(clock.now())
        clock.call_later(60.0, tick)

    clock.call_later(60.0, tick)
    clock.sleep(12 * 3600.0)
    assert len(ticks) == 720
    assert ticks[0] == 60.0 and ticks[-1] == 12 * 3600.0
    assert clock.now() == 12 * 3600.0
    assert clock.pending() == 1  # the 721st tick, due after the window


def test_virtual_cancelled_timer_does_not_fire():
    """A cancelled timer is skipped and no longer counted as pending."""
    clock = VirtualClock()
    fired = []
    keep = clock.call_at(1.0, lambda: fired.append("keep"))
    drop = clock.call_at(2.0, lambda: fired.append("drop"))
    drop.cancel()
    assert clock.pending() == 1
    clock.sleep(5.0)
    assert fired == ["keep"]
    assert not keep.cancelled and drop.cancelled
    assert clock.pending() == 0


def test_virtual_timer_in_the_past_runs_at_next_sleep_at_current_time():
    """A timer scheduled before now() runs at the next sleep (even a zero sleep), stamped with now()."""
    clock = VirtualClock(start=10.0)
    seen = []
    clock.call_at(5.0, lambda: seen.append(clock.now()))
    assert seen == []  # not run synchronously by call_at
    clock.sleep_until(10.0)
    assert seen == [10.0]


def test_virtual_sleep_never_moves_time_backwards():
    """Sleeping until an earlier instant leaves now() unchanged."""
    clock = VirtualClock(start=7.0)
    clock.sleep_until(3.0)
    assert clock.now() == 7.0


def test_virtual_timer_scheduled_by_timer_within_window_runs():
    """A callback scheduling a follow-up inside the current sleep window gets it run; one beyond waits."""
    clock = VirtualClock()
    fired = []

    def first():
        fired.append(("first", clock.now()))
        clock.call_later(2.0, lambda: fired.append(("inside", clock.now())))
        clock.call_later(10.0, lambda: fired.append(("beyond", clock.now())))

    clock.call_at(1.0, first)
    clock.sleep_until(5.0)
    assert fired == [("first", 1.0), ("inside", 3.0)]
    assert clock.pending() == 1
    assert clock.now() == 5.0


def test_virtual_call_at_from_other_threads_is_safe():
    """Timers scheduled concurrently from several threads all fire once, in time order."""
    clock = VirtualClock()
    fired = []
    threads_n, per_thread = 8, 250
    barrier = threading.Barrier(threads_n)

    def schedule(k):
        barrier.wait()
        for i in range(per_thread):
            when = 1.0 + i + k / threads_n
            clock.call_at(when, lambda when=when: fired.append(when))

    threads = [threading.Thread(target=schedule, args=(k,)) for k in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert clock.pending() == threads_n * per_thread
    clock.sleep_until(per_thread + 2.0)
    assert len(fired) == threads_n * per_thread
    assert fired == sorted(fired)
    assert len(set(fired)) == len(fired)


def test_virtual_utc_maps_clock_seconds_onto_epoch():
    """utc(t) is the UTC epoch plus t seconds; utc() follows now()."""
    epoch = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    clock = VirtualClock(start=0.0, utc_epoch=epoch)
    assert clock.utc(3600.5) == epoch + timedelta(seconds=3600.5)
    clock.sleep(90.0)
    assert clock.utc() == epoch + timedelta(seconds=90)


def test_virtual_rejects_naive_epoch():
    """A clock needs a timezone-aware UTC epoch."""
    with pytest.raises(ValueError):
        VirtualClock(utc_epoch=datetime(2026, 1, 1))


# --------------------------------------------------------------------------- RealClock


@pytest.fixture
def real_clock():
    clock = RealClock()
    yield clock
    clock.close()


def test_real_call_later_fires_on_time(real_clock):
    """call_later runs the callback on the timer thread, not before its due time."""
    done = threading.Event()
    stamp = []
    due = real_clock.now() + 0.05
    real_clock.call_at(due, lambda: (stamp.append(real_clock.now()), done.set()))
    assert done.wait(5.0)
    assert stamp[0] >= due


def test_real_timers_run_in_time_order_and_cancel(real_clock):
    """Timers scheduled out of order run in due order; a cancelled one never runs."""
    fired = []
    done = threading.Event()
    real_clock.call_later(0.15, lambda: (fired.append("late"), done.set()))
    real_clock.call_later(0.05, lambda: fired.append("early"))
    real_clock.call_later(0.10, lambda: fired.append("cancelled")).cancel()
    assert done.wait(5.0)
    assert fired == ["early", "late"]


def test_real_close_stops_timer_thread():
    """After close() pending timers are dropped and the background thread exits."""
    clock = RealClock()
    fired = threading.Event()
    clock.call_later(0.2, fired.set)
    clock.close()
    clock._thread.join(5.0)
    assert not clock._thread.is_alive()
    assert not fired.wait(0.4)


def test_real_sleep_until_blocks_until_due(real_clock):
    """sleep_until returns only once now() has reached the target."""
    target = real_clock.now() + 0.05
    real_clock.sleep_until(target)
    assert real_clock.now() >= target
