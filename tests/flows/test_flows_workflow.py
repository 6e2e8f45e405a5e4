"""Flows and balances against hand-computed totals across multi-leg, partially refused and redirected
loads (tests/utils/flows_workflow.py), both databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.utils.databases import empty_database
from tests.utils.flows_workflow import build
from tests.utils.workflow import ok
from tests.utils.world import build_world
from wasteflow.api.app import create_app
from wasteflow.config import Settings
from wasteflow.database import get_engine

DAY = {"from": "2025-03-20", "to": "2025-03-20"}


@pytest.fixture(scope="module")
def data(db_kind, request, tmp_path_factory):
    url = empty_database(db_kind, request, tmp_path_factory.mktemp("flows-workflow"))
    with TestClient(create_app(Settings(database_url=url))) as client:
        world = build_world(client, get_engine(url))
        yield world, build(world, get_engine(url))


def test_each_load_counts_once_where_it_ends(data):
    world, m = data
    g, r, r2 = world.ids["generator"], world.ids["receiver"], world.ids["receiver2"]
    body = ok(world.get("/v1/flows", "regulator", period="day", **DAY))
    rows = {(i["generator_id"], i["receiver_id"], i["receiver_site_id"], i["waste_code"], i["kind"], i["manifests"],
             i["departed_kg"], i["received_kg"], i["accepted_kg"], i["refused_kg"], tuple(i["parent_manifest_nos"]))
            for i in body["items"]}
    assert rows == {
        (g, r, world.ids["cement"], "SW02", "primary", 1, 30000, 29900, 29900, 0, ()),  # w1: two legs, once
        (g, r, world.ids["cement"], "SW03", "primary", 1, 30000, 30000, 26000, 4000, ()),  # w2
        (r, g, world.ids["plant"], "SW03", "return", 1, 2500, 2500, 2500, 0, (m["w2"],)),  # w3
        (r, r2, world.ids["landfill"], "SW03", "redirect", 1, 12000, 12000, 12000, 0, (m["w5"],)),  # w6
    }
    assert {i["period"] for i in body["items"]} == {"2025-03-20"}
    assert (body["in_transit_kg"], body["in_transit_manifests"]) == (1000, 1)  # w4, declared (not weighed)
    assert (body["refused_kg"], body["refused_manifests"]) == (500, 1)  # w2: 4000 − 2500 − 1000
    assert (body["disputed_kg"], body["disputed_manifests"]) == (8000, 1)  # w5: 20000 − 12000 redirected


def test_accepted_tonnage_counts_at_whichever_receiver_accepted_it(data):
    world, _ = data
    body = ok(world.get("/v1/flows/capacity", "regulator", year=2025))
    accepted = {i["receiver_site_id"]: (i["manifests"], i["accepted_kg"]) for i in body["items"]}
    assert accepted[world.ids["cement"]] == (2, 29900 + 26000)
    assert accepted[world.ids["landfill"]] == (1, 12000)
    assert accepted[world.ids["plant"]] == (1, 2500)  # the return, accepted back by its generator
    all_sites_total = sum(kg for _, kg in accepted.values())
    assert all_sites_total == 29900 + 26000 + 2500 + 12000


def test_generated_tonnage_counts_primary_manifests_only(data):
    world, _ = data
    body = ok(world.get("/v1/flows/declared", "regulator", **DAY))
    by_generator = {i["generator_id"]: i for i in body["items"]}
    assert set(by_generator) == {world.ids["generator"]}  # the receiver filed follow-ups, generated nothing
    mine = by_generator[world.ids["generator"]]
    assert (mine["manifests"], mine["declared_kg"], mine["departed_kg"], mine["accepted_kg"]) == (
        3, 80000, 60000, 29900 + 26000)


def test_the_csv_export_lists_follow_ups_with_kind_and_parent(data):
    world, m = data
    response = world.get("/v1/exports/flows.csv", "regulator", period="day", **DAY)
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    assert lines[0].endswith("kind,refused_kg,parent_manifest_nos")
    assert any(line.endswith(f"return,0,{m['w2']}") for line in lines)
    assert any(line.endswith(f"redirect,0,{m['w5']}") for line in lines)
