"""Reading a trip's telemetry back: the vehicle's fixes and load readings in the trip's window."""

from __future__ import annotations

from datetime import datetime, timedelta

from pyproj import Geod
from sqlmodel import Session, select

from wasteflow.database import utcnow
from wasteflow.manifests.models import Manifest
from wasteflow.registry.models import Device
from wasteflow.tracks.models import GpsFix, LoadReading

_GEOD = Geod(ellps="WGS84")

TRIP_MARGIN = timedelta(minutes=30)
"""Fixes this long before dispatch are read too: loading and leaving the generator site."""


def vehicle_devices(session: Session, vehicle_id: int, kind: str) -> list[str]:
    return list(session.exec(select(Device.id).where(Device.vehicle_id == vehicle_id, Device.kind == kind)).all())


def trip_window(manifest: Manifest) -> tuple[datetime, datetime] | None:
    if manifest.dispatched_at is None:
        return None
    end = manifest.received_at or manifest.rejected_at or utcnow()
    return manifest.dispatched_at - TRIP_MARGIN, end


def trip_fixes(session: Session, manifest: Manifest) -> list[GpsFix]:
    window = trip_window(manifest)
    devices = vehicle_devices(session, manifest.vehicle_id, "gps")
    if window is None or not devices:
        return []
    return list(session.exec(select(GpsFix).where(GpsFix.device_id.in_(devices), GpsFix.ts >= window[0],
                                                  GpsFix.ts <= window[1]).order_by(GpsFix.ts)).all())


def trip_fix_rows(session: Session, manifest: Manifest) -> list:
    """The trip's fixes as plain rows (no ORM objects): what detection reads, fast."""
    window = trip_window(manifest)
    devices = vehicle_devices(session, manifest.vehicle_id, "gps")
    if window is None or not devices:
        return []
    return list(session.execute(
        select(GpsFix.ts, GpsFix.lon, GpsFix.lat, GpsFix.seq, GpsFix.device_id, GpsFix.verified, GpsFix.speed_kmh)
        .where(GpsFix.device_id.in_(devices), GpsFix.ts >= window[0], GpsFix.ts <= window[1])
        .order_by(GpsFix.ts)).all())


def trip_loads(session: Session, manifest: Manifest) -> list[LoadReading]:
    window = trip_window(manifest)
    devices = vehicle_devices(session, manifest.vehicle_id, "load_cell")
    if window is None or not devices:
        return []
    return list(session.exec(select(LoadReading).where(LoadReading.device_id.in_(devices), LoadReading.ts >= window[0],
                                                       LoadReading.ts <= window[1]).order_by(LoadReading.ts)).all())


def trip_summary(fixes: list[GpsFix], loads: list[LoadReading]) -> dict:
    return {
        "fixes": len(fixes),
        "first_fix_at": fixes[0].ts if fixes else None,
        "last_fix_at": fixes[-1].ts if fixes else None,
        "distance_m": round(_GEOD.line_length([f.lon for f in fixes], [f.lat for f in fixes])) if len(fixes) > 1 else 0,
        "unverified_fixes": sum(1 for f in fixes if not f.verified),
        "load_readings": len(loads),
    }
