"""The certification report: one self-contained HTML file (and a PDF of it where possible).

Everything the sign-off needs is in the one file: device and bench identities, the compliance
matrix with measured values and limits, the summary verdict, pictures (embedded as base64 PNG),
the evidence list with hashes and the manifest hash, and the sign-off block. It loads no script,
font or image from anywhere, so it opens the same on an air-gapped machine years later.
"""

from __future__ import annotations

import base64
import json
import math
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from harness.core.clock import wall_utc
from harness.core.paths import CATALOGUE
from harness.report.compare import Comparison, compare
from harness.report.compliance import RequirementResult, Verdict, requirement_results, summary_verdict
from harness.report.manifest import (MANIFEST_NAME, EvidenceItem, evidence_items, evidence_problems, manifest_text,
                                     text_sha256)
from harness.report.record import read_record
from harness.plan.requirements import Catalogue

REPORT_NAME = "report.html"
PDF_NAME = "report.pdf"


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    manifest: Path
    manifest_sha256: str
    pdf: Path | None
    pdf_note: str | None
    verdict: Verdict
    comparison: Comparison | None


def fmt(x: object) -> str:
    """Numbers as a person reads them: integers bare, others to 4 significant decimals."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if x.is_integer() and abs(x) < 1e9:
            return str(int(x))
        if abs(x) < 1e-3:  # keep small values (drift in ppm, offsets in s) visible, never '-0'
            return f"{x:.3g}"
        return f"{x:.4f}".rstrip("0").rstrip(".")
    return str(x)


def limits(m: dict) -> str:
    if m.get("kind") == "info":
        return "informative"
    lo, hi = m.get("low"), m.get("high")
    if lo is not None and hi is not None and lo == hi:
        return f"= {fmt(lo)}"
    return f"[{'-inf' if lo is None else fmt(lo)}, {'+inf' if hi is None else fmt(hi)}]"


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("harness.report", "templates"), autoescape=select_autoescape(["j2", "html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    env.filters["limits"] = limits
    env.filters["tojson_attr"] = lambda v: json.dumps(v)
    return env


def _data_uri(path: Path) -> str | None:
    try:
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return None


def _harness_version() -> str:
    try:
        return metadata.version("bwc-harness")
    except metadata.PackageNotFoundError:
        return "unknown"


def _tests(record: dict, record_dir: Path) -> list[dict]:
    tests = []
    for test in record["tests"]:
        pictures = []
        for art in test.get("artifacts") or []:
            path = Path(art["path"])
            uri = _data_uri(path if path.is_absolute() else record_dir / path)
            pictures.append({**art, "uri": uri})
        tests.append({**test, "pictures": pictures})
    return tests


def render_html(
    record: dict,
    record_path: Path,
    catalogue: Catalogue,
    rows: list[RequirementResult],
    verdict: Verdict,
    evidence: list[EvidenceItem],
    manifest_sha256: str,
    comparison: Comparison | None,
) -> str:
    record_dir = record_path.parent
    recorded_cat = (record.get("catalogue") or {}).get("sha256")
    groups: dict[str, list[RequirementResult]] = {}
    for row in rows:
        groups.setdefault(row.requirement.group if row.requirement else "Not in the catalogue", []).append(row)
    context = {
        "record": record,
        "camera": record.get("camera") or {},
        "rig": record.get("rig") or {},
        "instruments": record.get("instruments") or {},
        "emulated": (record.get("rig") or {}).get("kind") == "emulated" or bool(record.get("faults")),
        "catalogue": {"path": str(catalogue.path), "sha256": catalogue.sha256(), "recorded": recorded_cat,
                      "recorded_path": (record.get("catalogue") or {}).get("path")},
        "groups": groups,
        "rows": rows,
        "verdict": verdict,
        "tests": _tests(record, record_dir),
        "evidence": evidence,
        "manifest_name": MANIFEST_NAME,
        "manifest_sha256": manifest_sha256,
        "record_name": record_path.name,
        "comparison": comparison,
        "generated_utc": wall_utc().isoformat(timespec="seconds"),
        "harness_version": (record.get("harness") or {}).get("version") or _harness_version(),
        "reporter_version": _harness_version(),
        "python": platform.python_version(),
    }
    return _environment().get_template("report.html.j2").render(**context)


def recorded_catalogue(record: dict) -> Path:
    """The catalogue file the record names, if it is still there; else the built-in catalogue."""
    named = (record.get("catalogue") or {}).get("path")
    return Path(named) if named and Path(named).is_file() else CATALOGUE


def write_pdf(html_path: Path, pdf_path: Path) -> str | None:
    """Render the same HTML to PDF with WeasyPrint; returns why not, when it cannot."""
    try:
        import weasyprint  # needs the Pango library (Debian: libpango-1.0-0, libpangoft2-1.0-0)
    except (ImportError, OSError) as exc:
        return f"PDF not written: WeasyPrint is not usable here ({type(exc).__name__}: {str(exc)[:200]})"
    try:
        weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path))
    except Exception as exc:  # a PDF is a convenience; the HTML is the report
        return f"PDF not written: {type(exc).__name__}: {exc}"
    return None


def build_report(
    record_path: Path | str,
    out_dir: Path | str | None = None,
    compare_with: Path | str | None = None,
    catalogue_path: Path | str | None = None,
    pdf: bool = True,
    verify: bool = True,
) -> ReportFiles:
    """Write report.html, manifest.sha256 (and report.pdf) for the run record at ``record_path``.

    ``catalogue_path`` None: the catalogue the run was judged against (the record names it), when
    that file is still there; else the built-in one (the report then warns if the hashes differ).
    """
    record_path = Path(record_path).resolve()
    record = read_record(record_path)
    out = Path(out_dir).resolve() if out_dir is not None else record_path.parent
    out.mkdir(parents=True, exist_ok=True)
    catalogue = Catalogue.load(catalogue_path if catalogue_path is not None else recorded_catalogue(record))
    rows = requirement_results(record, catalogue)
    evidence = evidence_items(record, record_path.parent, verify=verify)
    verdict = summary_verdict(record, rows, evidence_problems(evidence))
    manifest = manifest_text(evidence, record_path, out)
    manifest_path = out / MANIFEST_NAME
    manifest_path.write_text(manifest, encoding="utf-8")
    manifest_sha = text_sha256(manifest)
    comparison = compare(read_record(compare_with), record, catalogue) if compare_with is not None else None
    html_path = out / REPORT_NAME
    html_path.write_text(
        render_html(record, record_path, catalogue, rows, verdict, evidence, manifest_sha, comparison), encoding="utf-8"
    )
    pdf_path, note = None, None
    if pdf:
        note = write_pdf(html_path, out / PDF_NAME)
        pdf_path = None if note else out / PDF_NAME
    return ReportFiles(html_path, manifest_path, manifest_sha, pdf_path, note, verdict, comparison)
