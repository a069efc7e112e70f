"""The evidence map carries each clip's provenance (where it came from and when it was taken) as the
run record holds it; a record from before provenance reads as it did."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from harness.core.evidence import Provenance
from harness.report.manifest import evidence_items, evidence_map


def test_origin_goes_from_the_record_into_the_evidence_map(tmp_path: Path) -> None:
    clip = tmp_path / "evidence" / "preroll" / "CLIP0001.MP4"
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"clip")
    origin = Provenance(
        "mass_storage",
        "DCIM/100MEDIA/CLIP0001.MP4",
        "2026-12-05T10:15:00.000+00:00",
        (("device", "/dev/sdc1"), ("label", "BC200"), ("usb_serial", "BC200-00731")),
    )
    sha = hashlib.sha256(b"clip").hexdigest()
    record = {
        "tests": [
            {
                "scenario": "preroll",
                "clips": [
                    {
                        "path": str(clip),
                        "sha256": sha,
                        "camera_path": "100MEDIA/CLIP0001.MP4",
                        "origin": origin.record(),
                    },
                    {"path": str(clip), "sha256": sha},  # a record written before clips had an origin
                ],
            }
        ]
    }
    items = evidence_items(record, tmp_path)
    assert items[0].origin == origin.record() and items[1].origin is None
    rows = json.loads(evidence_map(items, tmp_path))["clips"]
    assert rows[0]["origin"] == {
        "kind": "mass_storage",
        "path": "DCIM/100MEDIA/CLIP0001.MP4",
        "taken_utc": "2026-12-05T10:15:00.000+00:00",
        "device": "/dev/sdc1",
        "label": "BC200",
        "usb_serial": "BC200-00731",
    }
    assert "origin" not in rows[1]
