"""Stays that noise cannot split (findings.md, "Terms": a stay; issue 17 items 1 and 4).

A stay ends only when the vehicle is beyond its radius for ≥ 2 consecutive fixes spanning
≥ 60 s; a stray fix is an outlier, counted in the evidence. A stay starts at its first fix within
the radius of its centre, and ends at its last.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.utils.detection import (
    GEN_C,
    GENERATOR,
    PLACES,
    RECEIVER,
    TrackBuilder,
    at,
    distance_m,
    make_trip,
    move,
    route_point,
    square,
)
from wasteflow.detection import Fix, Place, PlaceIndex, Thresholds, detect_live, find_stops, reconcile

TH = Thresholds()
STOP_AT = route_point(0.3)  # on the road, far from every site and zone of PLACES
ARRIVE = 3600.0  # event time (s after dispatch) of the first fix at the stop


def of(drafts, code):
    return [d for d in drafts if d.code == code]


def jittered(rng: np.random.Generator, point: tuple[float, float], jitter_m: float) -> tuple[float, float]:
    """A point uniformly within jitter_m of `point`."""
    r = jitter_m * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    return move(*point, r * math.cos(a), r * math.sin(a))


def synthetic_stay(interval: float, length: float, jitter_m: float, kmh: float, outliers: int,
                   seed: int) -> tuple[list[Fix], list[int]]:
    """Drive 3 km in, stay `length` s at STOP_AT (first fix there at ARRIVE), drive 3 km out.

    Every fix is off by up to `jitter_m`; `outliers` stay fixes (never the first or last, never
    two in a row) are replaced by one far fix each, 133 m to 2 km away. Returns the fixes and
    the outliers' seqs.
    """
    rng = np.random.default_rng(seed)
    step_m = kmh / 3.6 * interval
    fixes: list[Fix] = []

    def emit(t: float, point: tuple[float, float]) -> None:
        fixes.append(Fix(at(t), *point, len(fixes) + 1, "gps-1"))

    bearing_in, bearing_out = rng.random(2) * 2 * math.pi
    for k in range(math.ceil(3000 / step_m), 0, -1):
        d = k * step_m
        emit(ARRIVE - k * interval, jittered(rng, move(*STOP_AT, d * math.sin(bearing_in), d * math.cos(bearing_in)),
                                             jitter_m))
    m = int(length // interval)
    far = _isolated(rng, m, outliers)
    for k in range(m + 1):
        if k in far:
            d, a = 133 + rng.random() * 1867, rng.random() * 2 * math.pi
            emit(ARRIVE + k * interval, move(*STOP_AT, d * math.sin(a), d * math.cos(a)))
        else:
            emit(ARRIVE + k * interval, jittered(rng, STOP_AT, jitter_m))
    for k in range(1, math.ceil(3000 / step_m) + 1):
        d = k * step_m
        emit(ARRIVE + (m + k) * interval,
             jittered(rng, move(*STOP_AT, d * math.sin(bearing_out), d * math.cos(bearing_out)), jitter_m))
    first_stay_seq = math.ceil(3000 / step_m) + 1
    return fixes, sorted(first_stay_seq + k for k in far)


def _isolated(rng: np.random.Generator, m: int, count: int) -> set[int]:
    """`count` positions among 1..m-1, no two adjacent."""
    chosen: set[int] = set()
    for k in rng.permutation(np.arange(1, m)).tolist():
        if len(chosen) == count:
            break
        if not {k - 1, k + 1} & chosen:
            chosen.add(k)
    return chosen


@st.composite
def stays(draw, long_enough: bool):
    interval = draw(st.integers(5, 60))
    threshold = TH.stop_min_seconds
    if long_enough:
        length = draw(st.floats(threshold + interval, threshold + 1800))
        outliers = draw(st.integers(0, int(length // 180)))
    else:  # the fixes just before and after may lie within the radius: the stay seen is up to 2 intervals longer
        length = draw(st.floats(60, threshold - 2 * interval - 1))
        outliers = draw(st.integers(0, int(length // 180)))
    return dict(interval=interval, length=length, jitter_m=draw(st.floats(0, 30)), kmh=draw(st.floats(55, 90)),
                outliers=outliers, seed=draw(st.integers(0, 2**32 - 1)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=stays(long_enough=True))
def test_a_stay_over_the_threshold_is_one_stop_whatever_the_noise(case):
    fixes, far = synthetic_stay(**case)
    trip = make_trip(fixes, route=None)
    for drafts in (detect_live(trip, PLACES, TH), reconcile(trip, PLACES, TH)):
        [stop] = of(drafts, "UNAUTHORIZED_STOP")
        assert abs((stop.window_start - at(ARRIVE)).total_seconds()) <= case["interval"]
        assert distance_m(stop.location, STOP_AT) <= 50
        assert stop.evidence["outliers"] == len(far)
        assert stop.evidence["duration_s"] >= case["length"] - case["interval"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=stays(long_enough=False))
def test_the_same_stay_under_the_threshold_is_no_stop(case):
    fixes, _ = synthetic_stay(**case)
    trip = make_trip(fixes, route=None)
    assert of(detect_live(trip, PLACES, TH), "UNAUTHORIZED_STOP") == []
    assert of(reconcile(trip, PLACES, TH), "UNAUTHORIZED_STOP") == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=stays(long_enough=True), cuts=st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_live_a_noisy_stop_keeps_its_identity_as_fixes_arrive(case, cuts):
    """Seen live, on any prefix of the fixes: every stop raised is the final stop (same key), and
    its start only ever settles earlier."""
    fixes, _ = synthetic_stay(**case)
    [final] = of(detect_live(make_trip(fixes, route=None), PLACES, TH), "UNAUTHORIZED_STOP")
    for cut in cuts:
        for stop in of(detect_live(make_trip(fixes[:int(cut * len(fixes))], route=None), PLACES, TH),
                       "UNAUTHORIZED_STOP"):
            assert stop.episode_key == final.episode_key
            assert stop.window_start >= final.window_start


def test_a_25_minute_stop_with_a_far_fix_injected_every_9_minutes_is_one_stop():
    b = TrackBuilder(route_point(0.0), interval_s=30, sigma_m=10, seed=5).emit()
    b.drive_to(STOP_AT, 60).mark("stop")
    stop_t, far = b.t, move(*STOP_AT, 1500, 400)
    while b.t < stop_t + 1500 - 1e-9:
        b.t += 30
        b.emit(far if round(b.t - stop_t) % 540 == 0 else None)
    b.drive_to(route_point(0.4), 60)
    trip = make_trip(b.fixes, route=None)
    [stop] = of(detect_live(trip, PLACES, TH), "UNAUTHORIZED_STOP")
    assert stop.window_start == at(stop_t)
    assert stop.evidence["duration_s"] == pytest.approx(1500, abs=30)
    assert stop.evidence["outliers"] == 2
    assert distance_m(stop.location, STOP_AT) < 30


def test_one_multipath_fix_does_not_split_an_11_minute_stop():
    """The held-out trip of issue 17: parked 11.5 min, fixes every 30 s within ~40 m, one fix 133 m away."""
    rng = np.random.default_rng(11)
    b = TrackBuilder(route_point(0.0), interval_s=30).emit()
    b.drive_to(STOP_AT, 60)
    start = b.t
    for k in range(1, 24):
        b.t += 30
        b.emit(move(*STOP_AT, 133, 0) if k == 5 else jittered(rng, STOP_AT, 40))
    b.drive_to(route_point(0.4), 60)
    [stop] = of(detect_live(make_trip(b.fixes, route=None), PLACES, TH), "UNAUTHORIZED_STOP")
    assert stop.window_start == at(start) and stop.evidence["duration_s"] == pytest.approx(690)
    assert stop.evidence["outliers"] == 1


@pytest.mark.parametrize("excursion_fixes, interval, stops", [
    (1, 30, 1),  # one fix away: an outlier
    (2, 30, 1),  # two fixes 30 s apart: not yet a departure
    (3, 30, 0),  # three fixes spanning 60 s: it left; two stays of 8 min each
    (2, 60, 0),  # two fixes spanning 60 s: it left
])
def test_a_stay_ends_on_two_fixes_beyond_the_radius_spanning_60_s(excursion_fixes, interval, stops):
    b = TrackBuilder(route_point(0.0), interval_s=interval).emit()
    b.drive_to(STOP_AT, 60).wait(480)
    away = move(*STOP_AT, 0, 400)
    for _ in range(excursion_fixes):
        b.t += interval
        b.emit(away)
    b.pos = STOP_AT
    b.t += interval
    b.emit().wait(480).drive_to(route_point(0.4), 60)
    assert len(of(detect_live(make_trip(b.fixes, route=None), PLACES, TH), "UNAUTHORIZED_STOP")) == stops


def test_a_stop_starts_at_its_first_fix_near_its_centre_not_where_it_was_proved():
    """The truck rolls up: its first fix within the stop's radius is 90 m east of where it then
    stands for 12 minutes. That fix cannot prove the stop (the next three lie 105 m from it), so the
    stop is proved from the next one — but it starts at the first, and its identity is where it
    was proved."""
    rng = np.random.default_rng(3)
    b = TrackBuilder(route_point(0.0), interval_s=30).emit()
    b.drive_to(move(*STOP_AT, 3000, 0), 60).drive_to(move(*STOP_AT, 90, 0), 30)
    rolled_up = b.t
    for k in range(1, 25):
        b.t += 30
        b.emit(move(*STOP_AT, -15, 0) if k <= 3 else jittered(rng, STOP_AT, 25))
    b.pos = STOP_AT
    b.drive_to(move(*STOP_AT, -3000, 0), 60)
    [stop] = of(detect_live(make_trip(b.fixes, route=None), PLACES, TH), "UNAUTHORIZED_STOP")
    assert stop.window_start == at(rolled_up)
    assert stop.window_end == at(rolled_up + 24 * 30)
    assert stop.episode_key == "UNAUTHORIZED_STOP:" + at(rolled_up + 30).isoformat().replace("+00:00", "Z")
    assert distance_m(stop.location, STOP_AT) < 20 and stop.evidence["outliers"] == 0


def test_a_stops_identity_holds_while_its_start_settles():
    """Fed fix by fix, the stop above keeps one key; only its window grows."""
    rng = np.random.default_rng(3)
    b = TrackBuilder(route_point(0.0), interval_s=30).emit()
    b.drive_to(move(*STOP_AT, 3000, 0), 60).drive_to(move(*STOP_AT, 90, 0), 30)
    for k in range(1, 40):
        b.t += 30
        b.emit(move(*STOP_AT, -15, 0) if k <= 3 else jittered(rng, STOP_AT, 25))
    keys, starts = set(), set()
    for n in range(len(b.fixes) - 30, len(b.fixes) + 1):
        for d in of(detect_live(make_trip(b.fixes[:n], route=None), PLACES, TH), "UNAUTHORIZED_STOP"):
            keys.add(d.episode_key)
            starts.add(d.window_start)
    assert len(keys) == 1 and len(starts) == 1


def test_a_stop_inferred_across_a_gap_says_so():
    b = TrackBuilder(route_point(0.0), interval_s=30).emit()
    b.drive_to(STOP_AT, 60).wait(300)
    b.t += 420  # the terminal was silent for 7 minutes
    b.emit().wait(300).drive_to(route_point(0.4), 60)
    [stop] = of(detect_live(make_trip(b.fixes, route=None), PLACES, TH), "UNAUTHORIZED_STOP")
    assert stop.evidence["max_gap_s"] == pytest.approx(420) and stop.evidence["across_gap"] is True

    b = TrackBuilder(route_point(0.0), interval_s=30).emit()
    b.drive_to(STOP_AT, 60).wait(900).drive_to(route_point(0.4), 60)
    [stop] = of(detect_live(make_trip(b.fixes, route=None), PLACES, TH), "UNAUTHORIZED_STOP")
    assert stop.evidence["max_gap_s"] == pytest.approx(30) and stop.evidence["across_gap"] is False


def test_find_stops_counts_outliers_and_gaps():
    b = TrackBuilder(route_point(0.0), interval_s=10).emit()
    b.drive_to(STOP_AT, 60).wait(300)
    b.t += 10
    b.emit(move(*STOP_AT, 500, 0))
    b.pos = STOP_AT
    b.wait(400).drive_to(route_point(0.4), 60)
    [stop] = find_stops(b.fixes, TH)
    near = sum(1 for f in b.fixes if distance_m((f.lon, f.lat), STOP_AT) <= 100)
    assert (stop.outliers, stop.fix_count, stop.max_gap_s) == (1, near, pytest.approx(10))
    assert near >= 71


# -- DIVERSION: the same stays, inside sites ----------------------------------------------------

FOREIGN_C = route_point(0.6)
FOREIGN = Place(30, "Unlicensed yard", "storage", square(FOREIGN_C, 150), enterprise_id=31)
# a second foreign site overlapping FOREIGN's eastern half and reaching 200 m beyond it
NEIGHBOUR = Place(32, "Neighbour's yard", "landfill", square(move(*FOREIGN_C, 200, 0), 150), enterprise_id=33)
# a foreign site overlapping the generator's own site
OVER_GENERATOR = Place(34, "Plot on the plant's edge", "storage", square(move(*GEN_C, 250, 0), 150), enterprise_id=35)
SITES = PlaceIndex([GENERATOR, RECEIVER, FOREIGN, NEIGHBOUR, OVER_GENERATOR])


def dwell(points: list[tuple[float, float]], interval: float = 30):
    """Drive to the first point, one fix per interval at each point, drive on. Returns the trip and
    the time of its first fix inside a foreign site."""
    b = TrackBuilder(route_point(0.0), interval_s=interval).emit()
    b.drive_to(route_point(0.55), 60).drive_to(points[0], 30)
    for p in points[1:]:
        b.t += interval
        b.emit(p)
    b.pos = points[-1]
    b.drive_to(route_point(0.8), 60)
    inside = [f.ts for f in b.fixes if shapely.intersects_xy(FOREIGN.geometry, f.lon, f.lat)
              or shapely.intersects_xy(NEIGHBOUR.geometry, f.lon, f.lat)]
    return make_trip(b.fixes, route=None), inside[0]


def test_one_stray_fix_outside_a_site_does_not_split_a_diversion():
    inside, outside = move(*FOREIGN_C, -60, 0), move(*FOREIGN_C, -400, 0)
    points = [inside] * 7 + [outside] + [inside] * 6  # 6.5 min in, one fix out at 3.5 min
    trip, start = dwell(points)
    [found] = of(detect_live(trip, SITES, TH), "DIVERSION")
    assert found.window_start == start and found.evidence["duration_s"] >= 390
    assert found.evidence["outliers"] == 1 and found.evidence["fix_count"] >= 13


def test_overlapping_sites_make_one_diversion_naming_each():
    only_first, both, only_second = move(*FOREIGN_C, -100, 0), move(*FOREIGN_C, 100, 0), move(*FOREIGN_C, 300, 0)
    trip, start = dwell([only_first] * 5 + [both] * 4 + [only_second] * 4)  # 2 + 2 + 2 min
    [found] = of(detect_live(trip, SITES, TH), "DIVERSION")
    assert found.window_start == start and found.evidence["duration_s"] >= 360
    assert [s["place_id"] for s in found.evidence["sites"]] == [FOREIGN.id, NEIGHBOUR.id]
    assert found.evidence["place_id"] == FOREIGN.id
    assert found.episode_key.startswith(f"DIVERSION:{FOREIGN.id}:")


def test_time_in_the_manifests_own_site_never_counts_even_where_another_overlaps_it():
    """Dispatched inside the plant, the truck waits 12 min where the plant overlaps another site
    (loaded: the dispatch is signed), then 3 min in the other site alone: no diversion."""
    overlap = move(*GEN_C, 200, 0)  # inside the generator (300 m half side) and OVER_GENERATOR
    outside_plant = move(*GEN_C, 350, 0)  # in OVER_GENERATOR only
    b = TrackBuilder(overlap, t=0, interval_s=30).emit().wait(720)
    b.drive_to(outside_plant, 10).wait(180).drive_to(route_point(0.3), 60)
    trip = make_trip(b.fixes, route=None)
    assert shapely.intersects_xy(GENERATOR.geometry, *overlap)
    assert shapely.intersects_xy(OVER_GENERATOR.geometry, *overlap)
    assert of(detect_live(trip, SITES, TH), "DIVERSION") == []
    # the same 12 minutes in the other site alone are a diversion
    b = TrackBuilder(route_point(0.0), interval_s=30).emit().drive_to(outside_plant, 40).wait(720)
    b.drive_to(route_point(0.3), 60)
    assert len(of(detect_live(make_trip(b.fixes, route=None), SITES, TH), "DIVERSION")) == 1
