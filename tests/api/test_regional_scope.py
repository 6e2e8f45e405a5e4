"""Regulators are kept to their regions (issue 12 item 9): quarantine, the ledger export (other
regions' entries as digests that still verify offline) and zones."""

from __future__ import annotations

import json

from sqlmodel import Session

from tests.utils.api import violation
from tests.utils.regions import add_region_b
from tests.utils.world import CEMENT, square
from wasteflow.ledger_verify import main as verify_offline
from wasteflow.ledger_verify import verify_entries
from wasteflow.quarantine.models import QuarantinedMessage


def _reasons(world, who: str) -> list[tuple[str, str]]:
    response = world.get("/v1/quarantine", who)
    assert response.status_code == 200, response.text
    return sorted((item.get("device_id") or "", item["reason"]) for item in response.json()["items"])


def test_quarantine_is_seen_only_in_the_regulators_region(world, engine):
    add_region_b(world)
    with Session(engine) as session:
        for device_id, reason in (("gps-0001", "bad_signature"), ("gps-b", "not_json"), (None, "unknown_device")):
            session.add(QuarantinedMessage(topic=f"wf/v1/dev/{device_id or 'ghost'}/gps", payload=b"{",
                                           reason=reason, device_id=device_id))
        session.commit()
    assert [r for _, r in _reasons(world, "regulator")] == ["bad_signature"]
    assert [r for _, r in _reasons(world, "regulator_b")] == ["not_json"]
    assert len(_reasons(world, "admin")) == 3
    counts = world.get("/v1/quarantine/counts", "regulator_b").json()
    assert counts == {"not_json": 1}
    assert world.get("/v1/quarantine", "hauler_b").status_code == 403


def _export(world, who: str) -> list[dict]:
    response = world.get("/v1/ledger/export", who)
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def test_a_regulators_ledger_export_withholds_other_regions_and_still_verifies(world, tmp_path):
    add_region_b(world)
    no = world.file()
    assert world.post(f"/v1/manifests/{no}/dispatch", {}, "generator").status_code == 200
    full = _export(world, "admin")
    mine = _export(world, "regulator")
    theirs = _export(world, "regulator_b")
    assert len(full) == len(mine) == len(theirs) and len(full) >= 2
    assert [e["hash"] for e in theirs] == [e["hash"] for e in full]
    own = [e for e in mine if e.get("manifest_no") == no]
    assert [e["kind"] for e in own] == ["manifest.filed", "manifest.dispatched"]
    hidden = [e for e in theirs if "content_sha256" in e]
    assert hidden and all("body" not in e and "manifest_no" not in e for e in hidden)
    assert no not in json.dumps(theirs, ensure_ascii=False)
    for entries in (full, mine, theirs):
        assert verify_entries(entries)[0] is True
    path = tmp_path / "theirs.jsonl"
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in theirs), encoding="utf-8")
    assert verify_offline([str(path)]) == 0
    # a withheld entry whose digest is altered breaks the chain there
    forged = [dict(e) for e in theirs]
    forged[hidden[0]["seq"] - 1]["content_sha256"] = "0" * 64
    assert verify_entries(forged)[:3] == (False, hidden[0]["seq"], hidden[0]["seq"])


def test_a_regulator_draws_zones_only_in_its_regions(world):
    add_region_b(world)
    body = {"name": "Water source", "kind": "restricted", "geofence": square(*CEMENT, 300)}
    violation(world.post("/v1/zones", {**body, "region_code": "1503"}, "regulator"),
              "zone_outside_jurisdiction", "region_code")
    violation(world.post("/v1/zones", {**body, "region_code": "15"}, "regulator"),
              "zone_outside_jurisdiction", "region_code")
    assert world.post("/v1/zones", {**body, "region_code": "150202"}, "regulator").status_code == 201
    assert world.post("/v1/zones", body, "regulator_b").status_code == 201
    assert world.post("/v1/zones", body, "generator").status_code == 403
    zones = world.get("/v1/zones", "transporter").json()["items"]
    assert sorted(z["region_code"] for z in zones) == ["150202", "1503"]
