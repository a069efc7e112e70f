"""``bwc report``, ``bwc verify-evidence`` and ``bwc requirements``: the report, its evidence, its coverage."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from harness.cli.common import console, num
from harness.core.paths import SUITE_DIR


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``report``, ``verify-evidence`` and ``requirements`` verbs and their options."""
    p = sub.add_parser("report", help="write the certification report (HTML, evidence manifest, PDF) from a run record")
    p.add_argument("--record", default="out/record.json", help="run record (default: out/record.json)")
    p.add_argument("--compare", metavar="OLD_RECORD", help="an earlier run record: show what changed since")
    p.add_argument("--out", help="folder for the report (default: the record's folder)")
    p.add_argument("--no-pdf", action="store_true", help="write HTML only")
    p.add_argument(
        "--requirements",
        metavar="FILE",
        help="requirement catalogue to report against (default: the one the record names, if present)",
    )
    p.set_defaults(run=report)

    p = sub.add_parser("verify-evidence", help="re-hash a run's evidence against its manifest; name what changed")
    p.add_argument("folder", metavar="DIR", help="folder holding manifest.sha256 (or the manifest file)")
    p.add_argument("--json", action="store_true", help="print every file and its status as JSON")
    p.set_defaults(run=verify_evidence)

    p = sub.add_parser("requirements", help="requirement coverage: each requirement and the scenarios that prove it")
    p.add_argument("--scenarios", help="folder of scenario files (default: the built-in suite)")
    p.add_argument(
        "--requirements", metavar="FILE", help="an agency's own requirement catalogue (default: the built-in one)"
    )
    p.add_argument("--json", action="store_true", help="print the coverage as JSON")
    p.set_defaults(run=requirements)


def write_report(
    record_path: Path, out: Path | None, compare_with: Path | None, pdf: bool, catalogue: Path | None = None
) -> int:
    """Build the certification report and say where it is; a bad record is a clear error, not a trace."""
    from harness.report.html import build_report
    from harness.report.record import RecordError

    try:
        files = build_report(record_path, out, compare_with, catalogue_path=catalogue, pdf=pdf)
    except (RecordError, OSError, ValueError) as exc:  # ValueError: e.g. a catalogue that does not validate
        # one line however long the path: soft_wrap keeps rich from breaking it at the console width
        console.print(f"[red]no certification report: {escape(str(exc))}[/red]", highlight=False, soft_wrap=True)
        return 2
    colour = {"pass": "green", "fail": "red"}.get(files.verdict.word, "yellow")
    console.print(
        f"certification report: {escape(str(files.html))} "
        f"(summary verdict [{colour}]{escape(files.verdict.word.upper())}[/])",
        highlight=False,
    )
    console.print(escape(f"evidence manifest: {files.manifest} (SHA-256 {files.manifest_sha256})"), highlight=False)
    if files.pdf is not None:
        console.print(escape(f"PDF: {files.pdf}"), highlight=False)
    elif files.pdf_note and pdf:
        console.print(escape(files.pdf_note), highlight=False)
    if files.comparison is not None:
        print_comparison(files.comparison)
    return 0


def report(args: argparse.Namespace) -> int:
    return write_report(
        Path(args.record),
        Path(args.out) if args.out else None,
        Path(args.compare) if args.compare else None,
        not args.no_pdf,
        Path(args.requirements) if args.requirements else None,
    )


def print_comparison(comparison: object) -> None:
    from harness.report.compare import Comparison

    assert isinstance(comparison, Comparison)
    console.print(escape(f"changes since {comparison.old_label}:"), highlight=False)
    if comparison.quiet:
        console.print("  nothing changed")
        return
    for rid, before, now in comparison.requirements:
        console.print(escape(f"  requirement {rid}: {before} -> {now}"), highlight=False)
    for scenario, was, verdict in comparison.verdicts:
        console.print(escape(f"  scenario {scenario}: {was or 'absent'} -> {verdict or 'absent'}"), highlight=False)
    table = Table(title="measurements")
    for col in ("change", "scenario", "measurement", "before", "now", "limits"):
        table.add_column(col)
    for kind, items in (
        ("NEW FAILURE", comparison.new_failures),
        ("fixed", comparison.fixed),
        ("moved", comparison.moved),
    ):
        for c in items:
            table.add_row(
                kind,
                escape(c.scenario),
                escape(c.name),
                escape(f"{num(c.old)} {c.unit} {c.old_outcome or ''}".strip()),
                escape(f"{num(c.new)} {c.unit} {c.new_outcome or ''}".strip()),
                escape(f"[{num(c.low)}, {num(c.high)}]"),
            )
    if table.row_count:
        console.print(table)
    if comparison.appeared or comparison.gone:
        console.print(
            f"  {len(comparison.appeared)} measurement(s) new, {len(comparison.gone)} no longer made "
            "(listed in the report)",
            highlight=False,
        )


def verify_evidence(args: argparse.Namespace) -> int:
    """0: every file intact and nothing new; 1: any finding (changed, vanished, appeared, a link, a FIFO or
    device, a name leading out of the run, a damaged manifest line); 2: no manifest at all."""
    from harness.report.verify import ManifestError
    from harness.report.verify import verify_evidence as verify

    try:
        findings = verify(Path(args.folder))
    except ManifestError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", highlight=False)
        return 2
    problems = [f for f in findings if not f.ok]
    if args.json:
        print(json.dumps({"ok": not problems, "files": [f.__dict__ for f in findings]}, indent=2))
    else:
        for f in problems:  # whole lines: easy to read in a log, easy to search
            console.print(
                f"{f.status.upper()} {f.path}" + (f" ({f.detail})" if f.detail else ""),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        intact = len(findings) - len(problems)
        console.print(
            f"{intact} file(s) intact, " + (f"{len(problems)} problem(s)" if problems else "no problem"),
            highlight=False,
        )
    return 1 if problems else 0


def requirements(args: argparse.Namespace) -> int:
    from harness.core.config import ConfigError
    from harness.core.paths import CATALOGUE
    from harness.plan.requirements import Catalogue
    from harness.report.coverage import suite_coverage

    try:
        catalogue = Catalogue.load(args.requirements or CATALOGUE)
    except ConfigError as exc:
        console.print(f"[red]requirement catalogue {escape(str(exc))}[/red]", highlight=False, soft_wrap=True)
        return 2
    folder = Path(args.scenarios) if args.scenarios else SUITE_DIR
    if not folder.is_dir():
        console.print(f"[red]{escape(str(folder))}: not a folder of scenario files[/red]", highlight=False)
        return 2
    cov = suite_coverage(folder, catalogue)
    if args.json:
        print(
            json.dumps(
                {
                    "requirements": [
                        {"id": r.id, "group": r.group, "level": r.level, "scenarios": cov.by_requirement[r.id]}
                        for r in catalogue.requirements
                    ],
                    "uncovered": cov.uncovered,
                    "unknown": cov.unknown,
                    "errors": cov.errors,
                },
                indent=2,
            )
        )
    else:
        table = Table(title=escape(f"requirement coverage of {folder}"))
        for col in ("requirement", "group", "scenarios"):
            table.add_column(col)
        for r in catalogue.requirements:
            names = cov.by_requirement[r.id]
            table.add_row(
                escape(r.id + (" (target)" if r.level == "target" else "")),
                escape(r.group),
                escape("\n".join(names)) if names else "[yellow]not covered[/]",
            )
        console.print(table)
        covered = len(catalogue.requirements) - len(cov.uncovered)
        console.print(
            escape(
                f"{covered} of {len(catalogue.requirements)} requirements covered"
                + (f"; not covered: {', '.join(cov.uncovered)}" if cov.uncovered else "")
            ),
            highlight=False,
        )
        for name, ids in cov.unknown.items():
            console.print(
                f"[red]{escape(f'{name}: unknown requirement id(s) {ids}; see {CATALOGUE}')}[/red]", highlight=False
            )
        for name, problem in cov.errors.items():
            console.print(f"[red]{escape(f'{name}: cannot be read: {problem}')}[/red]", highlight=False)
    return 0 if cov.ok else 1
