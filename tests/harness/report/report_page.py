"""Read a certification report back with the standard library's HTML parser, as a checker would."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Row:
    requirement: str
    status: str
    level: str
    measurements: list[dict] = field(default_factory=list)


@dataclass
class ReportPage:
    verdict: str | None = None
    rows: dict[str, Row] = field(default_factory=dict)
    device: dict[str, str] = field(default_factory=dict)
    evidence: list[dict] = field(default_factory=list)
    manifest_sha256: str = ""
    srcs: list[str] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    changes: dict[str, list[str]] = field(default_factory=dict)  # kind -> measurement names
    scenarios: dict[str, str] = field(default_factory=dict)  # scenario -> verdict
    text: str = ""


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = ReportPage()
        self._row: Row | None = None
        self._field: str | None = None
        self._in_manifest = False
        self._changes_kind: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        page = self.page
        page.tags.add(tag)
        if "id" in a:
            page.ids.add(a["id"])
        if "src" in a:
            page.srcs.append(a["src"])
        if "href" in a:
            page.hrefs.append(a["href"])
        if tag == "section" and a.get("id") == "verdict":
            page.verdict = a.get("data-verdict")
        if tag == "section" and "data-scenario" in a:
            page.scenarios[a["data-scenario"]] = a.get("data-verdict", "")
        if tag == "tr" and "req" in a.get("class", "").split():
            self._row = Row(a["data-requirement"], a["data-status"], a["data-level"])
            page.rows[self._row.requirement] = self._row
        if tag == "li" and self._row is not None and "data-name" in a:
            self._row.measurements.append(
                {
                    "scenario": a["data-scenario"],
                    "name": a["data-name"],
                    "unit": a["data-unit"],
                    "value": json.loads(a["data-value"]),
                    "low": json.loads(a["data-low"]),
                    "high": json.loads(a["data-high"]),
                    "outcome": a["data-outcome"],
                }
            )
        if tag == "td" and "data-field" in a:
            self._field = a["data-field"]
            self._text = []
        if tag == "tr" and "data-sha256" in a:
            page.evidence.append(
                {"sha256": a["data-sha256"], "status": a["data-status"], "scenario": a["data-scenario"]}
            )
        if tag == "code" and a.get("id") == "manifest-sha256":
            self._in_manifest = True
        if tag == "table" and "data-kind" in a:
            self._changes_kind = a["data-kind"]
            page.changes.setdefault(self._changes_kind, [])
        if tag == "tr" and self._changes_kind and "data-name" in a:
            page.changes[self._changes_kind].append(a["data-name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._row = None
        if tag == "td" and self._field is not None:
            self.page.device[self._field] = "".join(self._text).strip()
            self._field = None
        if tag == "code":
            self._in_manifest = False
        if tag == "table":
            self._changes_kind = None

    def handle_data(self, data: str) -> None:
        self.page.text += data
        if self._field is not None:
            self._text.append(data)
        if self._in_manifest:
            self.page.manifest_sha256 += data.strip()


def parse_report(html: str) -> ReportPage:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.page


def expected_status(record: dict, rid: str) -> str:
    """The matrix rule, restated plainly from the report's own note, for checking the page."""
    measured = [m for t in record["tests"] for m in t["measurements"] if m["requirement"] == rid]
    if any(m["outcome"] == "fail" for m in measured):  # an informative value never fails
        return "fail"
    for t in record["tests"]:
        mine = [m for m in t["measurements"] if m["requirement"] == rid]
        claims = rid in t["requirements"]
        if (claims or mine) and (t["verdict"] in ("error", "skip") or not mine):
            return "inconclusive"
    if measured and all(m["outcome"] == "not measurable" for m in measured):  # never counted as a pass
        return "not measurable"
    return "pass" if measured else "not tested"
