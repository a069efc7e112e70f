"""ISO 2859-1 / ANSI/ASQ Z1.4 single sampling: the shipped tables against published values, the arrows,
100 % inspection, the switching rules, and `bwc lot plan`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.core.config import ConfigError
from harness.fleet.sampling import (
    SEVERITIES,
    TABLES_FILE,
    LotDecision,
    SamplingError,
    SamplingTables,
    Switching,
    decide,
    run_lots,
    standard_tables,
)

REPO = Path(__file__).resolve().parents[3]
LETTERS = ["A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "Q", "R"]


@pytest.fixture(scope="module")
def t() -> SamplingTables:
    return standard_tables()


# --- Table I ------------------------------------------------------------------------------------

LEVEL_II_BOUNDARIES = [
    (2, "A"),
    (8, "A"),
    (9, "B"),
    (15, "B"),
    (16, "C"),
    (25, "C"),
    (26, "D"),
    (50, "D"),
    (51, "E"),
    (90, "E"),
    (91, "F"),
    (150, "F"),
    (151, "G"),
    (280, "G"),
    (281, "H"),
    (500, "H"),
    (501, "J"),
    (1200, "J"),
    (1201, "K"),
    (3200, "K"),
    (3201, "L"),
    (10000, "L"),
    (10001, "M"),
    (35000, "M"),
    (35001, "N"),
    (150000, "N"),
    (150001, "P"),
    (500000, "P"),
    (500001, "Q"),
    (10_000_000, "Q"),
]


@pytest.mark.parametrize(("lot", "letter"), LEVEL_II_BOUNDARIES)
def test_code_letter_level_ii_boundaries(t: SamplingTables, lot: int, letter: str) -> None:
    assert t.code_letter(lot, "II") == letter


# Published Table I rows: lot size -> S-1, S-2, S-3, S-4, I, II, III
TABLE_I_ROWS = {
    8: "A A A A A A B",
    15: "A A A A A B C",
    25: "A A B B B C D",
    50: "A B B C C D E",
    90: "B B C C C E F",
    150: "B B C D D F G",
    280: "B C D E E G H",
    500: "B C D E F H J",
    1200: "C C E F G J K",
    3200: "C D E G H K L",
    10000: "C D F G J L M",
    35000: "C D F H K M N",
    150000: "D E G J L N P",
    500000: "D E G J M P Q",
    500001: "D E H K N Q R",
}


@pytest.mark.parametrize("lot", sorted(TABLE_I_ROWS))
def test_code_letter_every_level(t: SamplingTables, lot: int) -> None:
    levels = ["S-1", "S-2", "S-3", "S-4", "I", "II", "III"]
    assert " ".join(t.code_letter(lot, lv) for lv in levels) == TABLE_I_ROWS[lot]


def test_code_letter_refuses_unknown_level_and_tiny_lot(t: SamplingTables) -> None:
    with pytest.raises(SamplingError, match="inspection level 'IV'"):
        t.code_letter(100, "IV")
    with pytest.raises(SamplingError, match="lot size 1 is below"):
        t.code_letter(1, "II")


# --- master tables: sample sizes and cells ------------------------------------------------------


def test_sample_sizes(t: SamplingTables) -> None:
    normal = [2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000]
    reduced = [2, 2, 2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800]
    assert [t.sample_size("normal", x) for x in LETTERS] == normal
    assert [t.sample_size("tightened", x) for x in LETTERS] == normal
    assert t.sample_size("tightened", "S") == 3150
    assert [t.sample_size("reduced", x) for x in LETTERS] == reduced


def test_aql_columns_are_the_standards(t: SamplingTables) -> None:
    assert t.aqls == [
        "0.010",
        "0.015",
        "0.025",
        "0.040",
        "0.065",
        "0.10",
        "0.15",
        "0.25",
        "0.40",
        "0.65",
        "1.0",
        "1.5",
        "2.5",
        "4.0",
        "6.5",
        "10",
        "15",
        "25",
        "40",
        "65",
        "100",
        "150",
        "250",
        "400",
        "650",
        "1000",
    ]
    assert t.aql_column("1") == "1.0" and t.aql_column(0.01) == "0.010" and t.aql_column("10.0") == "10"
    for bad in ("0.7", "2", "-1", "abc", "nan", ""):
        with pytest.raises(SamplingError, match="not one of the standard's values"):
            t.aql_column(bad)


# (severity, code letter, AQL) -> cell as printed in Tables II-A, II-B, II-C
PUBLISHED_CELLS = [
    ("normal", "J", "1.0", "2/3"),
    ("normal", "J", "0.65", "1/2"),
    ("normal", "J", "2.5", "5/6"),
    ("normal", "J", "0.15", "0/1"),
    ("normal", "J", "0.25", "^"),
    ("normal", "J", "0.40", "v"),
    ("normal", "K", "2.5", "7/8"),
    ("normal", "K", "0.65", "2/3"),
    ("normal", "K", "10", "21/22"),
    ("normal", "K", "15", "^"),
    ("normal", "L", "1.0", "5/6"),
    ("normal", "M", "2.5", "14/15"),
    ("normal", "N", "1.0", "10/11"),
    ("normal", "Q", "0.010", "0/1"),
    ("normal", "Q", "1.0", "21/22"),
    ("normal", "Q", "1.5", "^"),
    ("normal", "A", "6.5", "0/1"),
    ("normal", "A", "1000", "30/31"),
    ("normal", "B", "1000", "44/45"),
    ("normal", "G", "2.5", "2/3"),
    ("normal", "H", "2.5", "3/4"),
    ("normal", "D", "2.5", "^"),
    ("normal", "E", "2.5", "v"),
    ("normal", "F", "2.5", "1/2"),
    ("tightened", "J", "1.0", "1/2"),
    ("tightened", "J", "0.65", "v"),
    ("tightened", "J", "0.25", "0/1"),
    ("tightened", "J", "4.0", "5/6"),
    ("tightened", "J", "6.5", "8/9"),
    ("tightened", "K", "0.65", "1/2"),
    ("tightened", "K", "10", "18/19"),
    ("tightened", "K", "15", "^"),
    ("tightened", "G", "0.65", "0/1"),
    ("tightened", "F", "1.0", "0/1"),
    ("tightened", "A", "1000", "27/28"),
    ("tightened", "B", "1000", "41/42"),
    ("reduced", "J", "1.0", "1/3"),
    ("reduced", "J", "2.5", "2/5"),
    ("reduced", "J", "0.65", "0/2"),
    ("reduced", "J", "0.15", "0/1"),
    ("reduced", "K", "2.5", "3/6"),
    ("reduced", "L", "2.5", "5/8"),
    ("reduced", "M", "2.5", "7/10"),
    ("reduced", "N", "2.5", "10/13"),
    ("reduced", "H", "2.5", "1/4"),
]


@pytest.mark.parametrize(("severity", "letter", "aql", "cell"), PUBLISHED_CELLS)
def test_published_cells(t: SamplingTables, severity: str, letter: str, aql: str, cell: str) -> None:
    assert t.cell(severity, letter, aql) == cell  # type: ignore[arg-type]


def _ac(cell: str) -> int | None:
    return int(cell.split("/")[0]) if "/" in cell else None


@pytest.mark.parametrize("severity", SEVERITIES)
def test_tables_are_monotone(t: SamplingTables, severity: str) -> None:
    """A transcription slip shows up as an Ac that falls along a row or down a column."""
    rows = [x for x in [*LETTERS, "S"] if x in t._cells[severity]]  # type: ignore[index]
    for letter in LETTERS:
        cells = [t.cell(severity, letter, q) for q in t.aqls]  # type: ignore[arg-type]
        pairs = [tuple(int(x) for x in c.split("/")) for c in cells if "/" in c]
        assert pairs == sorted(set(pairs)), (severity, letter, pairs)  # (Ac, Re) strictly grows along a row
    for q in t.aqls:
        acs = [a for a in (_ac(t.cell(severity, x, q)) for x in rows) if a is not None]  # type: ignore[arg-type]
        assert acs == sorted(acs), (severity, q, acs)


def test_normal_ac_re_series_and_zero_diagonal(t: SamplingTables) -> None:
    """Normal plans use Re = Ac + 1 from the published series; each row's 0/1 sits one AQL step left of the row above."""
    series = {"0/1", "1/2", "2/3", "3/4", "5/6", "7/8", "10/11", "14/15", "21/22", "30/31", "44/45"}
    for letter in LETTERS:
        cells = [t.cell("normal", letter, q) for q in t.aqls]
        assert {c for c in cells if "/" in c} <= series
    zero = [t.aqls.index(q) for x in LETTERS[:-1] for q in t.aqls if t.cell("normal", x, q) == "0/1"]
    assert zero == list(range(14, -1, -1))  # A at 6.5 ... Q at 0.010


def test_every_cell_leads_to_a_plan_or_a_named_gap(t: SamplingTables) -> None:
    """Arrows always end on a plan, except the first row's up arrow at AQL 10 (listed as unverified)."""
    off_table = []
    for severity in SEVERITIES:
        for letter in t._letters[severity]:
            for q in t.aqls:
                try:
                    t.resolve(severity, letter, q)
                except SamplingError:
                    off_table.append((severity, letter, q))
    assert off_table == [("normal", "A", "10"), ("reduced", "A", "10")]


# --- plans (arrows followed, 100 % inspection) --------------------------------------------------

# lot, AQL, level, severity -> code letter, sample size, Ac, Re
WELL_KNOWN_PLANS = [
    (1200, "1.0", "II", "normal", "J", 80, 2, 3),
    (1200, "1.0", "II", "tightened", "J", 80, 1, 2),
    (1200, "1.0", "II", "reduced", "J", 32, 1, 3),
    (1200, "2.5", "II", "normal", "J", 80, 5, 6),
    (1200, "4.0", "II", "normal", "J", 80, 7, 8),
    (3000, "2.5", "II", "normal", "K", 125, 7, 8),
    (5000, "1.5", "II", "normal", "L", 200, 7, 8),
    (1200, "0.065", "II", "normal", "L", 200, 0, 1),  # J is an arrow down, K too: L, 200 units
    (1200, "0.25", "II", "normal", "H", 50, 0, 1),  # J is an arrow up: H, 50 units
    (1200, "0.40", "II", "normal", "K", 125, 1, 2),  # J is an arrow down: K, 125 units
    (1200, "0.65", "II", "tightened", "K", 125, 1, 2),  # tightened J is an arrow down
    (60, "2.5", "II", "normal", "F", 20, 1, 2),  # E is an arrow down
    (40, "2.5", "II", "normal", "C", 5, 0, 1),  # D is an arrow up
    (1200, "1.0", "I", "normal", "H", 50, 1, 2),  # G is an arrow down
    (1200, "1.0", "III", "normal", "K", 125, 3, 4),
    (1200, "1.0", "S-4", "normal", "E", 13, 0, 1),  # F is an arrow up
]


@pytest.mark.parametrize(("lot", "aql", "level", "severity", "code", "n", "ac", "re"), WELL_KNOWN_PLANS)
def test_well_known_plans(
    t: SamplingTables, lot: int, aql: str, level: str, severity: str, code: str, n: int, ac: int, re: int
) -> None:
    plan = t.plan(lot, aql, level, severity)  # type: ignore[arg-type]
    assert (plan.code_letter, plan.sample_size, plan.ac, plan.re) == (code, n, ac, re)
    assert plan.table_letter == t.code_letter(lot, level)
    assert not plan.hundred_percent and plan.units == n


def test_hundred_percent_when_sample_covers_the_lot(t: SamplingTables) -> None:
    plan = t.plan(10, "0.065")  # B, arrows down to L: 200 units from a lot of 10
    assert (plan.table_letter, plan.code_letter, plan.sample_size) == ("B", "L", 200)
    assert plan.hundred_percent and plan.units == 10 and plan.as_dict()["units_to_test"] == 10
    exact = t.plan(13, "1.0", "III")  # C at 1.0 goes down to E: 13 units for a lot of 13
    assert exact.sample_size == 13 and exact.hundred_percent
    assert not t.plan(14, "1.0", "III").hundred_percent


def test_arrow_off_the_table_is_a_clear_error(t: SamplingTables) -> None:
    with pytest.raises(SamplingError, match=r"no normal plan for code letter A at AQL 10: .* above the first row"):
        t.plan(5, "10")


def test_unverified_cells_are_reported_with_the_plan(t: SamplingTables) -> None:
    plan = t.plan(600000, "0.015", "II", "tightened")  # Q: 0/1 at 0.015, verified
    assert plan.unverified == ()
    corner = t.plan(600000, "0.015", "III", "tightened")  # R at 0.015: down to row S
    assert corner.code_letter == "S" and corner.sample_size == 3150
    assert any("S at AQL 0.015" in note for note in corner.unverified)


# --- the tables file is validated ----------------------------------------------------------------


def _broken_copy(tmp_path: Path, change: Callable[[dict], object]) -> Path:
    data = yaml.safe_load(TABLES_FILE.read_text())
    change(data)
    path = tmp_path / "tables.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["tables"]["normal"]["rows"].update(J="0/1 ^"),
            r"tables\.normal\.rows\.J: 2 cells for 26 AQL columns",
        ),
        (
            lambda d: d["tables"]["reduced"]["rows"].update(
                K=d["tables"]["reduced"]["rows"]["K"].replace("3/6", "3-6")
            ),
            r"tables\.reduced\.rows\.K at AQL 2\.5: '3-6'",
        ),
        (
            lambda d: d["tables"]["tightened"]["rows"].update(
                J=d["tables"]["tightened"]["rows"]["J"].replace("1/2", "2/2")
            ),
            r"Ac must be below Re \(2/2\)",
        ),
        (lambda d: d["code_letters"][3].update({"from": 27}), r"code_letters#4: lot sizes must continue at 26"),
        (lambda d: d["code_letters"][0].update(letters=["A"]), r"code_letters#1\.letters: 1 letters for 7 levels"),
        (lambda d: d["aql"].__setitem__(1, "0.7x"), r"aql: .*positive numbers"),
        (lambda d: d["tables"].pop("reduced"), r"missing master table\(s\) \['reduced'\]"),
        (lambda d: d["tables"]["normal"]["sample_sizes"].update(J=0), r"sample sizes must be positive"),
    ],
)
def test_bad_tables_file_names_file_and_field(tmp_path: Path, change: Callable[[dict], object], message: str) -> None:
    path = _broken_copy(tmp_path, change)
    with pytest.raises(ConfigError, match=message) as err:
        SamplingTables.load(path)
    assert str(err.value).startswith(str(path))


# --- decisions and switching rules -------------------------------------------------------------


def test_decide_with_the_reduced_gap(t: SamplingTables) -> None:
    normal = t.plan(1200, "1.0")
    assert decide(normal, 2) == LotDecision(True) and decide(normal, 3) == LotDecision(False)
    reduced = t.plan(1200, "1.0", severity="reduced")  # 32 units, Ac 1, Re 3
    assert decide(reduced, 1) == LotDecision(True)
    assert decide(reduced, 2) == LotDecision(True, reinstate_normal=True)
    assert decide(reduced, 3) == LotDecision(False)
    with pytest.raises(SamplingError):
        decide(normal, -1)


def _feed(state: Switching, results: list[bool], **kw: object) -> Switching:
    for ok in results:
        state = state.after(
            LotDecision(ok),
            nonconforming=0 if ok else 9,
            ac=kw.get("ac", 2),  # type: ignore[arg-type]
            ac_tighter=kw.get("ac_tighter", 1),
        )  # type: ignore[arg-type]
    return state


def test_normal_to_tightened_two_of_five() -> None:
    assert _feed(Switching(), [True, False, True, True, False]).severity == "tightened"  # 2 of 5
    assert _feed(Switching(), [False, False]).severity == "tightened"  # 2 of 2
    assert _feed(Switching(), [False, True, True, True, True, False]).severity == "normal"  # 6 lots apart
    assert _feed(Switching(), [True, False, True, True, True, True, False]).severity == "normal"


def test_tightened_back_to_normal_after_five_accepted() -> None:
    tightened = _feed(Switching(), [False, False])
    assert _feed(tightened, [True] * 4).severity == "tightened"
    back = _feed(tightened, [True] * 5)
    assert back.severity == "normal" and back.score == 0 and back.recent == ()
    assert _feed(tightened, [True, True, True, False, True, True, True, True]).severity == "tightened"
    assert _feed(tightened, [True, True, True, False, True, True, True, True, True]).severity == "normal"


def test_discontinue_after_five_lots_not_accepted_on_tightened() -> None:
    tightened = _feed(Switching(), [False, False])
    state = _feed(tightened, [False, True, False, True, False, True, False])
    assert state.severity == "tightened" and not state.discontinued and state.rejected_on_tightened == 4
    state = _feed(state, [False])
    assert state.discontinued and "discontinued" in state.reason
    with pytest.raises(SamplingError, match="discontinued"):
        _feed(state, [True])
    resumed = state.resume()
    assert resumed.severity == "tightened" and not resumed.discontinued and resumed.rejected_on_tightened == 0


def test_switching_score_with_ac_two_or_more(t: SamplingTables) -> None:
    """J at AQL 1.0: Ac 2; one step tighter (0.65) Ac 1. 0 or 1 nonconforming: +3; 2: accepted, score reset."""
    plan = t.plan(1200, "1.0")
    assert t.ac_one_step_tighter(plan) == 1

    def lot(state: Switching, d: int, approved: bool = True, steady: bool = True) -> Switching:
        return state.after(
            decide(plan, d),
            nonconforming=d,
            ac=plan.ac,
            ac_tighter=t.ac_one_step_tighter(plan),
            production_steady=steady,
            reduced_approved=approved,
        )

    s = Switching()
    for _ in range(9):
        s = lot(s, 1)
    assert (s.severity, s.score) == ("normal", 27)
    assert lot(s, 2).score == 0  # accepted, but not at the tighter AQL
    assert lot(s, 0).severity == "reduced"  # 30
    not_approved = lot(s, 0, approved=False)
    assert (not_approved.severity, not_approved.score) == ("normal", 30)
    assert lot(not_approved, 0, steady=False).severity == "normal"
    assert lot(not_approved, 1).severity == "reduced"


def test_switching_score_with_ac_zero_or_one(t: SamplingTables) -> None:
    """L 0/1 (lot 1200, AQL 0.065): +2 for each accepted lot, reset when one is not; 15 lots reach 30."""
    results = run_lots(t, 1200, "0.065", [0] * 14, reduced_approved=True)
    assert results[-1][2].severity == "normal" and results[-1][2].score == 28
    results = run_lots(t, 1200, "0.065", [0] * 15 + [0], reduced_approved=True)
    assert [r[0].severity for r in results][-2:] == ["normal", "reduced"]
    assert results[-1][0].sample_size == 80  # reduced L: 80 units
    s = Switching().after(LotDecision(True), nonconforming=0, ac=0)
    assert s.score == 2
    assert s.after(LotDecision(False), nonconforming=1, ac=0).score == 0


def test_reduced_back_to_normal() -> None:
    reduced = Switching(severity="reduced")
    assert reduced.after(LotDecision(True), nonconforming=0, ac=1).severity == "reduced"
    assert reduced.after(LotDecision(False), nonconforming=3, ac=1).severity == "normal"
    gap = reduced.after(LotDecision(True, reinstate_normal=True), nonconforming=2, ac=1)
    assert gap.severity == "normal" and "between Ac and Re" in gap.reason
    assert reduced.after(LotDecision(True), nonconforming=0, ac=1, production_steady=False).severity == "normal"
    other = reduced.after(LotDecision(True), nonconforming=0, ac=1, other_reason="new firmware line")
    assert other.severity == "normal" and other.reason.startswith("new firmware line")


def test_run_lots_walks_through_the_severities(t: SamplingTables) -> None:
    """Lot 1200, AQL 1.0: two rejected lots, five good ones, then a long good run down to reduced."""
    counts = [3, 3, 0, 0, 0, 0, 0] + [0] * 10 + [2]
    steps = run_lots(t, 1200, "1.0", counts, reduced_approved=True)
    severities = [plan.severity for plan, _, _ in steps]
    assert severities[:7] == ["normal", "normal"] + ["tightened"] * 5
    assert severities[7:17] == ["normal"] * 10
    assert severities[17] == "reduced"
    assert steps[17][1] == LotDecision(True, reinstate_normal=True) and steps[17][2].severity == "normal"


# --- bwc lot plan --------------------------------------------------------------------------------


def _bwc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "lot", "plan", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_lot_plan() -> None:
    proc = _bwc("--size", "1200", "--aql", "1.0")
    assert proc.returncode == 0, proc.stderr
    assert "code letter J" in proc.stdout and "80 units" in proc.stdout
    assert "(Ac 2)" in proc.stdout and "(Re 3)" in proc.stdout
    proc = _bwc("--size", "1200", "--aql", "1", "--severity", "reduced", "--json")
    plan = json.loads(proc.stdout)
    assert (plan["code_letter"], plan["sample_size"], plan["ac"], plan["re"]) == ("J", 32, 1, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "0", "--aql", "1.0"], "--size '0': expected a positive whole number"),
        (["--size", "12.5", "--aql", "1.0"], "--size '12.5': expected a positive whole number"),
        (["--size", "1200", "--aql", "0.7"], "AQL 0.7 is not one of the standard's values"),
        (["--size", "1200", "--aql", "x"], "AQL x is not one of the standard's values"),
        (["--size", "1200", "--aql", "1.0", "--level", "IV"], "inspection level 'IV'"),
        (["--size", "1200", "--aql", "1.0", "--severity", "loose"], "--severity 'loose'"),
    ],
)
def test_cli_lot_plan_bad_input(args: list[str], message: str) -> None:
    proc = _bwc(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr
