"""What a trip is checked against: the thresholds, and every site and zone as detection's places
(the trips themselves are loaded in :mod:`wasteflow.monitoring.loading`)."""

from __future__ import annotations

import threading
import time

from shapely.geometry import shape
from sqlalchemy import func
from sqlmodel import Session, select

from wasteflow.config import Settings
from wasteflow.detection.model import Place, Thresholds, Ticket
from wasteflow.detection.places import PlaceIndex
from wasteflow.registry.changes import places_generation
from wasteflow.registry.models import Site, Zone


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
    """Every site and zone in one spatial index, rebuilt when the registry changes.

    A change committed in this process (registry/changes.py) is seen at the next use; one another
    process committed, within ``recheck_s`` (a count-and-latest-id fingerprint read at most that often)."""

    def __init__(self, recheck_s: float = 5.0):
        self.recheck_s = recheck_s
        self._lock = threading.Lock()
        self._fingerprint = None
        self._generation = -1
        self._checked = 0.0
        self.index = PlaceIndex()
        self.sites: dict[int, Place] = {}

    def refresh(self, session: Session) -> PlaceIndex:
        with self._lock:
            current = places_generation() == self._generation and self._fingerprint is not None
            if current and time.monotonic() - self._checked < self.recheck_s:
                return self.index
            generation = places_generation()
            fingerprint = (session.exec(select(func.count(), func.max(Site.id)).select_from(Site)).one(),
                           session.exec(select(func.count(), func.max(Zone.id)).select_from(Zone)).one())
            if fingerprint != self._fingerprint or generation != self._generation:
                sites = [site_place(s) for s in session.exec(select(Site)).all()]
                zones = [zone_place(z) for z in session.exec(select(Zone)).all()]
                self.index = PlaceIndex(sites + zones)
                self.sites = {p.id: p for p in sites}
                self._fingerprint = fingerprint
                self._generation = generation
            self._checked = time.monotonic()
            return self.index


def detection_ticket(row) -> Ticket | None:
    if row is None:
        return None
    return Ticket(ticket_no=row.ticket_no, site_id=row.site_id, plate=row.plate, gross_kg=row.gross_kg,
                  tare_kg=row.tare_kg, net_kg=row.net_kg, gross_at=row.gross_at, tare_at=row.tare_at,
                  verified=row.verified)
