"""Every refusal at filing (domain.md) is a 422 naming its rule and field, and stores nothing."""

from __future__ import annotations

import pytest

from tests.utils.api import all_manifests, invalid, ledger_entries, violation
from tests.utils.world import credit_code

LINE = {"type": "LineString", "coordinates": [[109.80, 40.60], [109.95, 40.65]]}

# (case id, manifest overrides, rule, field); "@name" values are looked up in world.ids
REFUSALS = [
    ("receiver_not_permitted", {"waste_code": "SW04"}, "receiver_not_permitted", "receiver_site_id"),
    ("receiver_site_not_a_receiver", {"receiver_site_id": "@plant"}, "not_a_receiver", "receiver_site_id"),
    ("receiver_site_unknown", {"receiver_site_id": 99999}, "unknown_site", "receiver_site_id"),
    ("vehicle_not_transporters", {"transporter_id": "@other_transporter"}, "vehicle_not_transporters",
     "vehicle_plate"),
    ("vehicle_unknown", {"vehicle_plate": "蒙B99999"}, "unknown_vehicle", "vehicle_plate"),
    ("transporter_not_a_transporter", {"transporter_id": "@receiver"}, "not_a_transporter", "transporter_id"),
    ("transporter_unknown", {"transporter_id": 99999}, "not_a_transporter", "transporter_id"),
    ("declared_over_max_load", {"declared_kg": 35001}, "declared_kg_over_max_load", "declared_kg"),
    ("declared_zero", {"declared_kg": 0}, "declared_kg_not_positive", "declared_kg"),
    ("declared_negative", {"declared_kg": -300}, "declared_kg_not_positive", "declared_kg"),
    ("generator_site_of_another", {"generator_site_id": "@outsider_plant"}, "site_not_generators",
     "generator_site_id"),
    ("generator_site_of_receiver", {"generator_site_id": "@cement"}, "site_not_generators", "generator_site_id"),
    ("generator_site_unknown", {"generator_site_id": 99999}, "unknown_site", "generator_site_id"),
    ("route_point", {"route": {"type": "Point", "coordinates": [109.8, 40.6]}}, "route_type", "route"),
    ("route_polygon", {"route": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
     "route_type", "route"),
    ("route_one_position", {"route": {"type": "LineString", "coordinates": [[109.8, 40.6]]}},
     "route_coordinates", "route"),
    ("route_no_coordinates", {"route": {"type": "LineString"}}, "route_coordinates", "route"),
    ("route_same_point_twice", {"route": {"type": "LineString", "coordinates": [[109.8, 40.6], [109.8, 40.6]]}},
     "route_degenerate", "route"),
    ("route_lat_out_of_range", {"route": {"type": "LineString", "coordinates": [[40.6, 109.8], [40.65, 109.95]]}},
     "geofence_position", "route"),
    ("route_lon_out_of_range", {"route": {"type": "LineString", "coordinates": [[189.8, 40.6], [109.95, 40.65]]}},
     "geofence_position", "route"),
    ("route_position_not_numbers", {"route": {"type": "LineString", "coordinates": [["a", "b"], [1, 2]]}},
     "geofence_position", "route"),
    ("route_position_too_short", {"route": {"type": "LineString", "coordinates": [[109.8], [109.9, 40.6]]}},
     "geofence_position", "route"),
    ("route_mixed_dimensions", {"route": {"type": "LineString",
                                          "coordinates": [[109.8, 40.6], [109.9, 40.62, 1000.0], [109.95, 40.65]]}},
     "route_invalid", "route"),
    ("waste_code_malformed", {"waste_code": "fly ash"}, "waste_code_format", "waste_code"),
    ("waste_code_hw51", {"waste_code": "HW51"}, "waste_code_format", "waste_code"),
    ("waste_code_bad_subcode", {"waste_code": "HW08 900-249"}, "waste_code_format", "waste_code"),
    ("waste_code_unknown_sw", {"waste_code": "SW08"}, "unknown_waste_code", "waste_code"),
    ("corridor_zero", {"corridor_m": 0}, "corridor_range", "corridor_m"),
    ("corridor_negative", {"corridor_m": -10}, "corridor_range", "corridor_m"),
    ("corridor_too_wide", {"corridor_m": 50_001}, "corridor_range", "corridor_m"),
    ("arrival_before_departure", {"planned_departure": "2026-11-23T10:00:00+08:00",
                                  "planned_arrival": "2026-11-23T09:00:00+08:00"},
     "planned_arrival_before_departure", "planned_arrival"),
]

MALFORMED = [
    ("unknown_field", {"colour": "grey"}, "colour"),
    ("declared_kg_text", {"declared_kg": "a lot"}, "declared_kg"),
    ("declared_kg_fraction", {"declared_kg": 100.5}, "declared_kg"),
    ("route_not_object", {"route": [[109.8, 40.6], [109.9, 40.6]]}, "route"),
    ("naive_planned_departure", {"planned_departure": "2026-11-23T08:00:00"}, "planned_departure"),
    ("missing_waste_code", {"waste_code": None}, "waste_code"),
]


def _other_transporter(world) -> int:
    body = {"name": "Other haulier", "credit_code": credit_code("150206"), "roles": ["transporter"],
            "region_code": "150206"}
    response = world.post("/v1/enterprises", body, "regulator")
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _resolve(world, overrides: dict) -> dict:
    if "@other_transporter" in overrides.values():
        world.ids["other_transporter"] = _other_transporter(world)
    return {k: world.ids[v[1:]] if isinstance(v, str) and v.startswith("@") else v for k, v in overrides.items()}


def _counts(world) -> tuple[int, int, int]:
    return len(all_manifests(world)), len(all_manifests(world, "generator")), ledger_entries(world)


@pytest.mark.parametrize("case, overrides, rule, field", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refusal_is_a_422_and_stores_nothing(shared_world, case, overrides, rule, field):
    world = shared_world
    overrides = _resolve(world, overrides)
    before = _counts(world)
    body = violation(world.post("/v1/manifests", world.manifest_body(**overrides), "generator"), rule, field)
    assert body["errors"][0]["detail"] == body["detail"]
    assert _counts(world) == before


@pytest.mark.parametrize("case, overrides, field", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_body_is_a_validation_422(shared_world, case, overrides, field):
    world = shared_world
    before = _counts(world)
    invalid(world.post("/v1/manifests", world.manifest_body(**overrides), "generator"), field)
    assert _counts(world) == before


BEYOND_RANGE = [
    ("planned_departure_before_year_1_utc", {"planned_departure": "0001-01-01T00:00:00+08:00"}),
    ("planned_arrival_after_year_9999_utc", {"planned_arrival": "9999-12-31T23:00:00-08:00"}),
    ("generator_site_id_beyond_64_bits", {"generator_site_id": 10**25}),
    ("transporter_id_beyond_64_bits", {"transporter_id": -(10**25)}),
]


@pytest.mark.parametrize("case, overrides", BEYOND_RANGE, ids=[c[0] for c in BEYOND_RANGE])
def test_values_the_database_cannot_hold_are_422_not_500(shared_world, case, overrides):
    world = shared_world
    before = _counts(world)
    response = world.post("/v1/manifests", world.manifest_body(**overrides), "generator")
    assert response.status_code == 422, response.text
    assert response.json()["rule"] in ("out_of_range", "unknown_site", "not_a_transporter"), response.text
    assert _counts(world) == before


def test_first_refusal_on_an_empty_world_stores_nothing(shared_world):
    """Runs first in this module: the world has no manifest yet, and after a refusal still has none."""
    world = shared_world
    before = ledger_entries(world)
    violation(world.post("/v1/manifests", world.manifest_body(declared_kg=99_999), "generator"),
              "declared_kg_over_max_load", "declared_kg")
    assert all_manifests(world) == [] and all_manifests(world, "generator") == []
    assert ledger_entries(world) == before


def test_boundaries_that_are_accepted(shared_world):
    world = shared_world
    before = ledger_entries(world)
    numbers = [
        world.file(declared_kg=35000),  # exactly the maximum load
        world.file(declared_kg=1),
        world.file(corridor_m=50_000, route=LINE),
        world.file(route={"type": "LineString", "coordinates": [[109.8, 40.6, 1050.0], [109.9, 40.62, 1049.0]]}),
        world.file(waste_code="SW07"),
        world.file(vehicle_plate=" 蒙b12345 "),  # normalised
    ]
    assert len(set(numbers)) == 6
    assert ledger_entries(world) == before + 6
    default = world.get(f"/v1/manifests/{numbers[0]}", "generator").json()
    assert default["corridor_m"] == 500 and default["route"] is None
    assert world.get(f"/v1/manifests/{numbers[-1]}", "generator").json()["vehicle_plate"] == "蒙B12345"


def test_many_refusals_in_a_row_leave_the_counter_alone(shared_world):
    """Refused filings must not burn manifest numbers either."""
    world = shared_world
    first = world.file()
    for _ in range(3):
        violation(world.post("/v1/manifests", world.manifest_body(declared_kg=0), "generator"),
                  "declared_kg_not_positive", "declared_kg")
    second = world.file()
    assert int(second.rsplit("-", 1)[1]) == int(first.rsplit("-", 1)[1]) + 1
