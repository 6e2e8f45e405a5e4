"""The simulator on its own: deterministic, road-like, consistent tickets, a valid region."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest

from mqtt_bridge.signing import signed_payload, verify
from simulators import scenarios as sc
from simulators.fleet import FIX_INTERVAL_S, plan_day, route_info
from simulators.region import build_region, credit_code
from simulators.routes import distance_to_polyline, polyline_enters
from simulators.runner import payload_digest
from wasteflow.registry.rules import check_credit_code, check_geofence, check_plate, check_route

DAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def region():
    return build_region()


@pytest.fixture(scope="module")
def plan(region):
    return plan_day(region, 40, seed=5, day=DAY)


def test_same_seed_same_messages(region, plan):
    again = plan_day(region, 40, seed=5, day=DAY)
    assert payload_digest(again) == payload_digest(plan)
    secrets = {e.device_id: "s" for e in plan.events if e.device_id}
    signed = [signed_payload(e.device_id, "s", e.payload) for e in plan.events if e.kind == "publish"]
    assert signed == [signed_payload(e.device_id, "s", e.payload) for e in again.events if e.kind == "publish"]
    assert secrets


def test_another_seed_another_day(region, plan):
    other = plan_day(region, 40, seed=6, day=DAY)
    assert payload_digest(other) != payload_digest(plan)


def test_one_of_each_violation_and_the_rest_clean(plan):
    names = [t.scenario.name for t in plan.trips]
    assert len(plan.trips) == 40
    assert sorted(n for n in names if n != "clean") == sorted(s.name for s in sc.VIOLATIONS)
    for trip in plan.violations:
        assert {e.code for e in trip.truth.expectations} == set(trip.scenario.must)


def test_routes_are_roads_not_straight_lines(region):
    for flow in region.flows:
        route = route_info(region, flow).planned
        check_route(region.frame.linestring(route))
        a, b = route[0], route[-1]
        # the route strays far from the straight line between its ends and turns several times
        far = max(distance_to_polyline(p, [a, b]) for p in route)
        assert far > 300, flow
        turns = 0
        for p, q, r in zip(route, route[1:], route[2:], strict=False):
            h1 = math.atan2(q[1] - p[1], q[0] - p[0])
            h2 = math.atan2(r[1] - q[1], r[0] - q[0])
            turns += abs((h2 - h1 + math.pi) % (2 * math.pi) - math.pi) > math.radians(15)
        assert turns >= 2, flow
        length = sum(math.dist(p, q) for p, q in zip(route, route[1:], strict=False))
        assert length > 1.05 * math.dist(a, b), flow


def test_tickets_consistent(region, plan):
    weighs = [e.payload for e in plan.events if e.channel == "weigh"]
    assert len(weighs) >= 2 * 35
    plates = {v.plate: v for v in region.vehicles}
    for t in weighs:
        assert t["net_kg"] == t["gross_kg"] - t["tare_kg"]
        assert t["gross_kg"] % 20 == 0 and t["tare_kg"] % 20 == 0
        v = plates[t["plate"]]
        assert 0 < t["net_kg"] <= v.max_load_kg
    for ticket in plan.tickets:
        site = region.sites[ticket.site]
        trip = plan.trip(ticket.trip)
        if ticket.site == trip.generator:  # outbound: empty first, loaded after
            assert ticket.tare_at < ticket.gross_at
        else:  # inbound: loaded first, empty after unloading
            assert ticket.site == trip.receiver and ticket.gross_at < ticket.tare_at
        assert ticket.ticket_no.startswith(site.ticket_prefix + "-")
    numbers = [(t.site, t.ticket_no) for t in plan.tickets]
    assert len(numbers) == len(set(numbers))


def test_fixes_plausible_and_batched(region, plan):
    gps = [e for e in plan.events if e.channel == "gps"]
    fixes_by_device: dict[str, list[dict]] = {}
    late_batches = 0
    for e in gps:
        batch = e.payload["batch"]
        assert 1 <= len(batch) <= 1000
        fixes_by_device.setdefault(e.device_id, []).extend(batch)
        late_batches += len(batch) > 14  # held back in a tunnel, sent late as one batch
    assert late_batches > 0
    for fixes in fixes_by_device.values():
        seqs = [f["seq"] for f in sorted(fixes, key=lambda f: f["ts"])]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        speeds = [f["speed_kmh"] for f in fixes]
        assert max(speeds) < 85
        moving = [s for s in speeds if s > 5]
        assert moving and 25 < sum(moving) / len(moving) < 65
    assert FIX_INTERVAL_S == 10


def test_messages_sign_and_verify(plan):
    event = next(e for e in plan.events if e.channel == "load")
    raw = signed_payload(event.device_id, "secret", event.payload)
    assert verify(event.device_id, "secret", json.loads(raw))


def test_region_is_valid(region):
    assert len(region.vehicles) >= 36 and len({v.transporter for v in region.vehicles}) == 3
    for v in region.vehicles:
        assert check_plate(v.plate) == v.plate
    for i, ent in enumerate(region.enterprises.values(), 1):
        check_credit_code(credit_code(ent.region_code, i))
        check_credit_code(credit_code(ent.region_code, i, "Q"))
        assert ent.region_code.startswith("1502")
    for key in region.sites:
        check_geofence(region.site_lonlat_polygon(key), 25, 2e8)
    for key in region.zones:
        check_geofence(region.zone_lonlat_polygon(key), 25, 2e8)
    kinds = {s.kind for s in region.sites.values()}
    assert {"plant", "storage", "utilisation", "landfill", "parking"} <= kinds
    assert {"SW01", "SW02", "SW03", "SW07", "SW16", "SW59"} <= {f.waste_code for f in region.flows}
    water = next(z for z in region.zones.values() if z.kind == "restricted")
    for road in region.network.roads:
        assert not polyline_enters(list(road.points), list(water.ring)), road
        for site in region.sites.values():
            if not road.name.startswith(site.name):
                assert not polyline_enters(list(road.points), list(site.ring)), (road.name, site.key)
    for flow in region.flows:
        assert flow.waste_code in region.sites[flow.receiver].permitted


@pytest.mark.parametrize("local_time", ["00:05", "00:40", "12:00", "23:59"])
def test_the_default_day_lies_wholly_in_the_past(region, local_time):
    """Run just after local midnight, yesterday's overnight trips would end in the future, where no
    signature may lie; the default day is moved back instead, and keeps its shape."""
    from datetime import datetime

    from simulators.fleet import PAST_MARGIN_S, TZ

    now = datetime.fromisoformat(f"2026-12-01T{local_time}:00").replace(tzinfo=TZ).timestamp()
    plan = plan_day(region, 60, seed=5, now=now)
    assert plan.end <= now - PAST_MARGIN_S and plan.events[-1].t <= now - PAST_MARGIN_S
    assert plan.day == date(2026, 11, 30)
    same_day = plan_day(region, 60, seed=5, day=date(2026, 11, 30))
    assert [round(b.t - a.t, 6) for a, b in zip(plan.events, plan.events[1:], strict=False)] == [
        round(b.t - a.t, 6) for a, b in zip(same_day.events, same_day.events[1:], strict=False)]
