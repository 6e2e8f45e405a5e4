"""JT/T 808 terminals in the registry (api.md): protocol, terminal id, the vendor load item."""

from __future__ import annotations

import pytest

from tests.utils.api import invalid, problem, violation


@pytest.fixture(scope="module")
def world(shared_world):
    return shared_world


def terminal(device_id: str, terminal_id: str | None, **extra) -> dict:
    body = {"id": device_id, "kind": "gps", "vehicle_plate": "蒙B12345", "protocol": "jt808", **extra}
    if terminal_id is not None:
        body["terminal_id"] = terminal_id
    return body


def test_a_terminal_registers_unsigned_with_its_id_without_leading_zeros(world):
    response = world.post("/v1/devices", terminal("jt-1", "013912345678",
                                                  load_item={"id": 85, "bytes": 4, "unit_kg": 0.1}), "transporter")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["protocol"] == "jt808" and body["terminal_id"] == "13912345678"
    assert body["require_signature"] is False, "a JT/T 808 terminal never signs: the default is false"
    assert body["load_item"] == {"id": 85, "bytes": 4, "unit_kg": 0.1} and len(body["secret"]) == 64
    plain = world.post("/v1/devices", {"id": "gps-plain", "kind": "gps", "vehicle_plate": "蒙B12345"}, "transporter")
    assert plain.json()["protocol"] is None and plain.json()["terminal_id"] is None


def test_the_same_terminal_in_either_version_is_one_terminal(world):
    assert world.post("/v1/devices", terminal("jt-2", "000000000000013900000002"[-20:]), "transporter").status_code \
        == 201
    again = world.post("/v1/devices", terminal("jt-2b", "13900000002"), "transporter")
    body = problem(again, 409, slug="conflict")
    assert "13900000002" in body["detail"]


def test_validation_names_the_field(world):
    violation(world.post("/v1/devices", terminal("jt-3", None), "transporter"), "terminal_id_format", "terminal_id")
    for bad in ("13912-345678", "1" * 21, "000000000000", "", "１３９"):
        violation(world.post("/v1/devices", terminal("jt-3", bad), "transporter"), "terminal_id_format", "terminal_id")
    violation(world.post("/v1/devices", terminal("jt-3", "13900000003", require_signature=True), "transporter"),
              "jt808_unsigned", "require_signature")
    violation(world.post("/v1/devices", {"id": "jt-3", "kind": "load_cell", "vehicle_plate": "蒙B12345",
                                         "protocol": "jt808", "terminal_id": "13900000003"}, "transporter"),
              "jt808_kind", "kind")
    violation(world.post("/v1/devices", {"id": "jt-3", "kind": "gps", "vehicle_plate": "蒙B12345",
                                         "terminal_id": "13900000003"}, "transporter"), "jt808_only", "terminal_id")
    violation(world.post("/v1/devices", {"id": "jt-3", "kind": "gps", "vehicle_plate": "蒙B12345",
                                         "load_item": {"id": 85, "bytes": 4, "unit_kg": 0.1}}, "transporter"),
              "jt808_only", "load_item")
    invalid(world.post("/v1/devices", terminal("jt-3", "13900000003", protocol="gt06"), "transporter"), "protocol")
    for item, field in (({"id": 256, "bytes": 4, "unit_kg": 0.1}, "load_item.id"),
                        ({"id": 85, "bytes": 0, "unit_kg": 0.1}, "load_item.bytes"),
                        ({"id": 85, "bytes": 4, "unit_kg": 0}, "load_item.unit_kg"),
                        ({"id": 85, "bytes": 4}, "load_item.unit_kg"),
                        ({"id": 85, "bytes": 4, "unit_kg": 1, "offset": 3}, "load_item.offset")):
        invalid(world.post("/v1/devices", terminal("jt-3", "13900000003", load_item=item), "transporter"), field)
    assert world.post("/v1/devices", terminal("jt-3", "13900000003"), "transporter").status_code == 201
