"""A second region beside the test world's 1502: a regulator of 1503 and a firm there with a truck
and a GPS terminal, for tests of who sees what across regions (issue 12 item 9)."""

from __future__ import annotations

from tests.utils.world import World, credit_code


def _created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def add_region_b(world: World) -> World:
    """Adds keys ``regulator_b`` and ``hauler_b`` (a transporter of region 150302 with 蒙C00001 and gps-b)."""
    regulator = _created(world.post("/v1/regulators", {"name": "Wuhai enforcement", "regions": ["1503"]}, "admin"))
    world.keys["regulator_b"] = _created(world.post(f"/v1/regulators/{regulator['id']}/keys", {}, "admin"))["key"]
    world.ids["regulator_b"] = regulator["id"]
    body = {"name": "hauler b co", "credit_code": credit_code("150302"), "roles": ["transporter"],
            "region_code": "150302"}
    world.ids["hauler_b"] = _created(world.post("/v1/enterprises", body, "regulator_b"))["id"]
    world.keys["hauler_b"] = _created(world.post(f"/v1/enterprises/{world.ids['hauler_b']}/keys", {},
                                                 "regulator_b"))["key"]
    _created(world.post("/v1/vehicles", {"transporter_id": world.ids["hauler_b"], "plate": "蒙C00001",
                                         "tare_kg": 15000, "max_load_kg": 35000}, "hauler_b"))
    world.secrets["gps-b"] = _created(world.post("/v1/devices", {"id": "gps-b", "kind": "gps",
                                                                  "vehicle_plate": "蒙C00001"}, "hauler_b"))["secret"]
    return world
