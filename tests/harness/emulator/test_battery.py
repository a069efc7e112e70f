"""The battery model of the emulated simulator: tables, sag under load, exact discharge and crossings."""

from __future__ import annotations

import math

import pytest

from harness.emulator.scpi.battery import (
    LI_ION_4V2,
    TABLE_POINTS,
    BatteryModel,
    BatterySimulator,
    find_model,
)


def test_builtin_model_tables_are_full_and_monotone() -> None:
    m = LI_ION_4V2
    assert len(m.voc) == len(m.resistance) == TABLE_POINTS
    assert m.open_circuit(0.0) == pytest.approx(3.00) and m.open_circuit(1.0) == pytest.approx(4.18)
    assert all(b >= a for a, b in zip(m.voc, m.voc[1:]))
    assert m.open_circuit(0.505) == pytest.approx((m.voc[50] + m.voc[51]) / 2)  # linear between points


@pytest.mark.parametrize(
    ("voc", "res", "message"),
    [
        ((3.0,) * 100, (0.1,) * TABLE_POINTS, "101 points"),
        (tuple(4.0 - i * 0.01 for i in range(TABLE_POINTS)), (0.1,) * TABLE_POINTS, "must not fall"),
        ((3.5,) * TABLE_POINTS, tuple(0.1 + i * 0.001 for i in range(TABLE_POINTS)), "must not rise"),
    ],
)
def test_bad_model_tables_are_refused(voc, res, message) -> None:
    with pytest.raises(ValueError, match=message):
        BatteryModel("bad", 1.0, voc, res)


def test_terminal_voltage_sags_with_load() -> None:
    soc = 0.5
    r = LI_ION_4V2.series_resistance(soc)
    assert LI_ION_4V2.terminal(soc, 0.5) == pytest.approx(LI_ION_4V2.open_circuit(soc) - 0.5 * r)
    assert LI_ION_4V2.terminal(0.0, 100.0) == 0.0  # never negative


def test_discharge_books_charge_at_the_draw_between_settles() -> None:
    """Dynamic: the state of charge falls by amps x seconds / capacity; static: it stays put."""
    sim = BatterySimulator(capacity_ah=2.0, soc=1.0)
    sim.settle(3600.0, 0.5)  # 0.5 Ah of 2 Ah
    assert sim.soc == pytest.approx(0.75) and sim.drawn_ah == pytest.approx(0.5)
    sim.settle(3600.0, 5.0)  # no time passed: nothing drawn
    assert sim.soc == pytest.approx(0.75)
    static = BatterySimulator(dynamic=False, soc=0.3)
    static.settle(7200.0, 1.0)
    assert static.soc == 0.3 and static.drawn_ah == pytest.approx(2.0)


def test_seconds_until_a_voltage_is_exact_for_a_constant_load() -> None:
    """Run down for exactly the predicted time: the terminal voltage lands on the threshold."""
    sim = BatterySimulator(soc=0.06)
    amps, volts = 0.32, 3.30
    left = sim.seconds_until(volts, amps)
    assert 0 < left < math.inf
    sim.settle(left, amps)
    assert sim.terminal_voltage(amps) == pytest.approx(volts, abs=1e-9)
    assert sim.seconds_until(volts, amps) == pytest.approx(0.0, abs=1e-6)


def test_seconds_until_edge_cases() -> None:
    sim = BatterySimulator(soc=0.5)
    assert sim.seconds_until(5.0, 0.3) == 0.0  # already below
    assert sim.seconds_until(3.3, 0.0) == math.inf  # no load, no discharge
    assert sim.seconds_until(2.0, 0.3) == math.inf  # even empty it stays above 2 V
    assert BatterySimulator(soc=0.5, dynamic=False).seconds_until(3.3, 0.3) == math.inf


def test_load_above_the_current_limit_folds_the_output_back() -> None:
    sim = BatterySimulator(current_limit=1.0)
    assert sim.terminal_voltage(0.9) > 3.5
    assert sim.terminal_voltage(1.1) == 0.0 and sim.seconds_until(3.3, 1.1) == 0.0


def test_recall_loads_a_full_model_with_its_capacity() -> None:
    sim = BatterySimulator(soc=0.2, capacity_ah=9.0)
    model = find_model("2")
    assert model is not None
    sim.recall(model, now=12.0)
    assert (sim.model.name, sim.soc, sim.capacity_ah, sim.settled_at) == ("LI-ION4_35", 1.0, 3.0, 12.0)


@pytest.mark.parametrize(
    ("key", "name"), [("1", "LI-ION4_2"), ("li-ion4_2", "LI-ION4_2"), ('"LI-ION4_35"', "LI-ION4_35")]
)
def test_models_are_found_by_slot_or_name(key, name) -> None:
    model = find_model(key)
    assert model is not None and model.name == name


@pytest.mark.parametrize("key", ["9", "0", "NIMH", ""])
def test_empty_slots_and_unknown_names_find_nothing(key) -> None:
    assert find_model(key) is None
