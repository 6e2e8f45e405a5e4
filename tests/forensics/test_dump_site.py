"""POST /v1/forensics/dump-site (findings.md, "Forensics"), on SQLite and PostgreSQL: from a found dump back
to the trucks — the one that stopped and dropped load first, the one driving past listed but low, the one
2 km away not at all, the one on no manifest marked unloaded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.utils.api import problem
from tests.utils.forensics import DUMP, PLATES, build, dispatched, dump_query, start_time
from tests.utils.world import auth


@pytest.fixture
def scene(world, engine):
    return build(world, engine)


def passages(world, who: str = "regulator", **body) -> dict:
    response = world.post("/v1/forensics/dump-site", dump_query(**body), who)
    assert response.status_code == 200, response.text
    return response.json()


def by_plate(answer: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for p in answer["passages"]:
        out.setdefault(p["plate"], []).append(p)
    return out


def test_the_truck_that_stopped_and_dropped_load_ranks_first(world, scene):
    answer = passages(world)
    first = answer["passages"][0]
    assert first["plate"] == PLATES["dumper"] and first["manifest_no"] == scene["dumper"]
    assert first["rank"] == 1 and first["loaded"] is True
    assert first["longest_stop_s"] >= 14 * 60
    assert first["seconds_within"] >= first["longest_stop_s"]
    assert first["load_drop_kg"] == 6000
    assert first["shortfall_kg"] == 6000
    assert first["closest_m"] < 20
    codes = {f["code"] for f in first["findings"]}
    assert {"LOAD_DROP", "UNAUTHORIZED_STOP", "TONNAGE_SHORTFALL"} <= codes
    assert all(fix["verified"] and fix["distance_m"] <= 300 for fix in first["fixes"])
    assert [p["rank"] for p in answer["passages"]] == list(range(1, len(answer["passages"]) + 1))


def test_a_truck_passing_at_speed_is_listed_loaded_and_ranked_low(world, scene):
    answer = passages(world)
    passer = by_plate(answer)[PLATES["passer"]]
    assert len(passer) == 1
    p = passer[0]
    assert p["manifest_no"] == scene["passer"] and p["loaded"] is True
    assert p["longest_stop_s"] == 0 and p["load_drop_kg"] == 0 and p["shortfall_kg"] is None
    assert 0 < p["seconds_within"] <= 60 and len(p["fixes"]) >= 1
    assert p["rank"] == 2  # after the dumper, before the unloaded truck that stood there far longer


def test_a_truck_2_km_away_is_not_listed(world, scene):
    assert PLATES["far"] not in by_plate(passages(world))
    wide = by_plate(passages(world, radius_m=2500))
    assert PLATES["far"] in wide


def test_a_passage_on_no_manifest_is_marked_unloaded_and_ranks_after_the_loaded(world, scene):
    answer = passages(world)
    idle = by_plate(answer)[PLATES["idle"]]
    assert len(idle) == 1
    p = idle[0]
    assert p["manifest_no"] is None and p["loaded"] is False
    assert p["longest_stop_s"] >= 19 * 60
    assert p["rank"] == len(answer["passages"])
    assert all(q["loaded"] for q in answer["passages"] if q["rank"] < p["rank"])


def test_the_period_bounds_the_answer(world, scene):
    answer = passages(world, **{"from": "2020-01-01T00:00:00Z", "to": "2020-01-31T00:00:00Z"})
    assert answer == {"passages": [], "no_track": 0}


def test_no_track_counts_manifests_under_way_without_telemetry(world, scene):
    before = passages(world)["no_track"]
    dispatched(world, PLATES["dumper"], start_time() + timedelta(hours=20))  # in transit, silent
    assert passages(world)["no_track"] == before + 1
    silent = dispatched(world, PLATES["far"], start_time() + timedelta(hours=20))  # received, silent: NO_TRACK
    received = world.post(f"/v1/manifests/{silent}/receive",
                          {"accepted_kg": 30000, "at": (start_time() + timedelta(hours=21)).isoformat()}, "receiver")
    assert received.status_code == 200, received.text
    assert "NO_TRACK" in {f["code"] for f in world.get("/v1/findings", "admin", manifest_no=silent).json()["items"]}
    assert passages(world)["no_track"] == before + 2


def test_only_regulators_and_the_administrator_ask(world, scene):
    assert passages(world, "admin")["passages"][0]["plate"] == PLATES["dumper"]
    for who in ("generator", "transporter", "receiver"):
        problem(world.post("/v1/forensics/dump-site", dump_query(), who), 403)


def test_a_regulator_elsewhere_sees_no_passage(world, scene):
    response = world.client.post("/v1/regulators", json={"name": "Hohhot", "regions": ["1501"]},
                                 headers=auth(world.admin))
    key = world.client.post(f"/v1/regulators/{response.json()['id']}/keys", json={}, headers=auth(world.admin))
    answer = world.client.post("/v1/forensics/dump-site", json=dump_query(), headers=auth(key.json()["key"]))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"passages": [], "no_track": 0}


@pytest.mark.parametrize(("body", "field"), [
    ({"location": {"type": "Point", "coordinates": [DUMP[0], 95]}}, "location"),
    ({"location": {"type": "Polygon", "coordinates": [DUMP[0], DUMP[1]]}}, "location"),
    ({"location": {"type": "Point", "coordinates": list(DUMP)}, "radius_m": 0}, "radius_m"),
    ({"location": {"type": "Point", "coordinates": list(DUMP)}, "radius_m": 300, "colour": "red"}, "colour"),
])
def test_bad_questions_are_refused_naming_the_field(world, body, field):
    response = world.post("/v1/forensics/dump-site", body, "regulator")
    assert response.status_code == 422, response.text
    assert field in response.text


def test_to_before_from_is_refused(world):
    response = world.post("/v1/forensics/dump-site", dump_query(**{"from": "2026-11-02T00:00:00Z",
                                                                   "to": "2026-11-01T00:00:00Z"}), "regulator")
    problem(response, 422, rule="to_before_from", field="to")
