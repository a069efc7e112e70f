"""Lot sampling plans of ISO 2859-1 / ANSI/ASQ Z1.4 (single sampling) and its switching rules.

An incoming lot of cameras is accepted or rejected from a sample: the lot size and the inspection
level give a code letter (Table I), the code letter and the AQL give the sample size and the
acceptance / rejection numbers (Tables II-A/B/C). The tables live in ``iso2859_1.yaml`` next to this
module, so they can be checked cell by cell against the published standard; this module only reads
them and follows their arrows. :class:`Switching` applies the rules that move a supplier between
normal, tightened and reduced inspection from one lot to the next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from harness.core.config import load_model
from harness.plan.profile import Strict

TABLES_FILE = Path(__file__).with_name("iso2859_1.yaml")

Severity = Literal["normal", "tightened", "reduced"]
SEVERITIES: tuple[Severity, ...] = ("normal", "tightened", "reduced")
_CELL = re.compile(r"^(?:v|\^|(\d+)/(\d+))$")


class SamplingError(ValueError):
    """A question the tables cannot answer (lot size, AQL or level unknown, an arrow off the table)."""


class LotRange(Strict):
    from_: int = Field(alias="from", ge=1)
    to: int | None = Field(ge=1)
    letters: list[str]


class MasterTable(Strict):
    sample_sizes: dict[str, int]
    rows: dict[str, str]

    @field_validator("sample_sizes")
    @classmethod
    def _positive(cls, v: dict[str, int]) -> dict[str, int]:
        bad = [k for k, n in v.items() if n < 1]
        if bad:
            raise ValueError(f"sample sizes must be positive integers (letters {bad})")
        return v


class UnverifiedCell(Strict):
    severity: Severity
    letter: str
    aql: str
    why: str


class TablesFile(Strict):
    standard: str
    aql: list[str] = Field(min_length=1)
    levels: list[str] = Field(min_length=1)
    code_letters: list[LotRange] = Field(min_length=1)
    tables: dict[Severity, MasterTable]
    unverified: list[UnverifiedCell] = Field(default_factory=list)

    @field_validator("aql")
    @classmethod
    def _numbers(cls, v: list[str]) -> list[str]:
        values = [_decimal(a) for a in v]
        if any(x is None or x <= 0 for x in values):
            raise ValueError(f"AQL columns must be positive numbers, got {v}")
        if values != sorted(values) or len(set(values)) != len(values):  # type: ignore[type-var]
            raise ValueError("AQL columns must be listed once each, smallest first")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TablesFile:
        missing = [s for s in SEVERITIES if s not in self.tables]
        if missing:
            raise ValueError(f"tables: missing master table(s) {missing}")
        expected_from = 2
        for i, r in enumerate(self.code_letters, 1):
            where = f"code_letters#{i}"
            if r.from_ != expected_from:
                raise ValueError(f"{where}: lot sizes must continue at {expected_from}, got {r.from_}")
            if r.to is None and i != len(self.code_letters):
                raise ValueError(f"{where}: only the last range may be open ('to: null')")
            if r.to is not None and r.to < r.from_:
                raise ValueError(f"{where}: 'to' {r.to} is below 'from' {r.from_}")
            if len(r.letters) != len(self.levels):
                raise ValueError(f"{where}.letters: {len(r.letters)} letters for {len(self.levels)} levels")
            unknown = sorted(set(r.letters) - set(self.tables["normal"].sample_sizes))
            if unknown:
                raise ValueError(f"{where}.letters: code letter(s) {unknown} not in the normal table")
            expected_from = (r.to or 0) + 1
        if self.code_letters[-1].to is not None:
            raise ValueError("code_letters: the last range must be open ('to: null')")
        for sev, table in self.tables.items():
            if set(table.rows) != set(table.sample_sizes):
                raise ValueError(f"tables.{sev}: rows and sample_sizes name different code letters")
            for letter, row in table.rows.items():
                cells = row.split()
                if len(cells) != len(self.aql):
                    raise ValueError(f"tables.{sev}.rows.{letter}: {len(cells)} cells for {len(self.aql)} AQL columns")
                for aql, cell in zip(self.aql, cells):
                    m = _CELL.match(cell)
                    if m is None:
                        raise ValueError(
                            f"tables.{sev}.rows.{letter} at AQL {aql}: {cell!r} is not 'Ac/Re', 'v' or '^'"
                        )
                    if m.group(1) is not None and int(m.group(1)) >= int(m.group(2)):
                        raise ValueError(f"tables.{sev}.rows.{letter} at AQL {aql}: Ac must be below Re ({cell})")
        for i, u in enumerate(self.unverified, 1):
            if u.letter not in self.tables[u.severity].rows or _decimal(u.aql) not in {_decimal(a) for a in self.aql}:
                raise ValueError(f"unverified#{i}: no cell {u.severity} {u.letter} at AQL {u.aql}")
        return self


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


@dataclass(frozen=True)
class Plan:
    """What to do with one lot: test ``units`` units; accept with ``ac`` or fewer nonconforming."""

    lot_size: int
    aql: str
    level: str
    severity: Severity
    table_letter: str  # from Table I
    code_letter: str  # after following the arrows; the sample size is this row's
    sample_size: int
    ac: int
    re: int
    unverified: tuple[str, ...] = ()

    @property
    def hundred_percent(self) -> bool:
        """ISO 2859-1: when the sample size equals or exceeds the lot size, inspect every unit."""
        return self.sample_size >= self.lot_size

    @property
    def units(self) -> int:
        return min(self.sample_size, self.lot_size)

    def as_dict(self) -> dict[str, object]:
        return {
            "lot_size": self.lot_size,
            "aql": self.aql,
            "level": self.level,
            "severity": self.severity,
            "table_letter": self.table_letter,
            "code_letter": self.code_letter,
            "sample_size": self.sample_size,
            "units_to_test": self.units,
            "hundred_percent": self.hundred_percent,
            "ac": self.ac,
            "re": self.re,
            "unverified": list(self.unverified),
        }


@dataclass(frozen=True)
class LotDecision:
    """The verdict on one lot. ``reinstate_normal``: accepted on reduced inspection between Ac and Re."""

    accepted: bool
    reinstate_normal: bool = False


class SamplingTables:
    """The loaded tables and the questions asked of them."""

    def __init__(self, data: TablesFile, path: Path) -> None:
        self.path = path
        self.standard = data.standard
        self.aqls = list(data.aql)
        self.levels = list(data.levels)
        self._ranges = data.code_letters
        self._sizes = {s: dict(t.sample_sizes) for s, t in data.tables.items()}
        self._letters = {s: list(t.rows) for s, t in data.tables.items()}
        self._cells = {s: {k: row.split() for k, row in t.rows.items()} for s, t in data.tables.items()}
        self._unverified = {(u.severity, u.letter, _decimal(u.aql)): u.why for u in data.unverified}

    @classmethod
    def load(cls, path: Path | str = TABLES_FILE) -> SamplingTables:
        path = Path(path)
        return cls(load_model(path, TablesFile), path)

    def aql_column(self, aql: str | float) -> str:
        """The table's spelling of ``aql`` ("1" -> "1.0"); anything not a column of the standard is refused."""
        value = _decimal(str(aql))
        for column in self.aqls:
            if value is not None and _decimal(column) == value:
                return column
        raise SamplingError(f"AQL {aql} is not one of the standard's values ({', '.join(self.aqls)})")

    def code_letter(self, lot_size: int, level: str = "II") -> str:
        """Table I: the sample size code letter for a lot of ``lot_size`` units at inspection ``level``."""
        if level not in self.levels:
            raise SamplingError(f"inspection level {level!r} is not one of {', '.join(self.levels)}")
        first = self._ranges[0].from_
        if lot_size < first:
            raise SamplingError(f"lot size {lot_size} is below the smallest lot size of Table I ({first})")
        column = self.levels.index(level)
        for r in self._ranges:
            if r.to is None or lot_size <= r.to:
                return r.letters[column]
        raise SamplingError(f"lot size {lot_size} is not covered by Table I")  # unreachable: the last range is open

    def cell(self, severity: Severity, letter: str, aql: str) -> str:
        return self._cells[severity][letter][self.aqls.index(self.aql_column(aql))]

    def sample_size(self, severity: Severity, letter: str) -> int:
        return self._sizes[severity][letter]

    def resolve(self, severity: Severity, letter: str, aql: str) -> tuple[str, int, int, tuple[str, ...]]:
        """Follow the arrows from ``letter`` in the ``aql`` column: (code letter, Ac, Re, unverified notes)."""
        column = self.aql_column(aql)
        rows = self._letters[severity]
        if letter not in rows:
            raise SamplingError(f"code letter {letter} is not in the {severity} table")
        i = rows.index(letter)
        notes: list[str] = []
        while True:
            why = self._unverified.get((severity, rows[i], _decimal(column)))
            if why:
                notes.append(f"{severity} {rows[i]} at AQL {column}: {why}")
            cell = self._cells[severity][rows[i]][self.aqls.index(column)]
            step = {"v": 1, "^": -1}.get(cell)
            if step is None:
                ac, re_ = (int(x) for x in cell.split("/"))
                return rows[i], ac, re_, tuple(notes)
            i += step
            if not 0 <= i < len(rows):
                side = "below the last row" if step > 0 else "above the first row"
                raise SamplingError(
                    f"no {severity} plan for code letter {letter} at AQL {column}: the table's arrow points {side}"
                )

    def plan(self, lot_size: int, aql: str | float, level: str = "II", severity: Severity = "normal") -> Plan:
        """The single sampling plan for a lot; :attr:`Plan.hundred_percent` when the sample covers the lot."""
        if severity not in SEVERITIES:
            raise SamplingError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        column = self.aql_column(aql)
        letter = self.code_letter(lot_size, level)
        code, ac, re_, notes = self.resolve(severity, letter, column)
        return Plan(lot_size, column, level, severity, letter, code, self._sizes[severity][code], ac, re_, notes)

    def ac_one_step_tighter(self, plan: Plan) -> int | None:
        """Ac of the normal plan with the same sample size and the next smaller AQL, for the switching score.

        None when that cell is an arrow (only happens for Ac 0 or 1, where the score does not use it).
        """
        i = self.aqls.index(plan.aql)
        if i == 0:
            return None
        cell = self._cells["normal"][plan.code_letter][i - 1]
        return int(cell.split("/")[0]) if "/" in cell else None


@cache
def standard_tables() -> SamplingTables:
    """The tables shipped with the harness, read once."""
    return SamplingTables.load(TABLES_FILE)


def decide(plan: Plan, nonconforming: int) -> LotDecision:
    """Accept or reject a lot from the number of nonconforming units in its sample.

    On reduced inspection with Re > Ac + 1, a count between Ac and Re accepts the lot but normal
    inspection is reinstated (the reduced table's gap plans).
    """
    if nonconforming < 0:
        raise SamplingError(f"nonconforming count must be 0 or more, got {nonconforming}")
    if nonconforming <= plan.ac:
        return LotDecision(True)
    if nonconforming >= plan.re:
        return LotDecision(False)
    return LotDecision(True, reinstate_normal=True)


@dataclass(frozen=True)
class Switching:
    """Where a supplier stands between normal, tightened and reduced inspection (ISO 2859-1 clause 9).

    Rules, applied after each lot on original inspection by :meth:`after`:

    * normal -> tightened: 2 lots out of 5 or fewer consecutive lots are not accepted.
    * tightened -> normal: 5 consecutive lots are accepted on tightened inspection.
    * tightened -> discontinued: the number of lots not accepted while on tightened inspection
      reaches 5 (cumulative since tightened inspection began). Inspection resumes, on tightened,
      only after the supplier has acted: :meth:`resume`.
    * switching score (kept on normal inspection only, 0 at its start; clause 9.3.3.2, single
      sampling): when the plan's Ac is 2 or more, add 3 if the lot would have been accepted with the
      AQL one step tighter (nonconforming <= Ac of the normal plan with the same sample size and the
      next smaller AQL), otherwise reset to 0; when Ac is 0 or 1, add 2 if the lot is accepted,
      otherwise reset to 0.
    * normal -> reduced: the switching score reaches 30, production is at a steady rate and the
      responsible authority approves reduced inspection (both flags given with the lot).
    * reduced -> normal: a lot is not accepted, or accepted between Ac and Re (gap plans),
      production becomes irregular or delayed, or other conditions warrant it (``other_reason``).
    """

    severity: Severity = "normal"
    score: int = 0
    recent: tuple[bool, ...] = ()  # acceptance of the latest lots on normal inspection (at most 5)
    accepted_in_row: int = 0  # on tightened inspection
    rejected_on_tightened: int = 0
    discontinued: bool = False
    reason: str = "start on normal inspection"
    history: tuple[str, ...] = field(default=(), compare=False)

    def after(
        self,
        decision: LotDecision,
        *,
        nonconforming: int,
        ac: int,
        ac_tighter: int | None = None,
        production_steady: bool = True,
        reduced_approved: bool = False,
        other_reason: str | None = None,
    ) -> Switching:
        """The state for the next lot, given this lot's ``decision`` under the current severity."""
        if self.discontinued:
            raise SamplingError("inspection is discontinued until the supplier has acted (resume it first)")
        if self.severity == "normal":
            return self._after_normal(decision, nonconforming, ac, ac_tighter, production_steady, reduced_approved)
        if self.severity == "tightened":
            return self._after_tightened(decision)
        return self._after_reduced(decision, production_steady, other_reason)

    def _to(self, severity: Severity, reason: str, **kw: object) -> Switching:
        fresh = Switching(severity=severity, reason=reason, history=(*self.history, reason))
        return replace(fresh, **kw)  # type: ignore[arg-type]

    def _after_normal(
        self, d: LotDecision, nonconforming: int, ac: int, ac_tighter: int | None, steady: bool, approved: bool
    ) -> Switching:
        recent = (*self.recent, d.accepted)[-5:]
        if recent.count(False) >= 2:
            return self._to("tightened", "2 of 5 or fewer consecutive lots not accepted: tightened inspection")
        if ac >= 2:
            tighter_ok = d.accepted and ac_tighter is not None and nonconforming <= ac_tighter
            score = self.score + 3 if tighter_ok else 0
        else:
            score = self.score + 2 if d.accepted else 0
        if score >= 30 and steady and approved:
            return self._to("reduced", f"switching score {score} >= 30, production steady, reduced approved")
        return replace(self, score=score, recent=recent, reason=f"normal inspection, switching score {score}")

    def _after_tightened(self, d: LotDecision) -> Switching:
        if not d.accepted:
            rejected = self.rejected_on_tightened + 1
            if rejected >= 5:
                return replace(
                    self,
                    rejected_on_tightened=rejected,
                    accepted_in_row=0,
                    discontinued=True,
                    reason="5 lots not accepted on tightened inspection: inspection discontinued",
                    history=(*self.history, "discontinued"),
                )
            return replace(
                self,
                rejected_on_tightened=rejected,
                accepted_in_row=0,
                reason=f"tightened inspection, {rejected} lot(s) not accepted",
            )
        in_row = self.accepted_in_row + 1
        if in_row >= 5:
            return self._to("normal", "5 consecutive lots accepted on tightened inspection: normal inspection")
        return replace(self, accepted_in_row=in_row, reason=f"tightened inspection, {in_row} accepted in a row")

    def _after_reduced(self, d: LotDecision, steady: bool, other_reason: str | None) -> Switching:
        if not d.accepted:
            return self._to("normal", "lot not accepted on reduced inspection: normal inspection")
        if d.reinstate_normal:
            return self._to("normal", "lot accepted between Ac and Re on reduced inspection: normal inspection")
        if not steady:
            return self._to("normal", "production irregular or delayed: normal inspection")
        if other_reason:
            return self._to("normal", f"{other_reason}: normal inspection")
        return replace(self, reason="reduced inspection")

    def resume(self) -> Switching:
        """After the supplier's corrective action, inspection resumes on tightened inspection."""
        return self._to("tightened", "resumed on tightened inspection after corrective action")


def run_lots(
    tables: SamplingTables,
    lot_size: int,
    aql: str | float,
    counts: list[int],
    level: str = "II",
    *,
    production_steady: bool = True,
    reduced_approved: bool = False,
) -> list[tuple[Plan, LotDecision, Switching]]:
    """Inspect a sequence of lots (their nonconforming counts) and switch severity between them."""
    state = Switching()
    out: list[tuple[Plan, LotDecision, Switching]] = []
    for count in counts:
        plan = tables.plan(lot_size, aql, level, state.severity)
        decision = decide(plan, count)
        state = state.after(
            decision,
            nonconforming=count,
            ac=plan.ac,
            ac_tighter=tables.ac_one_step_tighter(plan),
            production_steady=production_steady,
            reduced_approved=reduced_approved,
        )
        out.append((plan, decision, state))
        if state.discontinued:
            break
    return out
