"""Flows and balances against hand-computed totals on the known data set (tests/utils/flows.py), both databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.utils.databases import empty_database
from tests.utils.flows import build
from tests.utils.world import build_world
from wasteflow.api.app import create_app
from wasteflow.config import Settings
from wasteflow.database import get_engine


@pytest.fixture(scope="module")
def data(db_kind, request, tmp_path_factory):
    """One world and data set for the module (read-only tests, except the last, which settles a finding)."""
    url = empty_database(db_kind, request, tmp_path_factory.mktemp("flows"))
    with TestClient(create_app(Settings(database_url=url))) as client:
        world = build_world(client, get_engine(url))
        manifests = build(world, get_engine(url))
        yield world, manifests


def flows(world, who="regulator", **params):
    response = world.get("/v1/flows", who, **params)
    assert response.status_code == 200, response.text
    return response.json()


def rows(body) -> set[tuple]:
    return {(i["period"], i["generator_id"], i["waste_code"], i["manifests"], i["departed_kg"], i["received_kg"],
             i["accepted_kg"]) for i in body["items"]}


def test_flows_by_local_day(data):
    world, _ = data
    g, o = world.ids["generator"], world.ids["outsider"]
    body = flows(world, period="day")
    assert rows(body) == {
        ("2025-03-10", g, "SW02", 2, 58100, 57960, 57960),
        ("2025-03-10", o, "SW02", 1, 12000, 12000, 11990),
        ("2025-03-11", g, "SW02", 1, 30000, 28000, 28000),
        ("2025-03-11", g, "SW03", 2, 45000, 44900, 43900),
        ("2025-03-12", g, "SW02", 1, 10000, 10000, 10000),  # 00:30 local is still 03-11 in UTC
    }
    assert all(i["receiver_id"] == world.ids["receiver"] and i["receiver_site_id"] == world.ids["cement"]
               for i in body["items"])
    assert set(body["items"][0]) >= {"period", "generator_id", "receiver_id", "receiver_site_id", "waste_code",
                                     "manifests", "departed_kg", "received_kg", "accepted_kg"}
    assert (body["in_transit_kg"], body["in_transit_manifests"]) == (20500, 1)
    # m6 rejected whole (declared 15000, never weighed) + m4 shortfall 2000 + m9 acceptance mismatch 1000
    assert (body["disputed_kg"], body["disputed_manifests"]) == (18000, 3)


def test_flows_by_month_and_year(data):
    world, _ = data
    g, o = world.ids["generator"], world.ids["outsider"]
    month = flows(world, period="month")
    assert rows(month) == {("2025-03", g, "SW02", 4, 98100, 95960, 95960),
                           ("2025-03", g, "SW03", 2, 45000, 44900, 43900),
                           ("2025-03", o, "SW02", 1, 12000, 12000, 11990)}
    year = flows(world, "admin", period="year")
    assert {(i["period"], i["manifests"]) for i in year["items"]} == {("2025", 4), ("2025", 2), ("2025", 1)}


def test_flows_window_of_local_days(data):
    world, _ = data
    g = world.ids["generator"]
    day2 = flows(world, period="day", **{"from": "2025-03-11", "to": "2025-03-11"})
    assert rows(day2) == {("2025-03-11", g, "SW02", 1, 30000, 28000, 28000),
                          ("2025-03-11", g, "SW03", 2, 45000, 44900, 43900)}
    assert day2["in_transit_kg"] == 20500 and day2["disputed_kg"] == 18000
    day1 = flows(world, period="day", **{"from": "2025-03-10", "to": "2025-03-10"})
    assert len(day1["items"]) == 2 and day1["in_transit_kg"] == 0 and day1["disputed_kg"] == 0
    # RFC 3339 bounds: [16:00Z 03-11, ...) is local 03-12 00:00 on
    late = flows(world, period="day", **{"from": "2025-03-11T16:00:00Z"})
    assert rows(late) == {("2025-03-12", g, "SW02", 1, 10000, 10000, 10000)}


def test_flows_region_scope(data):
    world, _ = data
    o = world.ids["outsider"]
    only_outsider = {("2025-03-10", o, "SW02", 1, 12000, 12000, 11990)}
    assert rows(flows(world, period="day", region="150205")) == only_outsider
    # a regulator of 150205 alone sees only what touches its region
    created = world.post("/v1/regulators", {"name": "district", "regions": ["150205"]}, "admin").json()
    key = world.post(f"/v1/regulators/{created['id']}/keys", {}, "admin").json()["key"]
    world.keys["district"] = key
    body = flows(world, "district", period="day")
    assert rows(body) == only_outsider and body["in_transit_kg"] == 0 and body["disputed_kg"] == 0
    assert flows(world, "district", period="day", region="150202")["items"] == []
    # the generator's own region
    assert {i["generator_id"] for i in flows(world, period="day", region="150202")["items"]} == {world.ids["generator"]}


def test_flows_refuse_enterprises_and_bad_input(data):
    world, _ = data
    for who in ("generator", "receiver"):
        assert world.get("/v1/flows", who).status_code == 403
        assert world.get("/v1/flows/capacity", who).status_code == 403
        assert world.get("/v1/flows/declared", who).status_code == 403
    assert world.get("/v1/flows", "regulator", period="week").status_code == 422
    assert world.get("/v1/flows", "regulator", **{"from": "2025-03-10T08:00:00"}).status_code == 422
    assert world.get("/v1/flows", "regulator", **{"from": "yesterday"}).status_code == 422
    assert world.get("/v1/flows", "regulator", **{"from": "2025-03-12", "to": "2025-03-10"}).status_code == 422
    assert world.get("/v1/flows", "regulator", region="15x").status_code == 422
    assert world.get("/v1/flows/capacity", "regulator", year=99999).status_code == 422


def test_capacity_year_to_date(data):
    world, _ = data
    body = world.get("/v1/flows/capacity", "regulator", year=2025).json()
    assert body["year"] == 2025
    (cement,) = body["items"]  # the outsider's yard has no capacity and took nothing
    assert cement["receiver_site_id"] == world.ids["cement"] and cement["receiver_id"] == world.ids["receiver"]
    assert cement["annual_capacity_kg"] == 500_000_000
    assert cement["accepted_kg"] == 29960 + 28000 + 11990 + 24900 + 28000 + 19000 + 10000 == 151850
    assert cement["manifests"] == 7
    assert cement["remaining_kg"] == 500_000_000 - 151850 and cement["exceeded"] is False
    other_year = world.get("/v1/flows/capacity", "regulator", year=2024).json()
    assert [(i["receiver_site_id"], i["accepted_kg"]) for i in other_year["items"]] == [(world.ids["cement"], 0)]


def test_declared_against_transferred(data):
    world, _ = data
    body = world.get("/v1/flows/declared", "regulator", **{"from": "2025-03-10", "to": "2025-03-12"}).json()
    items = {i["generator_id"]: i for i in body["items"]}
    g = items[world.ids["generator"]]
    assert g["manifests"] == 8  # every dispatched one: m1-m7, m9
    assert g["declared_kg"] == 30000 + 28000 + 25000 + 30000 + 20000 + 15000 + 10000 + 20000 == 178000
    assert g["departed_kg"] == 30000 + 28100 + 25000 + 30000 + 20500 + 10000 + 20000 == 163600
    assert g["accepted_kg"] == 29960 + 28000 + 24900 + 28000 + 10000 + 19000 == 139860
    assert g["without_departure_ticket"] == 1 and g["received_manifests"] == 6
    assert g["departed_minus_declared_kg"] == 163600 - 178000
    o = items[world.ids["outsider"]]
    assert (o["manifests"], o["declared_kg"], o["departed_kg"], o["accepted_kg"]) == (1, 12000, 12000, 11990)
    day1 = world.get("/v1/flows/declared", "regulator", **{"from": "2025-03-10", "to": "2025-03-10"}).json()
    assert {i["generator_id"]: i["manifests"] for i in day1["items"]} == {world.ids["generator"]: 2,
                                                                          world.ids["outsider"]: 1}


def test_settling_a_finding_ends_the_dispute(data):
    world, manifests = data
    findings = world.get("/v1/findings", "regulator", manifest_no=manifests["m4"], code="TONNAGE_SHORTFALL").json()
    (shortfall,) = findings["items"]
    assert world.client.patch(f"/v1/findings/{shortfall['id']}", json={"status": "dismissed", "note": "moisture"},
                              headers={"Authorization": f"Bearer {world.regulator}"}).status_code == 200
    body = flows(world, period="day")
    assert (body["disputed_kg"], body["disputed_manifests"]) == (16000, 2)
