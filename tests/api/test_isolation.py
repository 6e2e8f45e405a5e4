"""Tenant isolation, per api.md: parties see their manifests, everyone else gets a 404 (or a 403 for
the wrong role), regulators see their regions read-only, and the registry is guarded the same way."""

from __future__ import annotations

import pytest

from tests.utils.api import all_manifests, problem, violation
from tests.utils.world import credit_code, square

ACTIONS = {
    "dispatch": {},
    "receive": {"accepted_kg": 29000},
    "reject": {"reason": "not ours"},
    "cancel": {},
}


@pytest.fixture(scope="module")
def world(shared_world):
    world = shared_world
    if "far_regulator" not in world.keys:
        regulator = world.post("/v1/regulators", {"name": "Guangdong", "regions": ["44"]}, "admin")
        assert regulator.status_code == 201, regulator.text
        key = world.post(f"/v1/regulators/{regulator.json()['id']}/keys", {}, "admin")
        assert key.status_code == 201, key.text
        world.keys["far_regulator"] = key.json()["key"]
        world.ids["far_regulator"] = regulator.json()["id"]
        province = world.post("/v1/regulators", {"name": "Inner Mongolia", "regions": ["15"]}, "admin")
        world.keys["province_regulator"] = world.post(f"/v1/regulators/{province.json()['id']}/keys", {},
                                                      "admin").json()["key"]
    return world


@pytest.fixture
def manifest_no(world) -> str:
    return world.file()


@pytest.mark.parametrize("who", ["generator", "transporter", "receiver", "regulator", "province_regulator", "admin"])
def test_parties_and_overseers_read_the_manifest(world, manifest_no, who):
    response = world.get(f"/v1/manifests/{manifest_no}", who)
    assert response.status_code == 200, response.text
    assert response.json()["manifest_no"] == manifest_no
    assert manifest_no in {m["manifest_no"] for m in all_manifests(world, who)}


@pytest.mark.parametrize("who", ["outsider", "far_regulator"])
def test_strangers_get_404_everywhere(world, manifest_no, who):
    problem(world.get(f"/v1/manifests/{manifest_no}", who), 404, slug="not-found")
    problem(world.get(f"/v1/manifests/{manifest_no}/track", who), 404)
    for action, body in ACTIONS.items():
        problem(world.post(f"/v1/manifests/{manifest_no}/{action}", body, who), 404, slug="not-found")
    assert manifest_no not in {m["manifest_no"] for m in all_manifests(world, who)}
    # and the 404 is the same as for a manifest that does not exist
    missing = world.get("/v1/manifests/WF-150202-20200101-000001", who).json()
    seen = world.get(f"/v1/manifests/{manifest_no}", who).json()
    assert {k: v for k, v in missing.items() if k != "detail"} == {k: v for k, v in seen.items() if k != "detail"}
    assert world.get(f"/v1/manifests/{manifest_no}", "generator").json()["status"] == "filed"


def test_strangers_cannot_act_on_a_dispatched_manifest_either(world, manifest_no):
    assert world.post(f"/v1/manifests/{manifest_no}/dispatch", {}, "generator").status_code == 200
    for who in ("outsider", "far_regulator"):
        problem(world.post(f"/v1/manifests/{manifest_no}/receive", {"accepted_kg": 1}, who), 404)
        problem(world.post(f"/v1/manifests/{manifest_no}/reject", {"reason": "x"}, who), 404)
    assert world.get(f"/v1/manifests/{manifest_no}", "receiver").json()["status"] == "dispatched"


@pytest.mark.parametrize("who, action", [
    ("transporter", "dispatch"), ("receiver", "dispatch"), ("regulator", "dispatch"), ("admin", "dispatch"),
    ("transporter", "cancel"), ("receiver", "cancel"), ("regulator", "cancel"),
])
def test_wrong_role_on_a_filed_manifest_is_403(world, manifest_no, who, action):
    problem(world.post(f"/v1/manifests/{manifest_no}/{action}", ACTIONS[action], who), 403, slug="forbidden",
            title="Forbidden")
    assert world.get(f"/v1/manifests/{manifest_no}", "generator").json()["status"] == "filed"


@pytest.mark.parametrize("who, action", [
    ("generator", "receive"), ("transporter", "receive"), ("regulator", "receive"),
    ("generator", "reject"), ("transporter", "reject"), ("regulator", "reject"),
])
def test_wrong_role_on_a_dispatched_manifest_is_403(world, manifest_no, who, action):
    assert world.post(f"/v1/manifests/{manifest_no}/dispatch", {}, "generator").status_code == 200
    problem(world.post(f"/v1/manifests/{manifest_no}/{action}", ACTIONS[action], who), 403, slug="forbidden")
    body = world.get(f"/v1/manifests/{manifest_no}", "generator").json()
    assert body["status"] == "dispatched" and body["accepted_kg"] is None


def test_only_generators_file(world):
    for who in ("transporter", "receiver", "regulator", "admin"):
        problem(world.post("/v1/manifests", world.manifest_body(), who), 403, slug="forbidden")


def test_outsider_cannot_file_from_someone_elses_site(world):
    body = world.manifest_body()
    violation(world.post("/v1/manifests", body, "outsider"), "site_not_generators", "generator_site_id")


def test_listing_shows_only_own_manifests(world, manifest_no):
    mine = {m["manifest_no"] for m in all_manifests(world, "generator")}
    assert manifest_no in mine
    # the outsider files its own, to its own yard: only it (and the overseers) see that one
    outsider = world.post("/v1/manifests", world.manifest_body(
        generator_site_id=world.ids["outsider_plant"], receiver_site_id=world.ids["outsider_plant"]), "outsider")
    assert outsider.status_code == 201, outsider.text
    theirs = outsider.json()["manifest_no"]
    outsider_list = {m["manifest_no"] for m in all_manifests(world, "outsider")}
    assert outsider_list == {theirs}
    for who in ("generator", "receiver", "far_regulator"):
        assert theirs not in {m["manifest_no"] for m in all_manifests(world, who)}
    # the transporter carries it, so the transporter sees it
    assert theirs in {m["manifest_no"] for m in all_manifests(world, "transporter")}
    assert theirs in {m["manifest_no"] for m in all_manifests(world, "regulator")}
    problem(world.get(f"/v1/manifests/{theirs}", "receiver"), 404)
    assert all_manifests(world, "far_regulator") == []
    # filtering by another party does not widen what one sees
    assert all_manifests(world, "outsider", party=world.ids["generator"]) == []


def test_no_key_and_bad_key_are_401(world, manifest_no):
    client = world.client
    for headers in ({}, {"Authorization": "Bearer wf_not-a-key"}, {"Authorization": "Basic dXNlcjpwYXNz"},
                    {"Authorization": "Bearer "}, {"Authorization": world.keys["generator"]}):
        for method, path in (("get", f"/v1/manifests/{manifest_no}"), ("get", "/v1/manifests"),
                             ("post", f"/v1/manifests/{manifest_no}/dispatch"), ("post", "/v1/enterprises"),
                             ("get", "/v1/ledger/verify")):
            response = getattr(client, method)(path, headers=headers)
            body = problem(response, 401, title="Unauthorized")
            assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), (headers, path)
            assert "key" in body["detail"].lower() or "authorization" in body["detail"].lower()
    assert world.get(f"/v1/manifests/{manifest_no}", "generator").json()["status"] == "filed"
    assert client.get("/healthz").status_code == 200


# --- registry -----------------------------------------------------------------------------------

def _enterprise_body(region: str = "150202", roles=("generator",)) -> dict:
    return {"name": "New co", "credit_code": credit_code(region), "roles": list(roles), "region_code": region}


@pytest.mark.parametrize("who", ["generator", "transporter", "receiver", "outsider"])
def test_enterprises_cannot_register_enterprises_zones_or_regulators(world, who):
    problem(world.post("/v1/enterprises", _enterprise_body(), who), 403, slug="forbidden")
    problem(world.post("/v1/zones", {"name": "Rest", "kind": "rest_area", "geofence": square(109.9, 40.6)}, who),
            403, slug="forbidden")
    problem(world.post("/v1/regulators", {"name": "Me", "regions": ["15"]}, who), 403)
    problem(world.post(f"/v1/enterprises/{world.ids[who]}/keys", {}, who), 403)
    problem(world.post(f"/v1/regulators/{world.regulator_id}/keys", {}, who), 403)


def test_regulators_and_admin_register_enterprises_and_zones(world):
    for who in ("regulator", "admin", "province_regulator"):
        response = world.post("/v1/enterprises", _enterprise_body(), who)
        assert response.status_code == 201, response.text
        zone = world.post("/v1/zones", {"name": f"Rest {who}", "kind": "rest_area",
                                        "geofence": square(109.9, 40.6)}, who)
        assert zone.status_code == 201, zone.text


def test_regulator_cannot_register_outside_its_regions(world):
    problem(world.post("/v1/enterprises", _enterprise_body("440300"), "regulator"), 403, slug="forbidden")
    problem(world.post("/v1/enterprises", _enterprise_body("150101"), "regulator"), 403)  # Hohhot, not Baotou
    problem(world.post("/v1/enterprises", _enterprise_body("150202"), "far_regulator"), 403)
    assert world.post("/v1/enterprises", _enterprise_body("440300"), "far_regulator").status_code == 201
    # nor issue keys for, or see, an enterprise outside them
    problem(world.post(f"/v1/enterprises/{world.ids['generator']}/keys", {}, "far_regulator"), 404)
    problem(world.get(f"/v1/enterprises/{world.ids['generator']}", "far_regulator"), 404)
    listed = world.get("/v1/enterprises", "far_regulator").json()["items"]
    assert world.ids["generator"] not in {e["id"] for e in listed}


def test_only_admin_creates_regulators_and_their_keys(world):
    for who in ("regulator", "far_regulator"):
        problem(world.post("/v1/regulators", {"name": "Self-made", "regions": ["15"]}, who), 403, slug="forbidden")
        problem(world.post(f"/v1/regulators/{world.regulator_id}/keys", {}, who), 403)
    problem(world.post("/v1/regulators/99999/keys", {}, "admin"), 404)
    violation(world.post("/v1/regulators", {"name": "Bad", "regions": ["150"]}, "admin"),
              "region_prefix_format", "regions")


def test_enterprise_cannot_register_a_site_for_another(world):
    site = {"enterprise_id": world.ids["receiver"], "name": "Not mine", "kind": "storage",
            "geofence": square(109.85, 40.62)}
    violation(world.post("/v1/sites", site, "outsider"), "unknown_reference", "enterprise_id")
    violation(world.post("/v1/sites", site, "generator"), "unknown_reference", "enterprise_id")
    violation(world.post("/v1/sites", site, "far_regulator"), "unknown_reference", "enterprise_id")
    assert world.post("/v1/sites", site, "receiver").status_code == 201
    assert world.post("/v1/sites", dict(site, name="Regulator-drawn"), "regulator").status_code == 201
    receiver_sites = {s["name"] for s in world.get("/v1/sites", "receiver").json()["items"]}
    assert {"Not mine", "Regulator-drawn"} <= receiver_sites
    assert "Not mine" not in {s["name"] for s in world.get("/v1/sites", "outsider").json()["items"]}


def test_enterprise_cannot_register_vehicles_or_devices_for_another(world):
    vehicle = {"transporter_id": world.ids["transporter"], "plate": "蒙B77777", "tare_kg": 15000,
               "max_load_kg": 30000}
    violation(world.post("/v1/vehicles", vehicle, "outsider"), "unknown_reference", "transporter_id")
    violation(world.post("/v1/devices", {"id": "gps-intruder", "kind": "gps", "vehicle_plate": "蒙B12345"},
                         "outsider"), "unknown_reference", "vehicle_plate")
    violation(world.post("/v1/devices", {"id": "wb-intruder", "kind": "weighbridge", "site_id": world.ids["plant"]},
                         "receiver"), "unknown_reference", "site_id")
    assert "蒙B77777" not in {v["plate"] for v in world.get("/v1/vehicles", "admin").json()["items"]}
    assert world.get("/v1/vehicles", "outsider").json()["items"] == []
