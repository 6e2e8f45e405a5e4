"""The findings API (api.md): list with filters and cursor, who sees what, the regulator's
workflow with notes (each move a ledger entry), and the trip as GeoJSON."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.utils.monitoring import CEMENT, PLANT, Drive, along, base_time, move
from tests.utils.world import auth


@pytest.fixture
def three_trips(env):
    """Three received trips without a track: NO_TRACK (critical) + MISSING_TICKET (warning) each."""
    t0 = base_time()
    numbers = []
    for k in range(3):
        no = env.dispatch(t0 + timedelta(minutes=10 * k))
        env.receive(no, 30000, t0 + timedelta(minutes=10 * k + 5))
        numbers.append(no)
    assert len(env.findings()) == 6
    return numbers


def items(env, who="regulator", **params):
    r = env.world.get("/v1/findings", who, **params)
    assert r.status_code == 200, r.text
    return r.json()


def test_filters(env, three_trips):
    assert len(items(env)["items"]) == 6
    assert {f["code"] for f in items(env, code="NO_TRACK")["items"]} == {"NO_TRACK"}
    assert len(items(env, code="NO_TRACK")["items"]) == 3
    assert {f["code"] for f in items(env, severity="critical")["items"]} == {"NO_TRACK"}
    assert len(items(env, severity="warning")["items"]) == 3
    assert len(items(env, status="open")["items"]) == 6
    assert items(env, status="resolved")["items"] == []
    mine = items(env, manifest_no=three_trips[1])["items"]
    assert {f["manifest_no"] for f in mine} == {three_trips[1]} and len(mine) == 2
    assert len(items(env, code="MISSING_TICKET", manifest_no=three_trips[0])["items"]) == 1
    assert len(items(env, region="1502")["items"]) == 6
    assert items(env, region="1501")["items"] == []
    shape = items(env)["items"][0]
    assert {"id", "code", "severity", "manifest_no", "plate", "window", "location", "evidence", "verified",
            "status"} <= set(shape)
    assert set(shape["window"]) == {"start", "end"}


def test_cursor_pagination(env, three_trips):
    seen, cursor, pages = [], None, 0
    while True:
        page = items(env, limit=4, **({"cursor": cursor} if cursor else {}))
        seen += [f["id"] for f in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 2 and len(seen) == 6 and len(set(seen)) == 6
    assert seen == sorted(seen, reverse=True)
    filtered = items(env, code="NO_TRACK", limit=2)
    rest = items(env, code="NO_TRACK", limit=2, cursor=filtered["next_cursor"])
    assert len(filtered["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert env.world.get("/v1/findings", "regulator", cursor="!!not-a-cursor").status_code == 422


def test_visibility(env, three_trips):
    for party in ("generator", "transporter", "receiver"):
        assert len(items(env, party)["items"]) == 6
    assert items(env, "outsider")["items"] == []
    some = items(env)["items"][0]["id"]
    assert env.world.get(f"/v1/findings/{some}", "outsider").status_code == 404
    assert env.world.get(f"/v1/findings/{some}", "transporter").status_code == 200
    # a regulator of another region sees none of them
    other = env.world.client.post("/v1/regulators", json={"name": "Hohhot", "regions": ["1501"]},
                                  headers=auth(env.world.admin)).json()["id"]
    key = env.world.client.post(f"/v1/regulators/{other}/keys", json={}, headers=auth(env.world.admin)).json()["key"]
    r = env.world.client.get("/v1/findings", headers=auth(key))
    assert r.status_code == 200 and r.json()["items"] == []
    assert env.world.client.get(f"/v1/findings/{some}", headers=auth(key)).status_code == 404
    assert env.world.client.patch(f"/v1/findings/{some}", json={"status": "acknowledged", "note": "x"},
                                  headers=auth(key)).status_code == 404


def patch(env, finding_id, status, note, who="regulator"):
    return env.world.client.patch(f"/v1/findings/{finding_id}", json={"status": status, "note": note},
                                  headers=auth(env.world.key(who)))


def test_workflow_with_notes_and_ledger(env, three_trips):
    fid = items(env, code="NO_TRACK")["items"][0]["id"]
    steps = [("acknowledged", "seen, calling the haulier"), ("investigating", "terminal log requested"),
             ("resolved", "terminal was unplugged; fined")]
    for status, note in steps:
        r = patch(env, fid, status, note)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status
    history = env.world.get(f"/v1/findings/{fid}", "regulator").json()["history"]
    assert [(h["from"], h["status"]) for h in history] == [
        (None, "open"), ("open", "acknowledged"), ("acknowledged", "investigating"), ("investigating", "resolved")]
    assert [h["note"] for h in history[1:]] == [note for _, note in steps]
    assert {h["by"] for h in history[1:]} == {f"regulator:{env.world.regulator_id}"}
    assert history[0]["by"] == "system"
    kinds = env.ledger_kinds()
    for status, _ in steps:
        assert kinds.count(f"finding.{status}") == 1
    assert env.world.get("/v1/ledger/verify", "regulator").json()["ok"] is True
    assert items(env, status="resolved")["items"][0]["id"] == fid


def test_forbidden_moves(env, three_trips):
    fid = items(env, code="NO_TRACK")["items"][0]["id"]
    r = patch(env, fid, "resolved", "skipping ahead")
    assert r.status_code == 409 and r.json()["current_state"] == "open"
    assert patch(env, fid, "dismissed", "duplicate of a known outage").status_code == 200
    r = patch(env, fid, "acknowledged", "too late")
    assert r.status_code == 409 and r.json()["current_state"] == "dismissed"
    ledger_before = len(env.ledger_kinds())
    for who in ("generator", "receiver", "transporter"):
        assert patch(env, fid, "investigating", "let me", who=who).status_code == 403
    assert env.world.client.patch(f"/v1/findings/{fid}", json={"status": "investigating"},
                                  headers=auth(env.world.regulator)).status_code == 422
    assert patch(env, fid, "investigating", "").status_code == 422
    assert patch(env, fid, "withdrawn", "regulators cannot withdraw").status_code == 422
    assert len(env.ledger_kinds()) == ledger_before, "a failed request changes nothing"
    assert patch(env, 999999, "acknowledged", "nothing there").status_code == 404


def test_withdrawn_finding_cannot_be_worked(env):
    t0 = base_time()
    no = env.dispatch(t0)
    d = Drive(t0).fix().go(along(0.4))
    env.fixes(d.take())
    tunnel = d.go(along(0.6), kmh=10).take()  # 1,000 s without coverage
    d.go(CEMENT)
    env.fixes(d.take())
    env.receive(no, 30000, d.t + timedelta(minutes=1))
    # gap first seen at receipt: the tunnel had not been uploaded yet
    assert env.findings(no, "GPS_GAP") != []
    env.fixes(tunnel)
    env.run()
    [gap] = env.findings(no, "GPS_GAP")
    assert gap.status == "withdrawn"
    r = patch(env, gap.id, "investigating", "reopen?")
    assert r.status_code == 409 and r.json()["current_state"] == "withdrawn"


def test_track_geojson(env):
    zone = env.zone("Rest area", "rest_area", move(along(0.8), north_m=3000), 200)
    t0 = base_time()
    route = {"type": "LineString", "coordinates": [list(PLANT), list(CEMENT)]}
    no = env.dispatch(t0, route=route, corridor_m=400)
    d = Drive(t0).fix().go(along(0.5)).stay(700).go(move(along(0.8), north_m=2900)).go(CEMENT)
    n_fixes = len(d.points)
    env.fixes(d.take())
    env.run()
    r = env.world.get(f"/v1/manifests/{no}/track", "transporter")
    assert r.status_code == 200
    doc = r.json()
    assert doc["type"] == "FeatureCollection"
    by_kind: dict[str, list] = {}
    for f in doc["features"]:
        assert f["type"] == "Feature"
        by_kind.setdefault(f["properties"]["kind"], []).append(f)
    assert {"fix", "route", "site", "zone", "stop", "finding"} <= set(by_kind)
    fix = by_kind["fix"][0]
    assert fix["geometry"]["type"] == "Point" and {"ts", "seq", "speed_kmh", "verified"} <= set(fix["properties"])
    assert len(by_kind["fix"]) == n_fixes
    [route_f] = by_kind["route"]
    assert route_f["geometry"]["type"] == "LineString" and route_f["properties"]["corridor_m"] == 400
    roles = {f["properties"]["role"] for f in by_kind["site"]}
    assert {"generator", "receiver"} <= roles
    assert all(f["geometry"]["type"] == "Polygon" and f["properties"]["name"] for f in by_kind["site"])
    assert [f["properties"]["id"] for f in by_kind["zone"]] == [zone]
    stop = by_kind["stop"][0]
    assert stop["geometry"]["type"] == "Point" and {"start", "end"} <= set(stop["properties"])
    codes = {f["properties"]["code"] for f in by_kind["finding"]}
    assert codes == {"UNAUTHORIZED_STOP", "ROUTE_DEVIATION"}
    assert all({"id", "code", "severity"} <= set(f["properties"]) for f in by_kind["finding"])
    for who in ("generator", "receiver", "regulator"):
        assert env.world.get(f"/v1/manifests/{no}/track", who).status_code == 200
    assert env.world.get(f"/v1/manifests/{no}/track", "outsider").status_code == 404
    assert env.world.get("/v1/manifests/WF-150202-20000101-999999/track", "regulator").status_code == 404


def test_track_before_dispatch_is_empty_of_fixes(env):
    no = env.world.file()
    r = env.world.get(f"/v1/manifests/{no}/track", "generator")
    assert r.status_code == 200
    kinds = {f["properties"]["kind"] for f in r.json()["features"]}
    assert "fix" not in kinds and "site" in kinds
