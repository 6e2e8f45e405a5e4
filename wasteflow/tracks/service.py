"""Reading a trip's telemetry back: the vehicle's fixes and load readings in the trip's windows.

Which readings belong to a trip is decided once, in :mod:`wasteflow.tracks.windows` (findings.md,
"a trip's telemetry"); this module reads what that decision needs from the store — the
manifest's legs and each vehicle's next dispatch — and then the readings inside the windows.
Detection, the track, the trip summary, exports and live detection all read through here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pyproj import Geod
from sqlalchemy import and_, false, func, or_
from sqlmodel import Session, col, select

from wasteflow.manifests.legs import leg_spans
from wasteflow.manifests.models import Manifest, ManifestLeg
from wasteflow.registry.models import Device
from wasteflow.tracks.models import GpsFix, LoadReading
from wasteflow.tracks.windows import BEFORE_START, Leg, Window, one_track, trip_windows

_GEOD = Geod(ellps="WGS84")

TRIP_MARGIN = BEFORE_START
"""Fixes this long before dispatch are read too: loading and leaving the generator site."""


def vehicle_devices(session: Session, vehicle_id: int, kind: str) -> list[str]:
    return list(session.exec(select(Device.id).where(Device.vehicle_id == vehicle_id, Device.kind == kind)).all())


def next_start(session: Session, vehicle_id: int, manifest_id: int | None, after: datetime) -> datetime | None:
    """When the vehicle next started a leg on another manifest after `after`: its dispatch there, or
    its takeover by handover."""
    dispatch = session.exec(select(func.min(Manifest.dispatched_at)).where(
        Manifest.vehicle_id == vehicle_id, Manifest.id != manifest_id, col(Manifest.dispatched_at) > after)).one()
    takeover = session.exec(select(func.min(ManifestLeg.handed_over_at)).where(
        ManifestLeg.vehicle_id == vehicle_id, ManifestLeg.manifest_id != manifest_id,
        col(ManifestLeg.handed_over_at) > after)).one()
    starts = [t for t in (dispatch, takeover) if t is not None]
    return min(starts) if starts else None


def manifest_legs(session: Session, manifest: Manifest) -> list[Leg]:
    """The manifest's started legs (manifests.legs.leg_spans), each with its vehicle's next start
    elsewhere: leg 1 from the dispatch, each later leg from its handover, each to the next handover
    or the receipt or rejection."""
    return [Leg(span.vehicle_id, span.start, span.end, next_start(session, span.vehicle_id, manifest.id, span.start))
            for span in leg_spans(session, manifest)]


def windows(session: Session, manifest: Manifest) -> list[Window]:
    """The manifest's trip windows, read as one track (empty before dispatch)."""
    return one_track(trip_windows(manifest_legs(session, manifest)))


def load_devices(session: Session, vehicle_id: int) -> list[str]:
    """The vehicle's load cells, and its JT/T 808 terminals that carry the load sensor (a ``load_item``)."""
    return list(session.exec(select(Device.id).where(
        Device.vehicle_id == vehicle_id,
        (Device.kind == "load_cell") | (Device.load_item.is_not(None)))).all())


def _within(session: Session, trip: Sequence[Window], kind: str, device_column: Any, ts_column: Any):
    """The SQL condition for a reading of the right devices (``kind``: gps or load) inside one of the windows."""
    clauses = []
    for window in trip:
        devices = vehicle_devices(session, window.vehicle_id, "gps") if kind == "gps" else \
            load_devices(session, window.vehicle_id)
        if devices:
            clauses.append(and_(col(device_column).in_(devices), ts_column >= window.start, ts_column <= window.end))
    return or_(*clauses) if clauses else false()


def trip_fixes(session: Session, manifest: Manifest) -> list[GpsFix]:
    condition = _within(session, windows(session, manifest), "gps", GpsFix.device_id, GpsFix.ts)
    return list(session.exec(select(GpsFix).where(condition).order_by(col(GpsFix.ts))).all())


def leg_windows(session: Session, manifest: Manifest) -> list[Window]:
    """Each started leg's own window, whole (not cut where the previous leg's ends): what detection
    reads when it checks each leg as its own trip, in the order of ``manifests.legs.leg_spans``."""
    return trip_windows(manifest_legs(session, manifest))


def trip_fix_rows(session: Session, manifest: Manifest) -> list:
    """The trip's fixes as plain rows (no ORM objects): what detection reads, fast."""
    return fix_rows_in(session, windows(session, manifest))


def fix_rows_in(session: Session, trip: Sequence[Window]) -> list:
    """The fixes inside the windows, as plain rows (no ORM objects)."""
    condition = _within(session, trip, "gps", GpsFix.device_id, GpsFix.ts)
    return list(session.execute(
        select(GpsFix.ts, GpsFix.lon, GpsFix.lat, GpsFix.seq, GpsFix.device_id, GpsFix.verified, GpsFix.speed_kmh,
               GpsFix.via)
        .where(condition).order_by(col(GpsFix.ts))).all())


def trip_loads(session: Session, manifest: Manifest) -> list[LoadReading]:
    return loads_in(session, windows(session, manifest))


def loads_in(session: Session, trip: Sequence[Window]) -> list[LoadReading]:
    condition = _within(session, trip, "load", LoadReading.device_id, LoadReading.ts)
    return list(session.exec(select(LoadReading).where(condition).order_by(col(LoadReading.ts))).all())


def trip_summary(fixes: list[GpsFix], loads: list[LoadReading]) -> dict:
    return {
        "fixes": len(fixes),
        "first_fix_at": fixes[0].ts if fixes else None,
        "last_fix_at": fixes[-1].ts if fixes else None,
        "distance_m": round(_GEOD.line_length([f.lon for f in fixes], [f.lat for f in fixes])) if len(fixes) > 1 else 0,
        "unverified_fixes": sum(1 for f in fixes if not f.verified),
        "fixes_via": dict(Counter(f.via for f in fixes if f.via)),
        "load_readings": len(loads),
    }
