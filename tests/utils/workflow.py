"""The small world of tests/utils/world.py with what the manifest workflow needs, through the real API:
two more transporters with a truck each (legs 2 and 3), a transfer station, a second receiver (a
redirect's destination), and helpers to carry a manifest through its paperwork."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.utils.world import CEMENT, PLANT, World, credit_code, square

TRANSFER = (109.88, 40.62)
LANDFILL = (110.00, 40.70)
PLATES = {"transporter": "蒙B12345", "haulier2": "蒙B23456", "haulier3": "蒙B34567"}


def _created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def extend(world: World) -> World:
    """Add haulier2 and haulier3 (transporters, one truck each), a transfer station of haulier2's, and
    receiver2 (a landfill permitted SW02). Idempotent for a world built once per module."""
    if "haulier2" in world.ids:
        return world
    for name, roles, region in (("haulier2", ["transporter"], "150206"), ("haulier3", ["transporter"], "150207"),
                                ("receiver2", ["receiver"], "150208")):
        body = {"name": f"{name} co", "credit_code": credit_code(region), "roles": roles, "region_code": region}
        world.ids[name] = _created(world.post("/v1/enterprises", body, "regulator"))["id"]
        world.keys[name] = _created(world.post(f"/v1/enterprises/{world.ids[name]}/keys", {}, "regulator"))["key"]
    for name in ("haulier2", "haulier3"):
        _created(world.post("/v1/vehicles", {"transporter_id": world.ids[name], "plate": PLATES[name],
                                             "tare_kg": 14000, "max_load_kg": 32000}, name))
    world.ids["transfer"] = _created(world.post("/v1/sites", {
        "enterprise_id": world.ids["haulier2"], "name": "Transfer station", "kind": "transfer",
        "geofence": square(*TRANSFER)}, "haulier2"))["id"]
    world.ids["landfill"] = _created(world.post("/v1/sites", {
        "enterprise_id": world.ids["receiver2"], "name": "Landfill", "kind": "landfill",
        "geofence": square(*LANDFILL), "permitted_codes": ["SW02", "SW03"],
        "annual_capacity_kg": 100_000_000}, "receiver2"))["id"]
    return world


def leg(world: World, name: str) -> dict:
    return {"transporter_id": world.ids[name], "vehicle_plate": PLATES[name]}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def dispatched(world: World, at: str | None = None, **overrides) -> str:
    """Filed (an hour before ``at``, when given) and dispatched at ``at``."""
    if at is not None and "at" not in overrides:
        overrides["at"] = (datetime.fromisoformat(at) - timedelta(hours=1)).isoformat()
    manifest_no = world.file(**overrides)
    ok(world.post(f"/v1/manifests/{manifest_no}/dispatch", {"at": at} if at else {}, "generator"))
    return manifest_no


def received(world: World, accepted_kg: int, refused_kg: int | None = None, **overrides) -> str:
    """A dispatched manifest received with ``accepted_kg`` (and a partial refusal of ``refused_kg``)."""
    manifest_no = dispatched(world, **overrides)
    body: dict = {"accepted_kg": accepted_kg}
    if refused_kg:
        body.update(refused_kg=refused_kg, refusal_reason="wet and mixed with rubble")
    ok(world.post(f"/v1/manifests/{manifest_no}/receive", body, "receiver"))
    return manifest_no


def follow_up_body(world: World, parent: str, kind: str, declared_kg: int, **overrides) -> dict:
    """A follow-up filed by the cement works (the parent's receiver) from its own site."""
    receiver_site = world.ids["plant"] if kind == "return" else world.ids["landfill"]
    body = {"generator_site_id": world.ids["cement"], "transporter_id": world.ids["transporter"],
            "vehicle_plate": PLATES["transporter"], "receiver_site_id": receiver_site, "waste_code": "SW02",
            "declared_kg": declared_kg, "parent_manifest_no": parent, "kind": kind}
    body.update(overrides)
    return body


__all__ = ["CEMENT", "PLANT"]
