"""A trip's telemetry (findings.md, "Terms"): from 30 min before dispatch until the earliest of the
receipt or rejection, the vehicle's next dispatch on another manifest, and dispatch + 48 h; per leg."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wasteflow.tracks.windows import Leg, Window, leg_window, trip_windows

T = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
BEFORE = timedelta(minutes=30)


def test_an_open_manifest_ends_at_the_vehicles_next_dispatch():
    assert leg_window(Leg(7, T, None, T + 5 * H)) == Window(7, T - BEFORE, T + 5 * H)


def test_an_open_manifest_without_a_next_dispatch_is_capped_at_48_h():
    window = leg_window(Leg(7, T, None, None))
    assert window == Window(7, T - BEFORE, T + 48 * H)
    assert window.contains(T + 48 * H) and not window.contains(T + 48 * H + timedelta(seconds=1))


def test_a_late_receipt_ends_the_trip_at_its_at_unless_the_vehicle_left_again_first():
    assert leg_window(Leg(7, T, T + 30 * H, None)).end == T + 30 * H
    assert leg_window(Leg(7, T, T + 30 * H, T + 6 * H)).end == T + 6 * H  # redispatched before receipt
    assert leg_window(Leg(7, T, T + 3 * H, T + 6 * H)).end == T + 3 * H  # received in time


def test_48_h_caps_a_receipt_signed_later_still():
    assert leg_window(Leg(7, T, T + 60 * H, None)).end == T + 48 * H


def test_the_window_starts_30_min_before_dispatch_and_holds_both_ends():
    window = leg_window(Leg(7, T, T + 2 * H))
    assert window.contains(T - BEFORE) and window.contains(T + 2 * H)
    assert not window.contains(T - BEFORE - timedelta(seconds=1))
    assert window.overlaps(T - 2 * H, T - BEFORE) and not window.overlaps(T - 2 * H, T - H)


def test_each_leg_has_its_own_window_on_its_own_vehicle():
    handover = T + 4 * H
    legs = [Leg(7, T, handover), Leg(9, handover, T + 9 * H, next_dispatch=T + 8 * H)]
    assert trip_windows(legs) == [Window(7, T - BEFORE, handover), Window(9, handover - BEFORE, T + 8 * H)]
    assert trip_windows([]) == []
