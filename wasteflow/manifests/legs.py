"""Multi-leg transport (domain.md): up to 5 legs, each a transporter and a vehicle; the handover
between two legs is signed by the next leg's transporter.

Leg 1 is the manifest's own ``transporter_id`` and ``vehicle_plate``; legs 2-5 are
:class:`ManifestLeg` rows, named at filing or added before their handover. ``current_leg`` says
which leg carries the load now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from wasteflow.auth.service import Principal
from wasteflow.config import Settings
from wasteflow.database import utcnow
from wasteflow.errors import Forbidden, RuleViolation
from wasteflow.manifests import events, redispatch
from wasteflow.manifests.lifecycle import check_signature_time, next_state
from wasteflow.manifests.models import Manifest, ManifestLeg
from wasteflow.manifests.schemas import MAX_LEGS, HandoverSignature, LegCreate
from wasteflow.manifests.service import carrier, get_visible
from wasteflow.registry.models import Site

TRANSFER_SITE_KINDS = ("transfer", "storage")


@dataclass(frozen=True)
class Leg:
    """A leg as the API shows it, leg 1 included."""

    leg: int
    transporter_id: int
    vehicle_plate: str
    started_at: datetime | None
    status: str
    handover_site_id: int | None = None
    handover_ticket_no: str | None = None


def leg_rows(session: Session, manifest: Manifest) -> list[ManifestLeg]:
    return list(session.exec(select(ManifestLeg).where(col(ManifestLeg.manifest_id) == manifest.id)
                             .order_by(col(ManifestLeg.leg))).all())


def all_legs(session: Session, manifest: Manifest) -> list[Leg]:
    delivered = manifest.status in ("received", "reconciled", "rejected")

    def status(number: int) -> str:
        if number < manifest.current_leg or (number == manifest.current_leg and delivered):
            return "done"
        return "current" if number == manifest.current_leg and manifest.dispatched_at else "planned"

    first = Leg(1, manifest.transporter_id, manifest.vehicle_plate, manifest.dispatched_at, status(1))
    return [first] + [Leg(row.leg, row.transporter_id, row.vehicle_plate, row.handed_over_at, status(row.leg),
                          row.handover_site_id, row.handover_ticket_no) for row in leg_rows(session, manifest)]


@dataclass(frozen=True)
class Span:
    """A started leg's time on the road: from its start (dispatch or handover) to the next handover, or
    the receipt or rejection (None while it carries the load). What a trip window per leg is built from
    (findings.md "a trip's telemetry": branch ``detect``'s ``tracks.windows.Leg`` takes exactly these)."""

    leg: int
    vehicle_id: int
    plate: str
    start: datetime
    end: datetime | None


def leg_spans(session: Session, manifest: Manifest) -> list[Span]:
    """The legs that have started, each with its vehicle and its span: the swap point for per-leg detection."""
    if manifest.dispatched_at is None:
        return []
    return spans_of(manifest, leg_rows(session, manifest))


def spans_of(manifest: Manifest, rows: list[ManifestLeg]) -> list[Span]:
    """:func:`leg_spans` over leg rows already read (in leg order): what a batch of trips is loaded with."""
    if manifest.dispatched_at is None:
        return []
    finished = manifest.received_at or manifest.rejected_at
    starts = [(1, manifest.vehicle_id, manifest.vehicle_plate, manifest.dispatched_at)] + [
        (row.leg, row.vehicle_id, row.vehicle_plate, row.handed_over_at)
        for row in rows if row.handed_over_at is not None]
    spans = []
    for i, (number, vehicle_id, plate, start) in enumerate(starts):
        end = starts[i + 1][3] if i + 1 < len(starts) else finished
        spans.append(Span(number, vehicle_id, plate, start, end))
    return spans


def current_transporter(session: Session, manifest: Manifest) -> int:
    return next(leg.transporter_id for leg in all_legs(session, manifest) if leg.leg == manifest.current_leg)


def add_leg(session: Session, principal: Principal, manifest_no: str, data: LegCreate) -> Manifest:
    """The generator or the current leg's transporter names the next leg, before its handover."""
    manifest = get_visible(session, principal, manifest_no, for_update=True)
    if principal.enterprise_id not in (manifest.generator_id, current_transporter(session, manifest)):
        raise Forbidden("only the generator or the transporter carrying the load adds a leg")
    next_state("add_leg", manifest.status)
    count = 1 + len(leg_rows(session, manifest))
    if count >= MAX_LEGS:
        raise RuleViolation("too_many_legs", "transporter_id", f"a load has at most {MAX_LEGS} legs; it has {count}")
    transporter, vehicle = carrier(session, data.transporter_id, data.vehicle_plate, manifest.declared_kg)
    now = utcnow()
    session.add(ManifestLeg(manifest_id=manifest.id, leg=count + 1, transporter_id=transporter.id,
                            vehicle_id=vehicle.id, vehicle_plate=vehicle.plate, added_at=now))
    manifest.updated_at = now
    session.add(manifest)
    events.record(session, manifest.manifest_no, "leg_added", now,
                  {"by": principal.label, "leg": count + 1, "transporter_id": transporter.id,
                   "vehicle_plate": vehicle.plate})
    return manifest


def handover(session: Session, principal: Principal, manifest_no: str, data: HandoverSignature,
             settings: Settings) -> Manifest:
    """The next leg's transporter takes the load over, at ``at``, optionally at a transfer site with a ticket."""
    manifest = get_visible(session, principal, manifest_no, for_update=True)
    row = next((r for r in leg_rows(session, manifest) if r.leg == data.leg), None)
    if row is None:
        raise RuleViolation("unknown_leg", "leg", f"{manifest_no} has no leg {data.leg}")
    if principal.enterprise_id != row.transporter_id:
        raise Forbidden(f"only leg {data.leg}'s transporter signs its handover")
    next_state("handover", manifest.status)
    if data.leg != manifest.current_leg + 1:
        raise RuleViolation("handover_out_of_order", "leg",
                            f"leg {manifest.current_leg} carries the load: the next handover is to leg "
                            f"{manifest.current_leg + 1}")
    _check_transfer_site(session, data)
    under_way = redispatch.lock_under_way(session, manifest, row.vehicle_id)  # before any write: see locks.py
    now = utcnow()
    at = check_signature_time(data.at or now, manifest.last_signature_at, now, settings.signature_clock_skew_s)
    row.handed_over_at, row.handover_site_id, row.handover_ticket_no = at, data.site_id, data.ticket_no
    manifest.current_leg, manifest.last_signature_at, manifest.updated_at = data.leg, at, now
    session.add_all([row, manifest])
    events.record(session, manifest.manifest_no, "handover", at,
                  {"by": principal.label, "leg": data.leg, "from_leg": data.leg - 1, "site_id": data.site_id,
                   "ticket_no": data.ticket_no, "vehicle_plate": row.vehicle_plate})
    redispatch.raise_on_handover(session, manifest, row, under_way)
    return manifest


def _check_transfer_site(session: Session, data: HandoverSignature) -> None:
    if data.site_id is None:
        if data.ticket_no is not None:
            raise RuleViolation("ticket_without_site", "ticket_no",
                                "a handover ticket is the transfer site's weighing: name the site_id too")
        return
    site = session.get(Site, data.site_id)
    if site is None:
        raise RuleViolation("unknown_site", "site_id", f"no site {data.site_id}")
    if site.kind not in TRANSFER_SITE_KINDS:
        raise RuleViolation("not_a_transfer_site", "site_id",
                            f"{site.name} is a {site.kind} site; a handover takes place at a transfer station "
                            "or storage yard")
