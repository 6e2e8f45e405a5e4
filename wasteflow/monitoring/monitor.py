"""What happens to a trip as its data arrives: follow it live, reconcile it at receipt, watch the clock.

One :class:`Monitor` serves the API (receipt hooks) and the bridge (live detection and the
overdue watchdog). All detection runs on event time; the watchdog's clock is injectable so
replayed and accelerated days behave like live ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, col, select

from wasteflow.config import Settings
from wasteflow.database import utcnow
from wasteflow.detection import pipeline
from wasteflow.detection.geo import covers_lonlat
from wasteflow.detection.model import Trip
from wasteflow.findings import service as findings
from wasteflow.findings.models import Finding
from wasteflow.manifests import events, locks
from wasteflow.manifests.lifecycle import OPEN_STATES
from wasteflow.manifests.models import Manifest
from wasteflow.monitoring.loading import load_trip, load_trips
from wasteflow.monitoring.recording import advance, findings_by_manifest, record_drafts, withdraw_unproduced
from wasteflow.monitoring.trips import PlaceDirectory, site_place, thresholds
from wasteflow.registry.models import Site

Clock = Callable[[], datetime]


class Monitor:
    def __init__(self, settings: Settings, places: PlaceDirectory | None = None, clock: Clock = utcnow):
        self.settings = settings
        self.thresholds = thresholds(settings)
        self.places = places or PlaceDirectory()
        self.clock = clock

    # --- live, while the trip is under way ---------------------------------------------------

    def follow(self, session: Session, manifest: Manifest, since: datetime | None = None) -> list[Finding]:
        """Advance the trip's phase from its positions and raise the live findings so far.

        ``since``: the earliest new reading; then only the trip's recent window is read (from
        ``live_lookback_s`` before it), so a run costs the same on a trip's 40th hour as on its
        first. Until the vehicle has left the generator's site the whole trip is read: the
        departure is stamped with the first fix outside it."""
        recent_from = None
        if since is not None and manifest.status != "dispatched":
            recent_from = since - timedelta(seconds=self.settings.live_lookback_s)
        trip = load_trip(session, manifest, self.places, recent_from)
        self._advance_phase(session, manifest, trip)
        return record_drafts(session, manifest, pipeline.detect_live(trip, self.places.index, self.thresholds))

    def _advance_phase(self, session: Session, manifest: Manifest, trip: Trip) -> None:
        left_at, entered_at = phase_times(trip)
        if manifest.status == "dispatched" and left_at is not None:
            advance(session, manifest, "depart", left_at, {"reason": "left the generator's site"})
        if manifest.status in ("dispatched", "in_transit") and entered_at is not None:
            advance(session, manifest, "arrive", entered_at, {"reason": "entered the receiving site"})

    # --- at receipt, and again when late data arrives -----------------------------------------

    def on_receipt(self, session: Session, manifest: Manifest) -> list[Finding]:
        raised = self.check_capacity(session, manifest)
        return raised + self.reconcile(session, manifest)

    def reconcile(self, session: Session, manifest: Manifest) -> list[Finding]:
        return self.reconcile_many(session, [manifest])

    def reconcile_many(self, session: Session, manifests: Sequence[Manifest]) -> list[Finding]:
        """Reconcile a batch of manifests (locked by the caller) in the caller's transaction.

        The trips and the manifests' findings are read once for the whole batch
        (:mod:`wasteflow.monitoring.loading`): the same findings as one by one, in a few queries."""
        trips = load_trips(session, manifests, self.places)
        known = findings_by_manifest(session, [m.manifest_no for m in manifests])
        raised: list[Finding] = []
        for manifest, trip in zip(manifests, trips, strict=True):
            raised += self._reconcile_trip(session, manifest, trip, known[manifest.manifest_no])
        session.flush()
        return raised

    def _reconcile_trip(self, session: Session, manifest: Manifest, trip: Trip, known: list[Finding]) -> list[Finding]:
        run = pipeline.run_reconciliation(trip, self.places.index, self.thresholds)
        raised = record_drafts(session, manifest, run.drafts, known)
        withdraw_unproduced(session, manifest, run.drafts,
                            "reconciliation over the trip's latest data no longer supports it", run.failed_codes,
                            known)
        raised += self._settle_overdue(session, manifest, trip, known)
        first = manifest.status == "received"
        manifest.status = "reconciled"
        manifest.reconciled_at = manifest.reconciled_at or utcnow()
        session.add(manifest)
        current = [f for f in known if f.manifest_no == manifest.manifest_no and f.status != "withdrawn"]
        events.record(session, manifest.manifest_no, "reconciled" if first else "re_reconciled", utcnow(),
                      {"by": "system", "fixes": len(trip.fixes), "load_readings": len(trip.loads),
                       "findings": sorted(f"{f.code}#{f.id}" for f in current)})
        return raised

    def _settle_overdue(self, session: Session, manifest: Manifest, trip: Trip, known: list[Finding]) -> list[Finding]:
        """At receipt OVERDUE is decided by the receipt's own ``at``: raised if late, withdrawn if in time."""
        draft = pipeline.overdue(trip, trip.received_at or self.clock(), self.thresholds)
        if draft is None:
            findings.withdraw_missing(session, manifest.manifest_no, ("OVERDUE",), set(),
                                      "the receipt's signature time lies before the deadline", known=known)
            return []
        finding, is_new = findings.record(session, draft, region_code=manifest.region_code, known=known)
        if is_new:
            known.append(finding)
        return [finding] if is_new else []

    def check_capacity(self, session: Session, manifest: Manifest) -> list[Finding]:
        site = session.get(Site, manifest.receiver_site_id)
        at = manifest.received_at
        year_start = at.astimezone(ZoneInfo(self.settings.timezone)).replace(
            month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        next_year = year_start.replace(year=year_start.year + 1)
        accepted = session.exec(select(func.coalesce(func.sum(Manifest.accepted_kg), 0)).where(
            Manifest.receiver_site_id == site.id, Manifest.received_at >= year_start,
            Manifest.received_at < next_year, Manifest.status.in_(("received", "reconciled")))).one()
        draft = pipeline.capacity_exceeded(site_place(site), int(accepted), site.annual_capacity_kg, at)
        if draft is None:
            return []
        draft.episode_key = f"CAPACITY_EXCEEDED:{site.id}:{year_start.year}"
        finding, is_new = findings.record(session, draft, region_code=manifest.receiver_region_code, site_id=site.id)
        return [finding] if is_new else []

    # --- the watchdog ------------------------------------------------------------------------

    def watchdog(self, session: Session) -> list[Finding]:
        """Raise OVERDUE for every open trip past its deadline (by the injectable clock).

        The trips found past their deadline are then locked and read again (manifests/locks.py)
        before anything is stored: a receipt committed in between has made the trip no longer
        open, and it is skipped; a receipt still running waits for this transaction and then
        withdraws what it stored if its ``at`` was in time. Either way no OVERDUE outlives a
        timely receipt (issue 17).
        """
        now = self.clock()
        still_open = (col(Manifest.status).in_(OPEN_STATES), col(Manifest.received_at).is_(None))
        candidates = session.exec(select(Manifest).where(*still_open)).all()
        due = [m.id for m in candidates if pipeline.overdue(watchdog_trip(m), now, self.thresholds)]
        if not due:
            return []
        raised = []
        for manifest in locks.locked(session, col(Manifest.id).in_(due), *still_open):
            draft = pipeline.overdue(watchdog_trip(manifest), now, self.thresholds)
            if draft is not None:
                finding, is_new = findings.record(session, draft, region_code=manifest.region_code)
                if is_new:
                    raised.append(finding)
        return raised


def watchdog_trip(manifest: Manifest) -> Trip:
    """What OVERDUE needs of a trip: its times (no track, no sites)."""
    return Trip(manifest_no=manifest.manifest_no, plate=manifest.vehicle_plate, waste_code=manifest.waste_code,
                declared_kg=manifest.declared_kg, generator_site=None, receiver_site=None,
                transporter_id=manifest.transporter_id, dispatched_at=manifest.dispatched_at,
                planned_arrival=manifest.planned_arrival)


def phase_times(trip: Trip) -> tuple[datetime | None, datetime | None]:
    """When the vehicle first left the generator's site after dispatch, and first entered the receiver's."""
    if trip.dispatched_at is None or not trip.fixes:
        return None, None
    fixes = sorted((f for f in trip.fixes if f.ts >= trip.dispatched_at), key=lambda f: f.ts)
    if not fixes:
        return None, None
    lon = np.fromiter((f.lon for f in fixes), float, len(fixes))
    lat = np.fromiter((f.lat for f in fixes), float, len(fixes))
    in_generator = covers_lonlat(trip.generator_site.geometry, lon, lat)
    in_receiver = covers_lonlat(trip.receiver_site.geometry, lon, lat) & ~in_generator
    left = np.flatnonzero(~in_generator)
    entered = np.flatnonzero(in_receiver)
    return (fixes[left[0]].ts if left.size else None, fixes[entered[0]].ts if entered.size else None)
