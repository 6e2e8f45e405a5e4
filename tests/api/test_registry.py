"""The registry through the API: enterprises, sites, vehicles, devices, zones, waste categories."""

from __future__ import annotations

import re

import pytest

from tests.utils.api import invalid, problem, violation
from tests.utils.world import credit_code, square

VALID_CODE = "91350100M000100Y43"


@pytest.fixture(scope="module")
def world(shared_world):
    return shared_world


def _enterprise(code: str, region: str = "150202", roles=("generator",), name: str = "Registry co") -> dict:
    return {"name": name, "credit_code": code, "roles": list(roles), "region_code": region}


# --- enterprises ----------------------------------------------------------------------------------

def test_enterprise_registered_and_readable(world):
    code = credit_code("150207")
    response = world.post("/v1/enterprises", _enterprise(code, "150207", ["generator", "receiver"]), "regulator")
    assert response.status_code == 201, response.text
    enterprise_id = response.json()["id"]
    body = world.get(f"/v1/enterprises/{enterprise_id}", "regulator").json()
    assert body == {"id": enterprise_id, "name": "Registry co", "credit_code": code,
                    "roles": ["generator", "receiver"], "region_code": "150207"}
    key = world.post(f"/v1/enterprises/{enterprise_id}/keys", {}, "regulator")
    assert key.status_code == 201 and key.json()["key"].startswith("wf_")
    mine = world.client.get("/v1/enterprises",
                            headers={"Authorization": f"Bearer {key.json()['key']}"}).json()["items"]
    assert [e["id"] for e in mine] == [enterprise_id]


def test_credit_code_rules(world):
    wrong_check = VALID_CODE[:17] + "4"
    body = violation(world.post("/v1/enterprises", _enterprise(wrong_check), "regulator"), "credit_code_check",
                     "credit_code")
    assert "'3'" in body["detail"]
    violation(world.post("/v1/enterprises", _enterprise(VALID_CODE[:17]), "regulator"), "credit_code_length",
              "credit_code")
    violation(world.post("/v1/enterprises", _enterprise("91350100I000100Y43"), "regulator"), "credit_code_charset",
              "credit_code")
    violation(world.post("/v1/enterprises", _enterprise(credit_code(), region="1502"), "regulator"),
              "region_code_format", "region_code")
    invalid(world.post("/v1/enterprises", _enterprise(credit_code(), roles=["landlord"]), "regulator"), "roles.0")
    invalid(world.post("/v1/enterprises", _enterprise(credit_code(), roles=[]), "regulator"), "roles")
    invalid(world.post("/v1/enterprises", dict(_enterprise(credit_code()), tax_no="x"), "regulator"), "tax_no")


def test_duplicate_credit_code_is_409(world):
    first = world.post("/v1/enterprises", _enterprise(VALID_CODE, "150208"), "regulator")
    assert first.status_code == 201, first.text
    problem(world.post("/v1/enterprises", _enterprise(VALID_CODE, "150208", name="Again"), "regulator"), 409,
            slug="conflict")
    # the same code typed in lower case and with spaces is the same code
    problem(world.post("/v1/enterprises", _enterprise("  " + VALID_CODE.lower(), "150208"), "admin"), 409)
    listed = world.get("/v1/enterprises", "admin").json()["items"]
    names = [e["name"] for e in listed if e["credit_code"] == VALID_CODE]
    assert names == ["Registry co"]


# --- sites ----------------------------------------------------------------------------------------

def _site(world, geofence, **extra) -> dict:
    return {"enterprise_id": world.ids["receiver"], "name": "Yard", "kind": "storage", "geofence": geofence,
            **extra}


def _ring(*points):
    return {"type": "Polygon", "coordinates": [[list(p) for p in points]]}


GEOFENCES = [
    ("not_closed", _ring((109.90, 40.60), (109.91, 40.60), (109.91, 40.61), (109.90, 40.61)),
     "geofence_not_closed"),
    ("bow_tie", _ring((109.90, 40.60), (109.91, 40.61), (109.91, 40.60), (109.90, 40.61), (109.90, 40.60)),
     "geofence_invalid"),
    ("too_big", square(109.9, 40.6, half_m=20_000), "geofence_size"),
    ("too_small", square(109.9, 40.6, half_m=1), "geofence_size"),
    ("lat_lon_swapped", {"type": "Polygon", "coordinates": [[[lat, lon] for lon, lat in
                                                            square(109.9, 40.6)["coordinates"][0]]]},
     "geofence_position"),
    ("point", {"type": "Point", "coordinates": [109.9, 40.6]}, "geofence_type"),
    ("linestring", {"type": "LineString", "coordinates": [[109.9, 40.6], [109.91, 40.6]]}, "geofence_type"),
    ("feature", {"type": "Feature", "geometry": square(109.9, 40.6)}, "geofence_type"),
    ("three_positions", _ring((109.90, 40.60), (109.91, 40.60), (109.90, 40.60)), "geofence_ring"),
    ("no_coordinates", {"type": "Polygon"}, "geofence_coordinates"),
    ("empty_coordinates", {"type": "Polygon", "coordinates": []}, "geofence_coordinates"),
    ("text_positions", _ring(("a", "b"), (1, 2), (2, 2), ("a", "b")), "geofence_position"),
    ("boolean_positions", _ring((True, False), (1, 2), (2, 2), (True, False)), "geofence_position"),
    ("mixed_dimensions", _ring((109.90, 40.60), (109.91, 40.60, 5.0), (109.91, 40.61), (109.90, 40.60)),
     "geofence_invalid"),
    ("all_one_point", _ring((109.9, 40.6), (109.9, 40.6), (109.9, 40.6), (109.9, 40.6)), "geofence_invalid"),
]


@pytest.mark.parametrize("case, geofence, rule", GEOFENCES, ids=[g[0] for g in GEOFENCES])
def test_geofence_validation(world, case, geofence, rule):
    before = len(world.get("/v1/sites", "admin").json()["items"])
    violation(world.post("/v1/sites", _site(world, geofence), "receiver"), rule, "geofence")
    violation(world.post("/v1/zones", {"name": "Zone", "kind": "restricted", "geofence": geofence}, "regulator"),
              rule, "geofence")
    assert len(world.get("/v1/sites", "admin").json()["items"]) == before


def test_multipolygon_and_holes_accepted(world):
    multi = {"type": "MultiPolygon", "coordinates": [square(109.90, 40.60)["coordinates"],
                                                     square(109.92, 40.60)["coordinates"]]}
    response = world.post("/v1/sites", _site(world, multi, name="Two yards"), "receiver")
    assert response.status_code == 201, response.text
    listed = {s["id"]: s for s in world.get("/v1/sites", "receiver").json()["items"]}
    assert listed[response.json()["id"]]["geofence"] == multi
    outer = square(109.95, 40.70, half_m=300)["coordinates"][0]
    hole = square(109.95, 40.70, half_m=100)["coordinates"][0]
    holed = {"type": "Polygon", "coordinates": [outer, hole]}
    assert world.post("/v1/sites", _site(world, holed, name="Ring yard"), "receiver").status_code == 201
    three_d = {"type": "Polygon", "coordinates": [[p + [1000.0] for p in square(109.97, 40.7)["coordinates"][0]]]}
    assert world.post("/v1/sites", _site(world, three_d, name="High yard"), "receiver").status_code == 201


def test_site_permits(world):
    response = world.post("/v1/sites", _site(world, square(109.99, 40.7), permitted_codes=["SW02", "HW08"],
                                             annual_capacity_kg=1_000_000), "receiver")
    assert response.status_code == 201, response.text
    violation(world.post("/v1/sites", _site(world, square(109.99, 40.7), permitted_codes=["fly ash"]), "receiver"),
              "waste_code_format", "permitted_codes")
    not_receiver = {"enterprise_id": world.ids["generator"], "name": "Gen yard", "kind": "plant",
                    "geofence": square(109.81, 40.61), "permitted_codes": ["SW02"]}
    violation(world.post("/v1/sites", not_receiver, "generator"), "not_a_receiver", "permitted_codes")
    invalid(world.post("/v1/sites", _site(world, square(109.99, 40.7), kind="castle"), "receiver"), "kind")
    invalid(world.post("/v1/sites", _site(world, square(109.99, 40.7), annual_capacity_kg=-1), "receiver"),
            "annual_capacity_kg")


def test_ids_beyond_64_bits_are_not_a_500(world):
    big = 10**25
    for response in (world.get(f"/v1/enterprises/{big}", "admin"),
                     world.post(f"/v1/enterprises/{big}/keys", {}, "admin"),
                     world.post(f"/v1/regulators/{big}/keys", {}, "admin"),
                     world.post("/v1/sites", _site(world, square(109.9, 40.6)) | {"enterprise_id": big}, "admin"),
                     world.post("/v1/vehicles", {"transporter_id": big, "plate": "蒙B45678", "tare_kg": 1,
                                                 "max_load_kg": 1}, "admin"),
                     world.post("/v1/devices", {"id": "wb-big", "kind": "weighbridge", "site_id": big}, "admin"),
                     world.post("/v1/sites", _site(world, square(109.9, 40.6), annual_capacity_kg=10**19), "admin")):
        assert response.status_code in (404, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")


# --- vehicles -------------------------------------------------------------------------------------

@pytest.mark.parametrize("plate, stored", [("蒙B23456", "蒙B23456"), ("蒙BD12345", "蒙BD12345"),
                                           ("蒙B12345D", "蒙B12345D"), ("蒙bd1234 ", "蒙BD1234"),
                                           ("京A1234挂", "京A1234挂"), ("蒙BDF12345", None)])
def test_plate_formats_accepted(world, plate, stored):
    response = world.post("/v1/vehicles", {"transporter_id": world.ids["transporter"], "plate": plate,
                                           "tare_kg": 15000, "max_load_kg": 35000}, "transporter")
    if stored is None:  # 7 characters after the letter: neither ordinary nor new energy
        violation(response, "plate_format", "plate")
        return
    assert response.status_code == 201, response.text
    assert response.json()["plate"] == stored
    assert set(response.json()) >= {"id", "plate", "transporter_id", "tare_kg", "max_load_kg"}


@pytest.mark.parametrize("plate", ["ABC123", "蒙B1234", "蒙B123456", "蒙I12345", "X B12345", "蒙BD12345X", "蒙B1234567",
                                   "B12345", ""])
def test_plate_formats_refused(world, plate):
    violation(world.post("/v1/vehicles", {"transporter_id": world.ids["transporter"], "plate": plate,
                                          "tare_kg": 15000, "max_load_kg": 35000}, "transporter"),
              "plate_format", "plate")


def test_vehicle_rules(world):
    body = {"transporter_id": world.ids["transporter"], "plate": "蒙B12345", "tare_kg": 15000, "max_load_kg": 35000}
    problem(world.post("/v1/vehicles", body, "transporter"), 409, slug="conflict")
    problem(world.post("/v1/vehicles", dict(body, plate="蒙b12345"), "regulator"), 409)
    violation(world.post("/v1/vehicles", dict(body, transporter_id=world.ids["generator"], plate="蒙B34567"),
                         "regulator"), "not_a_transporter", "transporter_id")
    invalid(world.post("/v1/vehicles", dict(body, plate="蒙B34567", tare_kg=0), "transporter"), "tare_kg")
    invalid(world.post("/v1/vehicles", dict(body, plate="蒙B34567", max_load_kg=-5), "transporter"), "max_load_kg")
    ok = world.post("/v1/vehicles", dict(body, plate="蒙B34567"), "regulator")
    assert ok.status_code == 201, ok.text
    plates = [v["plate"] for v in world.get("/v1/vehicles", "transporter").json()["items"]]
    assert plates.count("蒙B12345") == 1 and "蒙B34567" in plates


# --- devices --------------------------------------------------------------------------------------

def test_device_secret_is_shown_once(world):
    response = world.post("/v1/devices", {"id": "gps-secret-1", "kind": "gps", "vehicle_plate": "蒙B12345"},
                          "transporter")
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{64}", body["secret"])
    assert body["id"] == "gps-secret-1" and body["kind"] == "gps" and body["require_signature"] is True
    assert body["vehicle_id"] == world.ids["vehicle"] and body["site_id"] is None
    assert world.secrets["gps-0001"] != body["secret"]
    for who in ("admin", "regulator", "transporter"):
        for path in ("/v1/vehicles", "/v1/sites", "/v1/enterprises", "/v1/zones", "/openapi.json"):
            assert body["secret"] not in world.get(path, who).text, path
    export = world.get("/v1/ledger/export", "admin")
    assert body["secret"] not in export.text
    # there is no way to read a device back
    assert world.get("/v1/devices/gps-secret-1", "admin").status_code in (404, 405)
    problem(world.post("/v1/devices", {"id": "gps-secret-1", "kind": "gps", "vehicle_plate": "蒙B12345"},
                       "transporter"), 409, slug="conflict")


def test_device_bindings(world):
    weighbridge = world.post("/v1/devices", {"id": "wb-extra", "kind": "weighbridge", "site_id": world.ids["cement"]},
                             "receiver")
    assert weighbridge.status_code == 201, weighbridge.text
    assert weighbridge.json()["site_id"] == world.ids["cement"] and weighbridge.json()["vehicle_id"] is None
    violation(world.post("/v1/devices", {"id": "wb-2", "kind": "weighbridge", "vehicle_plate": "蒙B12345"},
                         "transporter"), "weighbridge_binding", "site_id")
    violation(world.post("/v1/devices", {"id": "wb-3", "kind": "weighbridge"}, "receiver"),
              "weighbridge_binding", "site_id")
    violation(world.post("/v1/devices", {"id": "gps-2", "kind": "gps", "site_id": world.ids["plant"]}, "generator"),
              "vehicle_binding", "vehicle_plate")
    violation(world.post("/v1/devices", {"id": "load-2", "kind": "load_cell"}, "transporter"),
              "vehicle_binding", "vehicle_plate")
    violation(world.post("/v1/devices", {"id": "gps-3", "kind": "gps", "vehicle_plate": "蒙B99999"}, "transporter"),
              "unknown_reference", "vehicle_plate")
    violation(world.post("/v1/devices", {"id": "wb-4", "kind": "weighbridge", "site_id": 99999}, "regulator"),
              "unknown_reference", "site_id")
    invalid(world.post("/v1/devices", {"id": "cam-1", "kind": "camera", "vehicle_plate": "蒙B12345"}, "transporter"),
            "kind")


@pytest.mark.parametrize("device_id", ["gps 0001", "gps/0001", "gps-ü", "x" * 65, "owntracks:a/b/c", ""])
def test_bad_device_id_is_422(world, device_id):
    response = world.post("/v1/devices", {"id": device_id, "kind": "gps", "vehicle_plate": "蒙B12345"}, "transporter")
    assert response.status_code == 422, response.text
    if response.json()["rule"] != "validation":  # "" is refused by the schema already
        violation(response, "device_id_format", "id")


def test_owntracks_phones_must_not_require_signature(world):
    violation(world.post("/v1/devices", {"id": "owntracks:driver/phone", "kind": "gps", "vehicle_plate": "蒙B12345"},
                         "transporter"), "owntracks_unsigned", "require_signature")
    response = world.post("/v1/devices", {"id": "owntracks:driver/phone", "kind": "gps", "vehicle_plate": "蒙B12345",
                                          "require_signature": False}, "transporter")
    assert response.status_code == 201, response.text
    assert response.json()["require_signature"] is False and len(response.json()["secret"]) == 64


@pytest.mark.parametrize("device_id", ["wasteflow-bridge", "wasteflow-bridge-2", "WasteFlow-gateway-jt808",
                                       "regulator-alerts", "ot.alice.phone"])
def test_service_account_names_cannot_be_device_ids(world, device_id):
    """A device named like a broker service account would get a second password line for it."""
    response = world.post("/v1/devices", {"id": device_id, "kind": "gps", "vehicle_plate": "蒙B12345"}, "transporter")
    violation(response, "reserved_device_id", "id")


def test_owntracks_phones_cannot_share_a_broker_name(world):
    first = {"id": "owntracks:a.b/c", "kind": "gps", "vehicle_plate": "蒙B12345", "require_signature": False}
    assert world.post("/v1/devices", first, "transporter").status_code == 201
    clash = world.post("/v1/devices", {**first, "id": "owntracks:a/b.c"}, "transporter")
    assert clash.status_code == 409, clash.text
    assert clash.json()["field"] == "id" and "ot.a.b.c" in clash.json()["detail"]


# --- zones and categories ---------------------------------------------------------------------------

def test_zones(world):
    response = world.post("/v1/zones", {"name": "Yellow River intake", "kind": "restricted",
                                        "geofence": square(109.87, 40.62, 400)}, "regulator")
    assert response.status_code == 201, response.text
    zones = world.get("/v1/zones", "transporter").json()["items"]
    zone = next(z for z in zones if z["id"] == response.json()["id"])
    assert zone["kind"] == "restricted" and zone["name"] == "Yellow River intake"
    invalid(world.post("/v1/zones", {"name": "x", "kind": "parking", "geofence": square(109.87, 40.62)},
                       "regulator"), "kind")


def test_waste_categories(world):
    categories = {c["code"]: c for c in world.get("/v1/waste-categories", "generator").json()}
    expected = {"SW01", "SW02", "SW03", "SW04", "SW05", "SW06", "SW07", "SW09", "SW10", "SW11", "SW12", "SW13",
                "SW14", "SW15", "SW16", "SW17", "SW59"}
    assert expected <= set(categories)
    assert categories["SW07"]["tolerance_pct"] == 5.0
    assert categories["SW02"]["tolerance_pct"] is None and categories["SW02"]["hazardous"] is False


def test_hazardous_code_with_subcode_is_accepted_when_permitted(world):
    site = world.post("/v1/sites", _site(world, square(109.93, 40.66), name="HW yard", kind="disposal",
                                         permitted_codes=["HW08"]), "receiver")
    assert site.status_code == 201, site.text
    filed = world.post("/v1/manifests", world.manifest_body(receiver_site_id=site.json()["id"],
                                                            waste_code="HW08 900-249-08", declared_kg=8000),
                       "generator")
    assert filed.status_code == 201, filed.text
    manifest = world.get(f"/v1/manifests/{filed.json()['manifest_no']}", "receiver").json()
    assert manifest["waste_code"] == "HW08 900-249-08"
    assert world.post("/v1/manifests", world.manifest_body(receiver_site_id=site.json()["id"], waste_code="HW08"),
                      "generator").status_code == 201
    violation(world.post("/v1/manifests", world.manifest_body(receiver_site_id=site.json()["id"],
                                                              waste_code="HW09 900-007-09"), "generator"),
              "receiver_not_permitted", "receiver_site_id")
    violation(world.post("/v1/manifests", world.manifest_body(receiver_site_id=site.json()["id"],
                                                              waste_code="HW08900-249-08"), "generator"),
              "waste_code_format", "waste_code")
    # a permit for HW08 does not cover HW08x-looking codes
    violation(world.post("/v1/manifests", world.manifest_body(waste_code="HW08 900-249-08"), "generator"),
              "receiver_not_permitted", "receiver_site_id")
