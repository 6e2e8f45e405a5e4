"""Reconciliation codes, OVERDUE, CAPACITY_EXCEEDED, tolerance, phases and windows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.utils.detection import (
    GATE_QUEUE,
    GEN_C,
    GENERATOR,
    PLACES,
    RECEIVER,
    ROUTE,
    TrackBuilder,
    at,
    codes,
    make_trip,
    replace,
    ticket,
)
from wasteflow.detection import (
    Fix,
    Thresholds,
    capacity_exceeded,
    loaded_window,
    overdue,
    reconcile,
    tolerance_kg,
    trip_phase,
)

TH = Thresholds()


def of(drafts, code):
    return [d for d in drafts if d.code == code]


def full_trip(**kw):
    """A short clean delivered trip: generator -> receiver, fixes every 30 s, tickets ok."""
    b = TrackBuilder(GEN_C, interval_s=30).emit()
    b.drive_along(ROUTE, 60, 0, 1).wait(600)
    defaults = dict(
        received_at=at(b.t), accepted_kg=24000,
        departure_ticket=ticket("G-1", 1, 24000, -400), arrival_ticket=ticket("R-1", 2, 24000, b.t - 500),
    )
    defaults.update(kw)
    fixes = defaults.pop("fixes", b.fixes)
    return make_trip(fixes, **defaults), b


def test_a_clean_delivered_trip_has_no_findings():
    trip, _ = full_trip()
    assert reconcile(trip, PLACES, TH) == []


# -- GPS_GAP -----------------------------------------------------------------------------


@pytest.mark.parametrize("gap, expected", [(590, 0), (610, 1)])
def test_gps_gap_edge(gap, expected):
    trip, b = full_trip()
    fixes = list(trip.fixes)
    i = len(fixes) // 3
    shift = timedelta(seconds=gap) - (fixes[i + 1].ts - fixes[i].ts)
    shifted = fixes[: i + 1] + [replace_ts(f, f.ts + shift) for f in fixes[i + 1:]]
    trip = replace(trip, fixes=tuple(shifted), received_at=trip.received_at + timedelta(seconds=gap))
    found = of(reconcile(trip, PLACES, TH), "GPS_GAP")
    assert len(found) == expected
    if expected:
        assert found[0].evidence["gap_s"] == pytest.approx(gap)
        assert found[0].window_start == fixes[i].ts


def replace_ts(f: Fix, ts) -> Fix:
    return Fix(ts, f.lon, f.lat, f.seq, f.device_id, f.verified, f.speed_kmh)


def test_gap_filled_by_late_fixes_disappears():
    trip, _ = full_trip()
    fixes = list(trip.fixes)
    holed = fixes[:40] + fixes[62:]  # 22 fixes missing = 690 s
    assert len(of(reconcile(replace(trip, fixes=tuple(holed)), PLACES, TH), "GPS_GAP")) == 1
    late_batch_last = tuple(holed) + tuple(reversed(fixes[40:62]))
    assert of(reconcile(replace(trip, fixes=late_batch_last), PLACES, TH), "GPS_GAP") == []


# -- NO_TRACK / NEVER_ARRIVED --------------------------------------------------------------


def test_no_track_when_received_without_any_fix_in_the_window():
    trip, _ = full_trip()
    before = tuple(replace_ts(f, at(-5000 - f.seq)) for f in trip.fixes[:3])
    found = reconcile(replace(trip, fixes=before), PLACES, TH)
    assert "NO_TRACK" in codes(found)
    assert "NEVER_ARRIVED" not in codes(found)
    assert of(found, "NO_TRACK")[0].severity == "critical"


def test_no_track_only_once_received():
    trip, _ = full_trip(received_at=None)
    assert of(reconcile(replace(trip, fixes=()), PLACES, TH), "NO_TRACK") == []


def test_never_arrived_when_no_fix_inside_the_receiving_site():
    b = TrackBuilder(GEN_C, interval_s=30).emit()
    b.drive_along(ROUTE, 60, 0, 0.97).drive_to(GATE_QUEUE, 30).wait(600)
    trip, _ = full_trip(fixes=tuple(b.fixes))
    found = of(reconcile(trip, PLACES, TH), "NEVER_ARRIVED")
    assert len(found) == 1
    assert found[0].evidence["closest_approach_m"] == pytest.approx(150, abs=5)


def test_a_single_fix_on_the_receiver_fence_is_an_arrival():
    b = TrackBuilder(GEN_C, interval_s=30).emit()
    b.drive_along(ROUTE, 60, 0, 0.97).drive_to(GATE_QUEUE, 30)
    minx, miny, maxx, maxy = RECEIVER.geometry.bounds
    b.jump((minx, (miny + maxy) / 2), 30)
    trip, _ = full_trip(fixes=tuple(b.fixes), received_at=at(b.t + 60))
    assert of(reconcile(trip, PLACES, TH), "NEVER_ARRIVED") == []


# -- tonnage ---------------------------------------------------------------------------------


def test_tolerance_is_max_of_2_pct_and_50_kg_unless_overridden():
    assert tolerance_kg(24000, None, TH) == pytest.approx(480)
    assert tolerance_kg(1000, None, TH) == 50
    assert tolerance_kg(24000, 5.0, TH) == pytest.approx(1200)
    assert tolerance_kg(500, 5.0, TH) == 50


@pytest.mark.parametrize("departure, arrival, override, expected", [
    (24000, 23520, None, []),                      # exactly the tolerance (480)
    (24000, 23500, None, ["TONNAGE_SHORTFALL"]),   # 500 > 480
    (24000, 24480, None, []),
    (24000, 24500, None, ["TONNAGE_SURPLUS"]),
    (1000, 950, None, []),                          # 50 kg floor
    (1000, 940, None, ["TONNAGE_SHORTFALL"]),
    (24000, 22800, 5.0, []),                        # SW07: 5 % = 1200
    (24000, 22780, 5.0, ["TONNAGE_SHORTFALL"]),
])
def test_tonnage_edges(departure, arrival, override, expected):
    trip, b = full_trip(departure_ticket=ticket("G", 1, departure, -400),
                        arrival_ticket=ticket("R", 2, arrival, 3000), accepted_kg=None,
                        declared_kg=departure, tolerance_pct=override)
    assert codes(reconcile(trip, PLACES, TH)) == expected


def test_shortfall_lists_candidate_dump_locations():
    b = TrackBuilder(GEN_C, interval_s=30).emit()
    b.drive_along(ROUTE, 60, 0, 0.3).mark("dump").wait(900).drive_along(ROUTE, 60, 0.3, 1).wait(300)
    loads = [(60 * k, 24000) for k in range(5)] + [(b.marks["dump"][0] + 300 + 60 * k, 14000) for k in range(4)]
    from tests.utils.detection import load_series
    trip = make_trip(b.fixes, load_series(loads), received_at=at(b.t),
                     departure_ticket=ticket("G", 1, 24000, -400), arrival_ticket=ticket("R", 2, 14000, b.t - 200),
                     accepted_kg=14000)
    found = reconcile(trip, PLACES, TH)
    assert codes(found) == ["LOAD_DROP", "TONNAGE_SHORTFALL", "UNAUTHORIZED_STOP"]
    (short,) = of(found, "TONNAGE_SHORTFALL")
    kinds = [c["kind"] for c in short.evidence["candidates"]]
    assert kinds == ["load_drop", "unauthorized_stop"]
    assert short.location == (short.evidence["candidates"][0]["lon"], short.evidence["candidates"][0]["lat"])
    json.dumps(short.evidence)  # JSON-serialisable


@pytest.mark.parametrize("net, expected", [(10990, []), (11010, ["DECLARATION_MISMATCH"]),
                                           (9010, []), (8990, ["DECLARATION_MISMATCH"])])
def test_declaration_mismatch_edge_10_pct(net, expected):
    trip, _ = full_trip(declared_kg=10000, departure_ticket=ticket("G", 1, net, -400),
                        arrival_ticket=ticket("R", 2, net, 3000), accepted_kg=net)
    assert codes(reconcile(trip, PLACES, TH)) == expected


@pytest.mark.parametrize("accepted, expected", [(23520, []), (23500, ["ACCEPTANCE_MISMATCH"]),
                                                (24480, []), (24500, ["ACCEPTANCE_MISMATCH"])])
def test_acceptance_mismatch_edge(accepted, expected):
    trip, _ = full_trip(accepted_kg=accepted)
    assert codes(reconcile(trip, PLACES, TH)) == expected


@pytest.mark.parametrize("missing", [["departure"], ["arrival"], ["departure", "arrival"]])
def test_missing_ticket(missing):
    kw = {f"{m}_ticket": None for m in missing}
    trip, _ = full_trip(**kw)
    found = of(reconcile(trip, PLACES, TH), "MISSING_TICKET")
    assert len(found) == 1 and found[0].evidence["missing"] == missing


def test_missing_ticket_only_once_received():
    trip, _ = full_trip(received_at=None, arrival_ticket=None)
    assert of(reconcile(trip, PLACES, TH), "MISSING_TICKET") == []


def test_unverified_ticket_makes_tonnage_unverified():
    trip, _ = full_trip(arrival_ticket=ticket("R", 2, 20000, 3000, verified=False), accepted_kg=20000)
    (short,) = of(reconcile(trip, PLACES, TH), "TONNAGE_SHORTFALL")
    assert short.verified is False


# -- OVERDUE -------------------------------------------------------------------------------


@pytest.mark.parametrize("planned, now_s, received_s, raised", [
    (3600, 3600 + 7199, None, False),
    (3600, 3600 + 7201, None, True),
    (3600, 3600 + 9000, 3600 + 7000, False),   # received before the deadline: withdrawn
    (3600, 3600 + 9000, 3600 + 8000, True),    # received late
    (None, 86399, None, False),
    (None, 86401, None, True),
])
def test_overdue(planned, now_s, received_s, raised):
    trip = make_trip(planned_arrival=at(planned) if planned is not None else None,
                     received_at=at(received_s) if received_s is not None else None)
    d = overdue(trip, at(now_s), TH)
    assert (d is not None) == raised
    if d:
        assert d.code == "OVERDUE" and d.severity == "warning"
        deadline = at(planned + 7200) if planned is not None else at(86400)
        assert d.window_start == deadline
        json.dumps(d.evidence)


def test_not_dispatched_is_never_overdue():
    assert overdue(make_trip(dispatched_at=None), at(10 ** 6), TH) is None


# -- CAPACITY_EXCEEDED -------------------------------------------------------------------


def test_capacity_exceeded():
    assert capacity_exceeded(RECEIVER, 1000, 1000, at(0)) is None
    assert capacity_exceeded(RECEIVER, 1000, None, at(0)) is None
    d = capacity_exceeded(RECEIVER, 1001, 1000, at(0))
    assert d.code == "CAPACITY_EXCEEDED" and d.manifest_no is None and d.evidence["excess_kg"] == 1
    assert d.episode_key == "CAPACITY_EXCEEDED:2:2026"


# -- phases and windows ----------------------------------------------------------------------


def test_trip_phase_progression():
    b = TrackBuilder(GEN_C, interval_s=30).emit().wait(300)
    assert trip_phase(make_trip(b.fixes)) is None
    b.drive_along(ROUTE, 60, 0, 0.5)
    assert trip_phase(make_trip(b.fixes)) == "in_transit"
    b.drive_along(ROUTE, 60, 0.5, 1)
    assert trip_phase(make_trip(b.fixes), PLACES) == "arrived"
    assert trip_phase(make_trip(b.fixes, dispatched_at=None)) is None


def test_loaded_window_uses_the_earlier_of_dispatch_and_leaving():
    b = TrackBuilder(GEN_C, interval_s=30).emit().wait(300)
    b.drive_along(ROUTE, 60, 0, 1)
    entry = next(f.ts for f in b.fixes if f.ts > at(400) and RECEIVER.geometry.intersects(
        __import__("shapely").Point(f.lon, f.lat)))
    exit_ = next(f.ts for f in b.fixes if not __import__("shapely").Point(f.lon, f.lat).within(
        GENERATOR.geometry))
    # signed while still inside: departure = dispatch
    assert loaded_window(make_trip(b.fixes, dispatched_at=at(100))) == (at(100), entry)
    # signed after driving off: departure = leaving the generator
    assert loaded_window(make_trip(b.fixes, dispatched_at=at(1200))) == (exit_, entry)
    # not signed, still inside: not departed
    assert loaded_window(make_trip(b.fixes[:5], dispatched_at=None)) is None
    # signed, still driving: open-ended
    assert loaded_window(make_trip(b.fixes[:40], dispatched_at=at(0))) == (at(0), None)
