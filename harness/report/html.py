"""The certification report: one self-contained HTML file (and a PDF of it where possible).

Everything the sign-off needs is in the one file: device and bench identities, the compliance
matrix with measured values and limits, the summary verdict, pictures (plots embedded as base64
PNG, key frames as small JPEG thumbnails linked to the full frames kept beside the evidence), the
evidence list with hashes and the manifest hash, and the sign-off block. It loads no script, font
or image from anywhere, so it opens the same on an air-gapped machine years later.

Everything is computed in memory first and then each file is written to a temporary name and
renamed into place: a failure half-way never leaves a truncated report or a manifest that no
longer matches the report quoting it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from harness.core.clock import wall_utc
from harness.core.evidence import write_atomic
from harness.core.paths import CATALOGUE
from harness.core.version import harness_version
from harness.plan.requirements import Catalogue
from harness.report.compare import Comparison, compare
from harness.report.compliance import RequirementResult, Verdict, requirement_results, summary_verdict
from harness.report.keyframes import thumbnail_jpeg
from harness.report.manifest import (
    MANIFEST_NAME,
    MAP_NAME,
    REPORT_SUMS_NAME,
    EvidenceItem,
    evidence_items,
    evidence_map,
    evidence_problems,
    manifest_text,
    run_files,
    text_sha256,
)
from harness.report.record import read_record

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


def environment(package: str = "harness.report", **filters: Callable[..., str]) -> Environment:
    """The Jinja environment of a report's templates (``package``/templates): HTML-escaped, strict
    about undefined names, with the report's number format ``fmt`` and ``filters``."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(["j2", "html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters.update(filters)
    return env


def _environment() -> Environment:
    return environment(limits=limits, tojson_attr=lambda v: json.dumps(v))


def _data_uri(path: Path) -> str | None:
    try:
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return None


def _thumb_uri(path: Path) -> str | None:
    try:
        jpeg = thumbnail_jpeg(path.read_bytes())
    except OSError:
        return None
    return None if jpeg is None else "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def _tests(record: dict, record_dir: Path, out_dir: Path | None = None, key: str = "tests") -> list[dict]:
    """Tests with their pictures: plots embedded whole, key frames as thumbnails with a link
    (relative to the report's folder) to the full frame. ``key``: ``superseded`` for the attempts
    a re-run replaced."""
    tests = []
    out_dir = out_dir or record_dir
    for test in record.get(key) or []:
        pictures = []
        for art in test.get("artifacts") or []:
            path = Path(art["path"])
            full = path if path.is_absolute() else record_dir / path
            if art.get("kind") == "keyframe":
                uri = _thumb_uri(full)
                href = Path(os.path.relpath(full, out_dir)).as_posix()
            else:
                uri, href = _data_uri(full), None
            pictures.append({**art, "uri": uri, "href": href})
        prompts = [a for a in test.get("timeline") or [] if a.get("kind") == "operator"]
        tests.append({**test, "pictures": pictures, "prompts": prompts})
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
    out_dir: Path | None = None,
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
        "catalogue": {
            "path": str(catalogue.path),
            "sha256": catalogue.sha256(),
            "recorded": recorded_cat,
            "recorded_path": (record.get("catalogue") or {}).get("path"),
        },
        "groups": groups,
        "rows": rows,
        "verdict": verdict,
        "tests": _tests(record, record_dir, out_dir),
        "superseded": _tests(record, record_dir, out_dir, "superseded"),
        "evidence": evidence,
        "manifest_name": MANIFEST_NAME,
        "manifest_sha256": manifest_sha256,
        "record_name": record_path.name,
        "comparison": comparison,
        "generated_utc": wall_utc().isoformat(timespec="seconds"),
        "harness_version": (record.get("harness") or {}).get("version") or harness_version(),
        "reporter_version": harness_version(),
        "python": platform.python_version(),
    }
    return _environment().get_template("report.html.j2").render(**context)


def recorded_catalogue(record: dict) -> Path:
    """The catalogue file the record names, if it is still there; else the built-in catalogue."""
    named = (record.get("catalogue") or {}).get("path")
    return Path(named) if named and Path(named).is_file() else CATALOGUE


def render_pdf(html: str, base: Path) -> tuple[bytes | None, str | None]:
    """The same HTML as PDF bytes with WeasyPrint, or why not."""
    try:
        import weasyprint  # needs the Pango library (Debian: libpango-1.0-0, libpangoft2-1.0-0)
    except (ImportError, OSError) as exc:
        return None, f"PDF not written: WeasyPrint is not usable here ({type(exc).__name__}: {str(exc)[:200]})"
    try:
        return weasyprint.HTML(string=html, base_url=str(base)).write_pdf(), None
    except Exception as exc:  # a PDF is a convenience; the HTML is the report
        return None, f"PDF not written: {type(exc).__name__}: {exc}"


def write_pdf(html_path: Path, pdf_path: Path) -> str | None:
    """Render ``html_path`` to ``pdf_path`` (written atomically); returns why not, when it cannot."""
    data, note = render_pdf(html_path.read_text(encoding="utf-8"), html_path.parent)
    if data is not None:
        write_atomic(pdf_path, data)
    return note


def build_report(
    record_path: Path | str,
    out_dir: Path | str | None = None,
    compare_with: Path | str | None = None,
    catalogue_path: Path | str | None = None,
    pdf: bool = True,
    verify: bool = True,
) -> ReportFiles:
    """Write report.html, manifest.sha256, evidence-map.json, report.sha256 (and report.pdf).

    The manifest and the evidence map belong to the run: they are written in the record's folder
    and list every file of it. The report's own files go to ``out_dir`` (default: the same folder)
    and are listed, with the manifest, in ``report.sha256`` there. Nothing is written until all of
    it has been computed; then each file is written atomically, the manifest before the report
    that quotes its hash. ``catalogue_path`` None: the catalogue the run was judged against (the
    record names it), when that file is still there; else the built-in one (the report then warns
    if the hashes differ).
    """
    record_path = Path(record_path).resolve()
    record = read_record(record_path)
    run_dir = record_path.parent
    out = Path(out_dir).resolve() if out_dir is not None else run_dir
    catalogue = Catalogue.load(catalogue_path if catalogue_path is not None else recorded_catalogue(record))
    rows = requirement_results(record, catalogue)
    evidence = evidence_items(record, run_dir, verify=verify)
    verdict = summary_verdict(record, rows, evidence_problems(evidence))
    mapping = evidence_map(evidence, run_dir)
    others = run_files(run_dir)
    others[MAP_NAME] = text_sha256(mapping)
    manifest = manifest_text(evidence, record_path, run_dir, others)
    manifest_sha = text_sha256(manifest)
    comparison = compare(read_record(compare_with), record, catalogue) if compare_with is not None else None
    html = render_html(record, record_path, catalogue, rows, verdict, evidence, manifest_sha, comparison, out)
    pdf_bytes, note = render_pdf(html, out) if pdf else (None, None)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = run_dir / MANIFEST_NAME
    write_atomic(run_dir / MAP_NAME, mapping)
    write_atomic(manifest_path, manifest)
    html_path = out / REPORT_NAME
    write_atomic(html_path, html)
    sums = {REPORT_NAME: text_sha256(html)}
    pdf_path = None
    if pdf_bytes is not None:
        pdf_path = out / PDF_NAME
        write_atomic(pdf_path, pdf_bytes)
        sums[PDF_NAME] = hashlib.sha256(pdf_bytes).hexdigest()
    if out == run_dir:
        sums[MANIFEST_NAME] = manifest_sha
    write_atomic(out / REPORT_SUMS_NAME, "".join(f"{sha}  {name}\n" for name, sha in sorted(sums.items())))
    return ReportFiles(html_path, manifest_path, manifest_sha, pdf_path, note, verdict, comparison)
