"""Building a small known world through the real API, for tests."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import count

from wasteflow.auth.service import bootstrap_admin
from wasteflow.database import session_scope
from wasteflow.registry.rules import credit_code_check_char

_serial = count(1)


def credit_code(region: str = "150202") -> str:
    """A valid GB 32100-2015 code, different each call."""
    body = f"91{region}MA{next(_serial):07d}"[:17]
    body = body.replace("I", "1").replace("O", "0")
    return body + credit_code_check_char(body)


def square(lon: float, lat: float, half_m: float = 150.0) -> dict:
    """A GeoJSON square of side 2·half_m metres centred on (lon, lat)."""
    dlat = half_m / 111_320
    dlon = half_m / (111_320 * math.cos(math.radians(lat)))
    ring = [[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat],
            [lon - dlon, lat + dlat], [lon - dlon, lat - dlat]]
    return {"type": "Polygon", "coordinates": [ring]}


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class World:
    client: object
    admin: str
    regulator: str
    regulator_id: int
    keys: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    def post(self, path: str, body: dict | None, who: str):
        return self.client.post(path, json=body, headers=auth(self.key(who)))

    def get(self, path: str, who: str, **params):
        return self.client.get(path, params=params, headers=auth(self.key(who)))

    def key(self, who: str) -> str:
        return {"admin": self.admin, "regulator": self.regulator}.get(who) or self.keys[who]

    def manifest_body(self, **overrides) -> dict:
        body = {"generator_site_id": self.ids["plant"], "transporter_id": self.ids["transporter"],
                "vehicle_plate": "蒙B12345", "receiver_site_id": self.ids["cement"], "waste_code": "SW02",
                "declared_kg": 30000}
        body.update(overrides)
        return body

    def file(self, **overrides) -> str:
        response = self.post("/v1/manifests", self.manifest_body(**overrides), "generator")
        assert response.status_code == 201, response.text
        return response.json()["manifest_no"]


PLANT = (109.80, 40.60)
CEMENT = (109.95, 40.65)
OTHER_PLANT = (109.70, 40.55)


def _created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def build_world(client, engine) -> World:
    """Region 1502: a power plant (generator), a haulier, a cement plant (receiver), and an outsider."""
    with session_scope(engine) as session:
        admin = bootstrap_admin(session)
    regulator_id = _created(client.post("/v1/regulators", json={"name": "Baotou enforcement", "regions": ["1502"]},
                                        headers=auth(admin)))["id"]
    regulator = _created(client.post(f"/v1/regulators/{regulator_id}/keys", json={}, headers=auth(admin)))["key"]
    world = World(client=client, admin=admin, regulator=regulator, regulator_id=regulator_id)
    for name, roles, region in (("generator", ["generator"], "150202"), ("transporter", ["transporter"], "150203"),
                                ("receiver", ["receiver"], "150204"),
                                ("outsider", ["generator", "receiver"], "150205")):
        body = {"name": f"{name} co", "credit_code": credit_code(region), "roles": roles, "region_code": region}
        world.ids[name] = _created(world.post("/v1/enterprises", body, "regulator"))["id"]
        world.keys[name] = _created(world.post(f"/v1/enterprises/{world.ids[name]}/keys", {}, "regulator"))["key"]
    world.ids["plant"] = _created(world.post("/v1/sites", {
        "enterprise_id": world.ids["generator"], "name": "Power plant", "kind": "plant",
        "geofence": square(*PLANT)}, "generator"))["id"]
    world.ids["cement"] = _created(world.post("/v1/sites", {
        "enterprise_id": world.ids["receiver"], "name": "Cement works", "kind": "utilisation",
        "geofence": square(*CEMENT), "permitted_codes": ["SW02", "SW03", "SW07"],
        "annual_capacity_kg": 500_000_000}, "receiver"))["id"]
    world.ids["outsider_plant"] = _created(world.post("/v1/sites", {
        "enterprise_id": world.ids["outsider"], "name": "Outsider yard", "kind": "storage",
        "geofence": square(*OTHER_PLANT), "permitted_codes": ["SW02"]}, "outsider"))["id"]
    world.ids["vehicle"] = _created(world.post("/v1/vehicles", {
        "transporter_id": world.ids["transporter"], "plate": "蒙B12345", "tare_kg": 15000,
        "max_load_kg": 35000}, "transporter"))["id"]
    for device_id, kind, binding in (("gps-0001", "gps", {"vehicle_plate": "蒙B12345"}),
                                     ("load-0001", "load_cell", {"vehicle_plate": "蒙B12345"}),
                                     ("wb-plant", "weighbridge", {"site_id": world.ids["plant"]}),
                                     ("wb-cement", "weighbridge", {"site_id": world.ids["cement"]})):
        owner = "generator" if device_id == "wb-plant" else "receiver" if device_id == "wb-cement" else "transporter"
        issued = _created(world.post("/v1/devices", {"id": device_id, "kind": kind, **binding}, owner))
        world.secrets[device_id] = issued["secret"]
    return world
