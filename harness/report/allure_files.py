"""The run-level files Allure reads beside the test results: environment and failure categories.

``environment.properties`` puts the device, bench and instruments on the report's overview;
``categories.json`` sorts failures by kind (which requirement group was out of limits, or whether
the rig rather than the camera broke), so a reviewer sees at once where to look.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.core.evidence import write_atomic
from harness.plan.requirements import Catalogue


def _escape(text: str) -> str:
    """Java properties escaping: backslash, separators, line breaks and non-Latin-1 characters."""
    out = []
    for ch in str(text):
        if ch in "\\=:#!":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) > 0x7E or ord(ch) < 0x20:  # UTF-16 code units, as java.util.Properties reads them
            units = ch.encode("utf-16-be")
            out += [f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2)]
        else:
            out.append(ch)
    return "".join(out)


def environment(record: dict) -> dict[str, str]:
    cam = record.get("camera") or {}
    rig = record.get("rig") or {}
    env = {
        "phase": record.get("phase", ""),
        "camera.vendor": cam.get("vendor", ""),
        "camera.model": cam.get("model", ""),
        "camera.serial": cam.get("serial", ""),
        "camera.firmware": cam.get("firmware", ""),
        "bench": rig.get("name", ""),
        "bench.kind": rig.get("kind", ""),
        "bench.clock": rig.get("clock", ""),
        "faults": ", ".join(record.get("faults") or []) or "none",
    }
    for key, value in (record.get("instruments") or {}).items():
        env[f"instrument.{key}"] = str(value)
    if record.get("harness", {}).get("version"):
        env["harness.version"] = record["harness"]["version"]
    return {k: v for k, v in env.items() if v != ""}


def environment_properties(record: dict) -> str:
    return "".join(f"{_escape(k)}={_escape(v)}\n" for k, v in environment(record).items())


def categories(catalogue: Catalogue) -> list[dict]:
    """One category per requirement group, matched on the requirement ids a failure message names,
    then input-file and rig problems. A result joins every category it matches (Allure 2 and 3
    alike); one that matches none falls into Allure's own product or test defects.

    Patterns use no inline flags and span the whole message (``[\\s\\S]*``), so they mean the same
    to Allure 2 (Java, whole-message match) and Allure 3 (JavaScript, search).
    """
    cats = []
    for group, reqs in catalogue.groups().items():
        ids = "|".join(r.id for r in reqs)  # ids are [A-Z0-9-]: nothing to escape
        cats.append(
            {
                "name": f"{group}: out of limits",
                "description": f"a measurement for {', '.join(r.id for r in reqs)} is outside its limits",
                "matchedStatuses": ["failed"],
                "messageRegex": rf"[\s\S]*\b({ids})\b[\s\S]*",
            }
        )
    cats += [
        {
            "name": "Invalid scenario, rig or profile file",
            "matchedStatuses": ["broken", "failed"],
            "messageRegex": r"[\s\S]*(ConfigError|invalid scenario file|Field required|validation error)[\s\S]*",
        },
        {
            "name": "Rig or instrument fault",
            "matchedStatuses": ["broken"],
            "messageRegex": r"[\s\S]*(VISA|SCPI|[Ss]erial|rig controller|[Tt]imeout|timed out|Connection)[\s\S]*",
        },
    ]
    return cats


def report_name(record: dict) -> str:
    cam = record.get("camera") or {}
    return f"BWC certification: {cam.get('vendor', '?')} {cam.get('model', '?')} fw {cam.get('firmware', '?')}, {record.get('phase')}"


def write_allure_files(alluredir: Path, record: dict, catalogue: Catalogue, config_dir: Path | None = None) -> None:
    """Environment and categories in the results folder (read by Allure 2, and by Allure 3 for its
    environment); with ``config_dir``, also an ``allurerc.json`` there, because Allure 3's default
    report takes its categories from its configuration rather than from the results."""
    alluredir.mkdir(parents=True, exist_ok=True)
    cats = categories(catalogue)
    # every character above 0x7e is \u-escaped, so the file is ASCII: Latin-1 for Allure 2, UTF-8 for Allure 3
    write_atomic(alluredir / "environment.properties", environment_properties(record).encode("ascii"))
    write_atomic(alluredir / "categories.json", json.dumps(cats, indent=2))
    if config_dir is not None:
        config = {"name": report_name(record), "categories": cats}
        write_atomic(config_dir / "allurerc.json", json.dumps(config, indent=2))
