"""Loading a manifest's trip — sites, tickets, fixes, load readings — as detection's plain data."""

from __future__ import annotations

import threading
import time

from shapely.geometry import shape
from sqlalchemy import func
from sqlmodel import Session, select

from wasteflow.config import Settings
from wasteflow.detection.model import Fix, LoadReading, Place, Thresholds, Ticket, Trip
from wasteflow.detection.places import PlaceIndex
from wasteflow.manifests.models import Manifest
from wasteflow.monitoring.leg_trips import trip_legs
from wasteflow.registry.models import Site, Zone
from wasteflow.registry.service import category_tolerance_pct
from wasteflow.tickets.service import linked_ticket
from wasteflow.tracks import service as tracks


def thresholds(settings: Settings) -> Thresholds:
    """The detection thresholds, from the settings (``WASTEFLOW_STOP_MIN_SECONDS`` and friends)."""
    return settings.thresholds


def site_place(site: Site) -> Place:
    return Place(id=site.id, name=site.name, kind=site.kind, geometry=shape(site.geofence),
                 enterprise_id=site.enterprise_id)


def zone_place(zone: Zone) -> Place:
    return Place(id=zone.id, name=zone.name, kind=zone.kind, geometry=shape(zone.geofence), is_zone=True,
                 region_code=zone.region_code or "")


class PlaceDirectory:
    """Every site and zone in one spatial index, rebuilt when the registry changes."""

    def __init__(self, recheck_s: float = 5.0):
        self.recheck_s = recheck_s
        self._lock = threading.Lock()
        self._fingerprint = None
        self._checked = 0.0
        self.index = PlaceIndex()
        self.sites: dict[int, Place] = {}

    def refresh(self, session: Session) -> PlaceIndex:
        with self._lock:
            if time.monotonic() - self._checked < self.recheck_s and self._fingerprint is not None:
                return self.index
            fingerprint = (session.exec(select(func.count(), func.max(Site.id)).select_from(Site)).one(),
                           session.exec(select(func.count(), func.max(Zone.id)).select_from(Zone)).one())
            if fingerprint != self._fingerprint:
                sites = [site_place(s) for s in session.exec(select(Site)).all()]
                zones = [zone_place(z) for z in session.exec(select(Zone)).all()]
                self.index = PlaceIndex(sites + zones)
                self.sites = {p.id: p for p in sites}
                self._fingerprint = fingerprint
            self._checked = time.monotonic()
            return self.index


def detection_ticket(row) -> Ticket | None:
    if row is None:
        return None
    return Ticket(ticket_no=row.ticket_no, site_id=row.site_id, plate=row.plate, gross_kg=row.gross_kg,
                  tare_kg=row.tare_kg, net_kg=row.net_kg, gross_at=row.gross_at, tare_at=row.tare_at,
                  verified=row.verified)


def load_trip(session: Session, manifest: Manifest, places: PlaceDirectory) -> Trip:
    places.refresh(session)
    route = shape(manifest.route) if manifest.route else None
    fixes = tuple(Fix(*row) for row in tracks.trip_fix_rows(session, manifest))
    loads = tuple(LoadReading(ts=r.ts, load_kg=r.load_kg, seq=r.seq, device_id=r.device_id, verified=r.verified,
                              via=r.via)
                  for r in tracks.trip_loads(session, manifest))
    return Trip(
        manifest_no=manifest.manifest_no, plate=manifest.vehicle_plate, waste_code=manifest.waste_code,
        declared_kg=manifest.declared_kg, generator_site=_site(session, places, manifest.generator_site_id),
        receiver_site=_site(session, places, manifest.receiver_site_id), transporter_id=manifest.transporter_id,
        dispatched_at=manifest.dispatched_at, received_at=manifest.received_at, accepted_kg=manifest.accepted_kg,
        refused_kg=manifest.refused_kg or 0,
        planned_arrival=manifest.planned_arrival, route=route, corridor_m=manifest.corridor_m,
        departure_ticket=detection_ticket(linked_ticket(session, manifest.manifest_no, "departure")),
        arrival_ticket=detection_ticket(linked_ticket(session, manifest.manifest_no, "arrival")),
        fixes=fixes, loads=loads, tolerance_pct=category_tolerance_pct(session, manifest.waste_code),
        legs=trip_legs(session, manifest, lambda site_id: _site(session, places, site_id), detection_ticket),
        regions=(manifest.region_code, manifest.receiver_region_code))


def _site(session: Session, places: PlaceDirectory, site_id: int) -> Place:
    place = places.sites.get(site_id)
    return place if place is not None else site_place(session.get(Site, site_id))
