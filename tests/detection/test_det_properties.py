"""Properties: never raises, idempotent, monotone under appended fixes; geodesy accuracy; speed."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.utils.detection import (
    ALL_PLACES,
    GEN_C,
    GEOD,
    PLACES,
    REC_C,
    ROUTE,
    T0,
    at,
    make_trip,
    move,
    ticket,
)
from wasteflow.detection import (
    FindingDraft,
    Fix,
    LoadReading,
    Thresholds,
    carry_episode_keys,
    detect_live,
    find_stops,
    reconcile,
)
from wasteflow.detection.geo import LocalFrame, chord_m, ecef

TH = Thresholds()

# Fixes around the route, sometimes exactly repeated in place (stops), sometimes wild.
coord = st.one_of(
    st.tuples(st.floats(109.7, 110.3), st.floats(40.5, 40.8)),
    st.tuples(st.floats(-180, 180), st.floats(-90, 90)),
    st.tuples(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True)),
)
step = st.tuples(st.integers(0, 900), coord, st.booleans(), st.integers(0, 3))


@st.composite
def fix_lists(draw):
    steps = draw(st.lists(step, max_size=60))
    fixes, t = [], 0
    anchor = GEN_C
    for i, (dt, (lon, lat), verified, mode) in enumerate(steps):
        t += dt
        if mode == 0:  # stay near the last position
            lon, lat = move(*anchor, (i % 7) * 10.0, 0) if math.isfinite(anchor[0]) else anchor
        anchor = (lon, lat)
        fixes.append(Fix(at(t), lon, lat, i, "gps-1", verified))
    return fixes


loads_st = st.lists(st.tuples(st.integers(0, 20000), st.integers(-100, 40000)), max_size=30)


def keys(drafts, kinds=("UNAUTHORIZED_STOP", "ROUTE_DEVIATION")):
    return {d.episode_key for d in drafts if d.code in kinds}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fixes=fix_lists(), loads=loads_st, received=st.booleans(), cut=st.integers(0, 60))
def test_random_tracks_never_raise_and_live_is_idempotent_and_monotone(fixes, loads, received, cut):
    readings = [LoadReading(at(t), kg, i, "lc") for i, (t, kg) in enumerate(sorted(loads))]
    kw = dict(received_at=at(10 ** 5) if received else None,
              departure_ticket=ticket("G", 1, 24000, -400), arrival_ticket=ticket("R", 2, 23000, 9000),
              accepted_kg=23000, dispatched_at=T0 - timedelta(seconds=1))
    trip = make_trip(list(reversed(fixes)), readings, **kw)
    first = detect_live(trip, PLACES, TH)
    again = detect_live(trip, PLACES, TH)
    assert [d.episode_key for d in first] == [d.episode_key for d in again]
    for d in reconcile(trip, PLACES, TH) + first:
        json.dumps(d.evidence, allow_nan=False)
        assert d.window_start <= d.window_end
    prefix = make_trip(fixes[:cut], readings, **kw)
    assert keys(detect_live(prefix, PLACES, TH)) <= keys(first)


@settings(max_examples=50, deadline=None)
@given(fixes=fix_lists())
def test_find_stops_is_order_independent(fixes):
    assert find_stops(fixes, TH) == find_stops(list(reversed(fixes)), TH)


def test_stop_key_is_stable_while_the_stop_grows():
    from tests.utils.detection import TrackBuilder
    b = TrackBuilder(GEN_C, interval_s=10, sigma_m=15, seed=4).emit()
    b.drive_along(ROUTE, 60, 0, 0.3).wait(1800).drive_along(ROUTE, 60, 0.3, 0.4)
    seen = set()
    for n in range(60, len(b.fixes), 5):
        seen |= keys(detect_live(make_trip(b.fixes[:n]), PLACES, TH), ("UNAUTHORIZED_STOP",))
    assert len(seen) == 1


def test_carry_episode_keys_reattaches_an_episode_whose_start_moved():
    def draft(key, start, end):
        return FindingDraft("UNAUTHORIZED_STOP", "warning", "M", "P", at(start), at(end), None, {}, True, key)
    stored = {"UNAUTHORIZED_STOP:b": (at(100), at(800))}
    drafts = [draft("UNAUTHORIZED_STOP:a", 40, 900), draft("UNAUTHORIZED_STOP:c", 2000, 2900)]
    carry_episode_keys(drafts, stored)
    assert [d.episode_key for d in drafts] == ["UNAUTHORIZED_STOP:b", "UNAUTHORIZED_STOP:c"]


# -- geodesy -------------------------------------------------------------------------------


@pytest.mark.parametrize("metres", [10, 100, 1000, 20000])
def test_chord_matches_the_geodesic(metres):
    a = (109.9, 40.6)
    b = GEOD.fwd(a[0], a[1], 37, metres)[:2]
    assert float(chord_m(ecef(*a), ecef(*b))) == pytest.approx(metres, abs=max(1e-3, metres * 1e-5))


@pytest.mark.parametrize("km_from_centre", [0, 50, 100])
def test_local_frame_keeps_local_distances_within_0_02_pct(km_from_centre):
    frame = LocalFrame(109.9, 40.6)
    p = GEOD.fwd(109.9, 40.6, 60, km_from_centre * 1000)[:2]
    for az in (0, 45, 90, 135):
        q = GEOD.fwd(p[0], p[1], az, 500)[:2]
        x, y = frame.xy([p[0], q[0]], [p[1], q[1]])
        assert math.hypot(x[1] - x[0], y[1] - y[0]) == pytest.approx(500, rel=2e-4)


def test_place_index_boundary_is_inside_and_zones_are_found():
    minx, miny, maxx, maxy = ALL_PLACES[0].geometry.bounds
    assert [p.id for p in PLACES.containing(minx, (miny + maxy) / 2)] == [1]
    assert PLACES.containing(minx - 1e-4, (miny + maxy) / 2) == []
    pts, places = PLACES.query([GEN_C[0], REC_C[0], float("nan")], [GEN_C[1], REC_C[1], 0.0])
    assert sorted(zip(pts.tolist(), places.tolist(), strict=False)) == [(0, 0), (1, 1)]
