"""GET /v1/hotspots on SQLite and PostgreSQL: stops, load drops and diversions of several trucks at one place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.utils.api import problem
from tests.utils.detection import move
from tests.utils.forensics import DUMP
from tests.utils.world import auth
from wasteflow.database import session_scope
from wasteflow.findings.models import Finding

NOW = datetime.now(UTC).replace(microsecond=0)


def finding(code: str, plate: str, east_m: float, days_ago: float, status: str = "open",
            region: str = "150202") -> Finding:
    lon, lat = move(*DUMP, east_m=east_m)
    start = NOW - timedelta(days=days_ago)
    return Finding(code=code, severity="critical", scope="manifest", episode_key=f"{code}:{plate}:{east_m}:{days_ago}",
                   region_code=region, plate=plate, window_start=start, window_end=start + timedelta(minutes=20),
                   location={"type": "Point", "coordinates": [lon, lat]}, status=status)


@pytest.fixture
def planted(world, engine) -> dict[str, list[int]]:
    rows = {
        "dump": [finding("UNAUTHORIZED_STOP", "蒙B11111", 0, 20), finding("LOAD_DROP", "蒙B22222", 120, 9),
                 finding("DIVERSION", "蒙B33333", 240, 2)],
        "lone": [finding("UNAUTHORIZED_STOP", "蒙B11111", 8000, 5)],
        "closed": [finding("UNAUTHORIZED_STOP", "蒙B44444", -8000, 5, "withdrawn"),
                   finding("UNAUTHORIZED_STOP", "蒙B55555", -8100, 5, "dismissed")],
        "other_code": [finding("ROUTE_DEVIATION", "蒙B66666", -20000, 3), finding("ROUTE_DEVIATION", "蒙B77777",
                                                                                   -20050, 3)],
        "old": [finding("LOAD_DROP", "蒙B88888", 30000, 60), finding("LOAD_DROP", "蒙B99999", 30010, 61)],
        "elsewhere": [finding("LOAD_DROP", "蒙A11111", 50000, 1, region="150102"),
                      finding("LOAD_DROP", "蒙A22222", 50010, 1, region="150102")],
    }
    with session_scope(engine) as session:
        for group in rows.values():
            session.add_all(group)
        session.flush()
        return {name: [f.id for f in group] for name, group in rows.items()}


def test_the_dump_is_the_one_hotspot_of_the_month(world, planted):
    response = world.get("/v1/hotspots", "regulator")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert response.json()["next_cursor"] is None
    assert len(items) == 1
    spot = items[0]
    assert sorted(spot["finding_ids"]) == sorted(planted["dump"])
    assert spot["findings"] == 3 and spot["vehicles"] == 3
    lon, lat = spot["center"]["coordinates"]
    assert spot["center"]["type"] == "Point"
    from wasteflow.forensics.rules import distance_m
    assert distance_m(lon, lat, *move(*DUMP, east_m=120)) < 5
    assert 115 < spot["radius_m"] < 125
    assert spot["first_seen"] < spot["last_seen"]


def test_the_period_and_the_codes_choose_the_findings(world, planted):
    old = world.get("/v1/hotspots", "regulator", **{"from": (NOW - timedelta(days=90)).isoformat(),
                                                   "to": (NOW - timedelta(days=50)).isoformat()}).json()["items"]
    assert [sorted(h["finding_ids"]) for h in old] == [sorted(planted["old"])]
    only_stops = world.get("/v1/hotspots", "regulator", code="UNAUTHORIZED_STOP").json()["items"]
    assert only_stops == []  # one stop at the dump, one far away: neither a hotspot alone
    two = world.get("/v1/hotspots", "regulator", code="LOAD_DROP,DIVERSION").json()["items"]
    assert [sorted(h["finding_ids"]) for h in two] == [sorted(planted["dump"][1:])]


def test_the_administrator_sees_every_region(world, planted):
    items = world.get("/v1/hotspots", "admin").json()["items"]
    assert sorted(sorted(h["finding_ids"]) for h in items) == sorted([sorted(planted["dump"]),
                                                                     sorted(planted["elsewhere"])])


def test_enterprises_may_not_ask_and_other_codes_are_refused(world, planted):
    problem(world.get("/v1/hotspots", "transporter"), 403)
    problem(world.get("/v1/hotspots", "regulator", code="ROUTE_DEVIATION"), 422, rule="hotspot_code", field="code")
    response = world.client.get("/v1/hotspots", headers=auth("nope"))
    assert response.status_code == 401
