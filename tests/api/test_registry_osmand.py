"""OsmAnd phones in the registry (devices.md, "OsmAnd HTTP"): registered as ``osmand:{id}``,
unsigned, gps, behind the HTTP gateway's broker account rather than one of their own."""

from __future__ import annotations

from tests.utils.api import violation
from wasteflow.broker.service import all_accounts


def phone(device_id: str, **extra) -> dict:
    return {"id": device_id, "kind": "gps", "vehicle_plate": "蒙B12345", **extra}


def test_a_phone_registers_unsigned_with_the_osmand_protocol(world):
    response = world.post("/v1/devices", phone("osmand:358240051111110"), "transporter")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["protocol"] == "osmand" and body["require_signature"] is False
    explicit = world.post("/v1/devices", phone("osmand:driver.wang", protocol="osmand", require_signature=False),
                          "transporter")
    assert explicit.status_code == 201 and explicit.json()["protocol"] == "osmand"


def test_rules_name_the_field(world):
    violation(world.post("/v1/devices", phone("osmand:p1", require_signature=True), "transporter"),
              "osmand_unsigned", "require_signature")
    violation(world.post("/v1/devices", {"id": "osmand:p1", "kind": "load_cell", "vehicle_plate": "蒙B12345"},
                         "transporter"), "osmand_kind", "kind")
    violation(world.post("/v1/devices", phone("phone-1", protocol="osmand"), "transporter"), "osmand_id", "id")
    violation(world.post("/v1/devices", phone("osmand:p1", protocol="jt808", terminal_id="13900000009"),
                         "transporter"), "osmand_id", "protocol")
    violation(world.post("/v1/devices", phone("osmand:a phone"), "transporter"), "device_id_format", "id")


def test_phones_get_no_broker_account_of_their_own_but_the_gateways_acl_names_them(world, engine):
    assert world.post("/v1/devices", phone("osmand:acl-phone"), "transporter").status_code == 201
    accounts = all_accounts(engine, "wasteflow-bridge", "pw", osmand=("wasteflow-osmand", "gw-pw"))
    names = [a.username for a in accounts]
    assert not any(name.startswith("osmand:") for name in names), "a ':' would break the password file"
    gateway = next(a for a in accounts if a.username == "wasteflow-osmand")
    assert "wf/v1/dev/osmand:acl-phone/gps" in gateway.publish and "wf/v1/quarantine/osmand" in gateway.publish
    assert "wasteflow-osmand" not in [a.username for a in all_accounts(engine, "wasteflow-bridge", "pw")]
