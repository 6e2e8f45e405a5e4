"""Every live code just under and just over its thresholds (no GPS noise: exact edges)."""

from __future__ import annotations

import pytest

from tests.utils.detection import (
    FOREIGN_PARKING_C,
    GEN_C,
    OTHER_C,
    OWN_PARKING_C,
    PLACES,
    REC_C,
    REST_C,
    RESTRICTED,
    ROUTE,
    TrackBuilder,
    at,
    codes,
    distance_m,
    load_series,
    make_trip,
    move,
    route_point,
)
from wasteflow.detection import Fix, PlaceIndex, Thresholds, detect_live, find_stops, reconcile

TH = Thresholds()


def drive_then(event, frac: float = 0.3, interval_s: float = 10, route=ROUTE, **trip_kw):
    """Drive from the generator to `frac` of the route, run `event(builder)`, drive on to 0.4."""
    b = TrackBuilder(GEN_C, interval_s=interval_s)
    b.emit()
    b.drive_along(ROUTE, 60, 0.0, frac)
    event(b)
    b.drive_along(ROUTE, 60, frac, frac + 0.1)
    return make_trip(b.fixes, route=route, **trip_kw), b


def of(drafts, code):
    return [d for d in drafts if d.code == code]


# -- UNAUTHORIZED_STOP -------------------------------------------------------------------


@pytest.mark.parametrize("seconds, expected", [(590, 0), (610, 1)])
def test_stop_of_9m50_is_not_raised_10m10_is(seconds, expected):
    trip, b = drive_then(lambda b: b.mark("stop").wait(seconds))
    found = of(detect_live(trip, PLACES, TH), "UNAUTHORIZED_STOP")
    assert len(found) == expected
    if expected:
        d = found[0]
        assert d.severity == "warning"
        assert d.evidence["duration_s"] == pytest.approx(seconds)
        assert distance_m(d.location, b.marks["stop"][1]) < 5
        assert d.window_start == at(b.marks["stop"][0])
        assert d.episode_key == f"UNAUTHORIZED_STOP:{d.window_start.isoformat().replace('+00:00', 'Z')}"


def test_find_stops_returns_stop_with_fix_count_and_mean_position():
    b = TrackBuilder(GEN_C, interval_s=10).emit()
    b.drive_to(move(*GEN_C, 5000, 0), 60).mark("s").wait(700).drive_to(move(*GEN_C, 9000, 0), 60)
    stops = find_stops(reversed(b.fixes), TH)  # any order
    assert len(stops) == 1
    s = stops[0]
    assert s.fix_count == 71 and s.duration_s == pytest.approx(700)
    assert distance_m((s.lon, s.lat), b.marks["s"][1]) < 1


@pytest.mark.parametrize("metres_per_10_min, expected", [(95, 1), (105, 0)])
def test_stop_radius_is_100_m_from_the_first_fix(metres_per_10_min, expected):
    """A vehicle creeping for 20 minutes: a stop only if it stays within 100 m for 10 min.

    It then drives on the way it crept: were it to turn back over its own path at once, the one
    fix 105 m ahead would be a lone outlier, not a departure (findings.md, "a stay")."""
    def creep(b):
        start = b.pos
        for k in range(1, 121):
            b.t += 10
            b.emit(move(*start, metres_per_10_min * k / 60, 0))
        b.pos = b.fixes[-1].lon, b.fixes[-1].lat
        b.drive_to(move(*b.pos, 3000, 0), 60)
    trip, _ = drive_then(creep, route=None)
    assert len(of(detect_live(trip, PLACES, TH), "UNAUTHORIZED_STOP")) == expected


@pytest.mark.parametrize("where", ["rest_area", "own_parking", "generator_gate", "receiver_gate"])
def test_legitimate_long_stops_are_not_unauthorized(where):
    spot = {
        "rest_area": REST_C,
        "own_parking": OWN_PARKING_C,
        "generator_gate": move(*GEN_C, 0, 300 + 190),  # 190 m outside the generator fence
        "receiver_gate": move(*REC_C, 0, -300 - 190),
    }[where]
    trip, _ = drive_then(lambda b: b.drive_to(spot, 40).wait(1500).drive_to(route_point(0.3), 40),
                         route=None)
    assert of(detect_live(trip, PLACES, TH), "UNAUTHORIZED_STOP") == []


def test_stop_210_m_from_the_receiver_gate_is_unauthorized():
    spot = move(*REC_C, 0, -300 - 210)
    trip, _ = drive_then(lambda b: b.drive_to(spot, 40).wait(900).drive_to(route_point(0.3), 40),
                         route=None)
    found = of(detect_live(trip, PLACES, TH), "UNAUTHORIZED_STOP")
    assert len(found) == 1
    assert found[0].evidence["distance_to_receiver_m"] == pytest.approx(210, abs=2)


def test_stop_in_someone_elses_parking_is_unauthorized():
    trip, _ = drive_then(lambda b: b.drive_to(FOREIGN_PARKING_C, 40).wait(900), route=None)
    assert len(of(detect_live(trip, PLACES, TH), "UNAUTHORIZED_STOP")) == 1


def test_stop_before_departure_is_not_loaded():
    b = TrackBuilder(move(*GEN_C, 3000, 3000), interval_s=10).emit().wait(1200)
    trip = make_trip(b.fixes, dispatched_at=at(1300))
    assert detect_live(trip, PLACES, TH) == []


# -- ROUTE_DEVIATION ---------------------------------------------------------------------


def off_route_fixes(n: int, span_s: float):
    def event(b):
        base = b.pos
        b.t += 60
        for k in range(n):
            b.emit(move(*base, 0, 1000))
            if k < n - 1:
                b.t += span_s / (n - 1)
        b.t += 60
        b.emit(base)
    return event


@pytest.mark.parametrize("n, span, expected", [(2, 300, 0), (3, 119, 0), (3, 121, 1), (5, 240, 1)])
def test_route_deviation_needs_3_fixes_over_120_s(n, span, expected):
    trip, b = drive_then(off_route_fixes(n, span))
    found = of(detect_live(trip, PLACES, TH), "ROUTE_DEVIATION")
    assert len(found) == expected
    if expected:
        assert found[0].evidence["fix_count"] == n
        # 1000 m north of a leg heading north-east: ~815 m perpendicular to the route
        assert 700 < found[0].evidence["max_distance_m"] < 1000


@pytest.mark.parametrize("offset, expected", [(490, 0), (510, 1)])
def test_corridor_half_width_is_measured_in_metres(offset, expected):
    """Points perpendicular to the first leg, `offset` m away (geodesic)."""
    g, w = ROUTE.coords[0], ROUTE.coords[1]
    from tests.utils.detection import GEOD
    az = GEOD.inv(g[0], g[1], w[0], w[1])[0]

    def event(b):
        lon, lat = b.pos
        p = GEOD.fwd(lon, lat, az + 90, offset)[:2]
        for _ in range(4):
            b.t += 60
            b.emit(p)
        b.t += 60
        b.emit((lon, lat))
    trip, _ = drive_then(event, frac=0.15)
    assert len(of(detect_live(trip, PLACES, TH), "ROUTE_DEVIATION")) == expected


def test_no_route_no_deviation():
    trip, _ = drive_then(off_route_fixes(5, 300), route=None)
    assert of(detect_live(trip, PLACES, TH), "ROUTE_DEVIATION") == []


# -- LOAD_DROP ---------------------------------------------------------------------------


def loads_with_drop(base: int, drop: int, low_readings: int = 3, start: float = 100):
    values = [(start + 60 * k, base) for k in range(5)]
    values += [(start + 300 + 60 * k, base - drop) for k in range(low_readings)]
    values += [(start + 300 + 60 * low_readings + 60 * k, base - drop) for k in range(3)]
    return values


@pytest.mark.parametrize("base, drop, expected", [(5000, 299, 0), (5000, 301, 1),
                                                  (20000, 999, 0), (20000, 1001, 1)])
def test_load_drop_threshold_is_max_of_5_pct_and_300_kg(base, drop, expected):
    trip, b = drive_then(lambda b: b.wait(0), frac=0.3)
    trip = make_trip(trip.fixes, load_series(loads_with_drop(base, drop)))
    found = of(detect_live(trip, PLACES, TH), "LOAD_DROP")
    assert len(found) == expected
    if expected:
        d = found[0]
        assert d.severity == "critical"
        assert d.evidence["drop_kg"] == drop
        assert d.window_start == at(400)
        # location: the vehicle's position at the drop (interpolated along the track)
        assert d.location is not None


def test_single_low_reading_is_noise():
    values = [(100 + 60 * k, 5000) for k in range(5)] + [(400, 4000), (460, 5000), (520, 5000)]
    trip, _ = drive_then(lambda b: b.wait(0))
    trip = make_trip(trip.fixes, load_series(values))
    assert of(detect_live(trip, PLACES, TH), "LOAD_DROP") == []


def test_two_separate_dumps_are_two_episodes():
    values = [(100 + 30 * k, 20000) for k in range(5)]
    values += [(250 + 30 * k, 15000) for k in range(5)]
    values += [(400 + 30 * k, 9000) for k in range(5)]
    trip, _ = drive_then(lambda b: b.wait(0))
    found = of(detect_live(make_trip(trip.fixes, load_series(values)), PLACES, TH), "LOAD_DROP")
    assert [d.evidence["drop_kg"] for d in found] == [5000, 6000]
    assert len({d.episode_key for d in found}) == 2


def test_live_drop_waits_for_a_fix_after_it():
    """Under way, a drop later than the last fix has no position yet: raised once one arrives."""
    trip, _ = drive_then(lambda b: b.wait(0))
    last = max(f.ts for f in trip.fixes)
    t_last = (last - at(0)).total_seconds()
    values = [(t_last - 200 + 30 * k, 20000) for k in range(5)] + [(t_last + 60, 9000), (t_last + 90, 9000)]
    trip = make_trip(trip.fixes, load_series(values))
    assert of(detect_live(trip, PLACES, TH), "LOAD_DROP") == []
    more = trip.fixes + (Fix(at(t_last + 120), *move(*GEN_C, 0, 0), 10 ** 6, "gps-1"),)
    assert of(detect_live(make_trip(trip.fixes + more[-1:], load_series(values)), PLACES, TH), "LOAD_DROP")


def test_drop_inside_the_receiving_site_is_unloading():
    b = TrackBuilder(move(*REC_C, -2000, 0), interval_s=30).emit()
    b.drive_to(REC_C, 30).wait(900)
    t_in = b.t
    values = [(0, 20000), (60, 20000), (120, 20000), (t_in + 120, 3000), (t_in + 180, 200)]
    trip = make_trip(b.fixes, load_series(values))
    assert of(reconcile(trip, PLACES, TH), "LOAD_DROP") == []


# -- DIVERSION ---------------------------------------------------------------------------


@pytest.mark.parametrize("seconds, expected", [(290, 0), (310, 1)])
def test_diversion_needs_5_minutes_inside_another_site(seconds, expected):
    def visit(b):
        gate = move(*OTHER_C, 0, 400)  # 100 m outside the fence
        b.drive_to(gate, 60).jump(OTHER_C, 30).mark("in").wait(seconds).jump(gate, 30)
        b.drive_to(route_point(0.3), 60)
    trip, b = drive_then(visit, route=None)
    found = of(detect_live(trip, PLACES, TH), "DIVERSION")
    assert len(found) == expected
    if expected:
        d = found[0]
        assert d.severity == "critical"
        assert d.evidence["place_id"] == 3 and d.evidence["duration_s"] == pytest.approx(seconds)
        assert distance_m(d.location, OTHER_C) < 200


@pytest.mark.parametrize("spot", [OWN_PARKING_C, FOREIGN_PARKING_C])
def test_parking_sites_are_not_diversion(spot):
    trip, _ = drive_then(lambda b: b.drive_to(spot, 40).wait(900), route=None)
    assert of(detect_live(trip, PLACES, TH), "DIVERSION") == []


# -- RESTRICTED_ZONE_ENTRY ------------------------------------------------------------------


def test_one_fix_inside_a_restricted_zone_is_raised_boundary_included():
    minx, miny, maxx, maxy = RESTRICTED.geometry.bounds
    on_edge = (minx, (miny + maxy) / 2)

    def graze(b):
        back = b.pos
        b.drive_to(move(*on_edge, -300, 0), 60)
        b.t += 20
        b.emit(on_edge)
        b.t += 20
        b.pos = move(*on_edge, -300, 0)
        b.emit().drive_to(back, 60)
    trip, _ = drive_then(graze, frac=0.7, route=None)
    found = of(detect_live(trip, PLACES, TH), "RESTRICTED_ZONE_ENTRY")
    assert len(found) == 1
    assert found[0].evidence["place_id"] == RESTRICTED.id and found[0].evidence["fix_count"] == 1


def test_passing_10_m_outside_a_restricted_zone_is_not_raised():
    minx, miny, maxx, maxy = RESTRICTED.geometry.bounds
    near = move(minx, (miny + maxy) / 2, -10, 0)
    west = move(*near, -1000, 0)
    trip, _ = drive_then(lambda b: b.drive_to(west, 40).drive_to(near, 40).drive_to(west, 40), frac=0.7,
                         route=None)
    assert of(detect_live(trip, PLACES, TH), "RESTRICTED_ZONE_ENTRY") == []


def test_restricted_entry_after_arrival_is_not_loaded():
    b = TrackBuilder(move(*REC_C, -2000, 0), interval_s=30).emit()
    b.drive_to(REC_C, 30).wait(300)
    minx, miny, maxx, maxy = RESTRICTED.geometry.bounds
    b.jump(((minx + maxx) / 2, (miny + maxy) / 2), 3600)
    trip = make_trip(b.fixes)
    assert of(detect_live(trip, PLACES, TH), "RESTRICTED_ZONE_ENTRY") == []


# -- IMPOSSIBLE_JUMP -----------------------------------------------------------------------


@pytest.mark.parametrize("metres, kmh, expected", [
    (3000, 179, 0), (3000, 181, 1),  # speed edge
    (900, 3240, 0), (1100, 3960, 1),  # distance edge (1 s apart)
])
def test_impossible_jump_edges(metres, kmh, expected):
    def hop(b):
        b.jump(move(*b.pos, 0, metres), metres / (kmh / 3.6))
        b.t += 60
    trip, b = drive_then(hop, route=None)
    found = of(detect_live(trip, PLACES, TH), "IMPOSSIBLE_JUMP")
    assert len(found) == expected
    if expected:
        step = found[0].evidence["steps"][0]
        assert step["distance_m"] == pytest.approx(metres, abs=0.5)
        assert step["speed_kmh"] == pytest.approx(kmh, rel=1e-3)


def test_a_glitch_out_and_back_is_one_episode():
    def glitch(b):
        here = b.pos
        b.jump(move(*here, 50000, 0), 10)
        b.jump(here, 10)
    trip, _ = drive_then(glitch, route=None)
    found = of(detect_live(trip, PLACES, TH), "IMPOSSIBLE_JUMP")
    assert len(found) == 1 and len(found[0].evidence["steps"]) == 2


def test_simultaneous_fixes_far_apart_are_a_jump():
    fixes = [Fix(at(100), *move(*GEN_C, 3000, 0), 1, "g"), Fix(at(100), *move(*GEN_C, 6000, 0), 2, "g")]
    assert codes(detect_live(make_trip(fixes), PLACES, TH)) == ["IMPOSSIBLE_JUMP"]


# -- verified --------------------------------------------------------------------------------


def test_an_unverified_fix_makes_the_finding_unverified():
    trip, b = drive_then(lambda b: b.mark("stop").wait(700))
    fixes = list(trip.fixes)
    i = next(k for k, f in enumerate(fixes) if f.ts > at(b.marks["stop"][0] + 100))
    f = fixes[i]
    fixes[i] = Fix(f.ts, f.lon, f.lat, f.seq, f.device_id, verified=False)
    (stop,) = of(detect_live(make_trip(fixes), PLACES, TH), "UNAUTHORIZED_STOP")
    assert stop.verified is False
    (stop,) = of(detect_live(trip, PLACES, TH), "UNAUTHORIZED_STOP")
    assert stop.verified is True


def test_empty_place_index_and_no_places():
    trip, _ = drive_then(lambda b: b.wait(700))
    assert codes(detect_live(trip, None, TH)) == ["UNAUTHORIZED_STOP"]
    assert codes(detect_live(trip, PlaceIndex([]), TH)) == ["UNAUTHORIZED_STOP"]


def test_thresholds_are_configurable():
    trip, _ = drive_then(lambda b: b.wait(400))
    assert of(detect_live(trip, PLACES, TH), "UNAUTHORIZED_STOP") == []
    assert len(of(detect_live(trip, PLACES, Thresholds(stop_min_seconds=300)), "UNAUTHORIZED_STOP")) == 1


def test_a_slow_steady_unload_is_one_episode():
    """Steps smaller than the threshold, one every reading: one unloading, not one per step."""
    values = [(100 + 30 * k, 30000) for k in range(5)]
    values += [(250 + 30 * k, 30000 - 700 * (k + 1)) for k in range(14)]
    values += [(250 + 30 * 14 + 30 * k, 20200) for k in range(5)]
    trip, _ = drive_then(lambda b: b.wait(0))
    found = of(detect_live(make_trip(trip.fixes, load_series(values)), PLACES, TH), "LOAD_DROP")
    assert len(found) == 1
    assert 9800 - 1500 <= found[0].evidence["drop_kg"] <= 9800  # within one threshold of the whole unload
