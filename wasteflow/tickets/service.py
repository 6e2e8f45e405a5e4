"""Weigh tickets: stored once, linked to their manifest, checked when they arrive.

A ticket is linked by the manifest number the weighbridge scanned, else by the
number a signature named, else by plate and time to the vehicle's open manifest at
that site, or to one received within 24 h of the weighing that still lacks a ticket in
that direction (domain.md: a ticket may reach the system after the receipt; the bridge then
has the manifest reconciled again). ``PLATE_MISMATCH`` and ``DUPLICATE_TICKET`` are raised
here, on arrival.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from wasteflow.auth.service import Principal
from wasteflow.database import Query
from wasteflow.detection.model import FindingDraft
from wasteflow.findings import service as findings
from wasteflow.ledger import service as ledger
from wasteflow.manifests import service as manifest_service
from wasteflow.manifests.legs import TRANSFER_SITE_KINDS
from wasteflow.manifests.models import Manifest, ManifestLeg
from wasteflow.quarantine.models import QuarantinedMessage
from wasteflow.registry.models import Site
from wasteflow.tickets.models import WeighTicket

DEPARTURE_STATES = ("filed", "dispatched", "in_transit")
ARRIVAL_STATES = ("dispatched", "in_transit", "arrived")
RECEIVED_STATES = ("received", "reconciled")
LATE_TICKET_WINDOW = timedelta(hours=24)
"""A ticket reaching the system after the receipt joins a manifest received within this of its weighing."""


def direction_at(manifest: Manifest, site_id: int) -> str | None:
    if site_id == manifest.generator_site_id:
        return "departure"
    if site_id == manifest.receiver_site_id:
        return "arrival"
    return None


@dataclass(frozen=True)
class Weighing:
    """What a ticket at a site is to a manifest: its direction there (None: not a site of the trip, or
    not yet), the leg whose vehicle it weighs (None: a single-leg manifest, or no one leg), and the
    plates it may carry, the expected one first."""

    direction: str | None
    leg: int | None
    plates: tuple[str, ...]


def weighing_at(session: Session, manifest: Manifest, site_id: int, ticket_no: str) -> Weighing:
    """Each leg is its own trip (domain.md): the generator's weighbridge weighs leg 1's vehicle, the
    receiver's the vehicle of the leg that carried the load in, a transfer site's the vehicle of the
    leg whose handover took place there. At a site not (yet) of the trip, any leg's vehicle may be
    weighed: a transfer site's ticket in before its handover is checked when the handover names it."""
    rows = list(session.exec(select(ManifestLeg).where(col(ManifestLeg.manifest_id) == manifest.id)
                             .order_by(col(ManifestLeg.leg))).all())
    direction = direction_at(manifest, site_id)
    if not rows:
        return Weighing(direction, None, (manifest.vehicle_plate,))
    plates = {1: manifest.vehicle_plate} | {row.leg: row.vehicle_plate for row in rows}
    if direction == "departure":
        return Weighing(direction, 1, (plates[1],))
    if direction == "arrival":
        return Weighing(direction, manifest.current_leg, (plates[manifest.current_leg],))
    handed = [row for row in rows if row.handed_over_at is not None and row.handover_site_id == site_id]
    if handed:
        row = next((r for r in handed if r.handover_ticket_no == ticket_no), handed[-1])
        return Weighing("handover", row.leg, (row.vehicle_plate,))
    return Weighing(None, None, tuple(dict.fromkeys(plates.values())))


FOREIGN_WEIGHBRIDGE = "foreign_weighbridge"
"""Quarantine reason: a ticket claims a manifest its weighbridge's site has no part in."""


def link_incoming(session: Session, ticket: WeighTicket) -> Manifest | None:
    """Link a freshly stored ticket and raise what it reveals; returns the manifest it joined.

    A ticket claiming a manifest its weighbridge has no part in is quarantined instead (and
    removed): any weighbridge could otherwise raise critical findings on any manifest."""
    manifest = _manifest_for(session, ticket)
    if manifest is None:
        return None
    if not weighs_for(session, manifest, ticket.site_id):
        _quarantine_foreign(session, ticket, manifest)
        return None
    weighing = weighing_at(session, manifest, ticket.site_id, ticket.ticket_no)
    if ticket.plate not in weighing.plates:
        _raise(session, manifest, plate_mismatch(manifest, ticket, weighing.plates[0], weighing.leg))
    other = _already_linked_elsewhere(session, ticket, manifest.manifest_no)
    if other is not None:
        _raise(session, manifest, duplicate_ticket(manifest, ticket, other))
        return manifest
    if weighing.direction is None:
        return manifest
    _link(session, ticket, manifest, weighing.direction)
    return manifest


def weighs_for(session: Session, manifest: Manifest, site_id: int) -> bool:
    """Whether a weighbridge at ``site_id`` may weigh for ``manifest``: the generator's or the
    receiver's site, a leg's signed handover site, or, while a later leg awaits its handover, a
    transfer site (where that handover may yet take place)."""
    if site_id in (manifest.generator_site_id, manifest.receiver_site_id):
        return True
    rows = session.exec(select(ManifestLeg).where(col(ManifestLeg.manifest_id) == manifest.id)).all()
    if any(row.handover_site_id == site_id for row in rows):
        return True
    if not any(row.handover_site_id is None for row in rows):
        return False
    site = session.get(Site, site_id)
    return site is not None and site.kind in TRANSFER_SITE_KINDS


def _quarantine_foreign(session: Session, ticket: WeighTicket, manifest: Manifest) -> None:
    payload = {"device_id": ticket.device_id, "seq": ticket.seq, "ts": ticket.ts.isoformat(),
               "ticket_no": ticket.ticket_no, "plate": ticket.plate, "gross_kg": ticket.gross_kg,
               "tare_kg": ticket.tare_kg, "net_kg": ticket.net_kg, "gross_at": ticket.gross_at.isoformat(),
               "tare_at": ticket.tare_at.isoformat(), "manifest_no": ticket.claimed_manifest_no}
    session.add(QuarantinedMessage(
        topic=f"wf/v1/dev/{ticket.device_id}/weigh"[:300], payload=json.dumps(payload, ensure_ascii=False).encode(),
        received_at=ticket.received_at, reason=FOREIGN_WEIGHBRIDGE, device_id=ticket.device_id,
        detail=f"manifest_no: site {ticket.site_id} is neither the generator's, the receiver's nor a "
               f"handover site of {manifest.manifest_no}"))
    session.delete(ticket)
    session.flush()


def link_named_ticket(session: Session, manifest: Manifest, ticket_no: str, direction: str) -> None:
    """A signature named a ticket: link it if it is already here (otherwise it links on arrival)."""
    site_id = manifest.generator_site_id if direction == "departure" else manifest.receiver_site_id
    ticket = _named_ticket_here(session, manifest, site_id, ticket_no)
    if ticket is not None:
        _link(session, ticket, manifest, direction)


def link_handover_ticket(session: Session, manifest: Manifest, site_id: int, ticket_no: str, plate: str,
                         leg: int | None = None) -> None:
    """A handover named the transfer site's ticket: link it (direction ``handover``) if it is already here,
    and raise PLATE_MISMATCH if it weighed another vehicle than the one taking the load over (``leg``'s)."""
    ticket = _named_ticket_here(session, manifest, site_id, ticket_no)
    if ticket is None:
        return
    if ticket.plate != plate:
        _raise(session, manifest, plate_mismatch(manifest, ticket, plate, leg))
    _link(session, ticket, manifest, "handover")


def _named_ticket_here(session: Session, manifest: Manifest, site_id: int, ticket_no: str) -> WeighTicket | None:
    """The ticket a signature named, if it is already here and free to link: one already linked to another
    manifest raises DUPLICATE_TICKET instead (and None comes back, as for one not in yet)."""
    ticket = session.exec(select(WeighTicket).where(WeighTicket.site_id == site_id, WeighTicket.ticket_no == ticket_no)
                          .order_by(WeighTicket.id.desc())).first()
    if ticket is None or ticket.manifest_no == manifest.manifest_no:
        return None
    other = _already_linked_elsewhere(session, ticket, manifest.manifest_no)
    if other is not None:
        _raise(session, manifest, duplicate_ticket(manifest, ticket, other))
        return None
    return ticket


def _manifest_for(session: Session, ticket: WeighTicket) -> Manifest | None:
    if ticket.claimed_manifest_no:
        manifest = session.exec(select(Manifest).where(Manifest.manifest_no == ticket.claimed_manifest_no)).first()
        if manifest is not None:
            return manifest
    named = session.exec(select(Manifest).where(
        or_(Manifest.departure_ticket_no == ticket.ticket_no, Manifest.arrival_ticket_no == ticket.ticket_no),
        or_(Manifest.generator_site_id == ticket.site_id, Manifest.receiver_site_id == ticket.site_id))
        .order_by(Manifest.id.desc())).first()
    if named is not None:
        return named
    handed_over = session.exec(select(Manifest).join(ManifestLeg, col(ManifestLeg.manifest_id) == col(Manifest.id))
                               .where(ManifestLeg.handover_ticket_no == ticket.ticket_no,
                                      ManifestLeg.handover_site_id == ticket.site_id)
                               .order_by(col(Manifest.id).desc())).first()
    if handed_over is not None:
        return handed_over
    return _open_manifest_by_plate(session, ticket)


def _open_manifest_by_plate(session: Session, ticket: WeighTicket) -> Manifest | None:
    """The vehicle's manifest at this site whose time lies nearest the weighing: an open one, or
    one received within 24 h of the weighing that lacks a ticket in this direction."""
    on_a_leg = select(ManifestLeg.manifest_id).where(ManifestLeg.vehicle_plate == ticket.plate)
    candidates = session.exec(select(Manifest).where(
        or_(Manifest.vehicle_plate == ticket.plate, col(Manifest.id).in_(on_a_leg)),
        or_(Manifest.generator_site_id == ticket.site_id, Manifest.receiver_site_id == ticket.site_id))
        .order_by(Manifest.id.desc()).limit(20)).all()
    weighed_at = max(ticket.gross_at, ticket.tare_at)
    best, best_distance = None, None
    for manifest in candidates:
        direction = direction_at(manifest, ticket.site_id)
        if direction is None or not _may_take(session, manifest, direction, weighed_at):
            continue
        reference = _reference_time(manifest, direction)
        distance = abs((weighed_at - reference).total_seconds())
        if best_distance is None or distance < best_distance:
            best, best_distance = manifest, distance
    return best


def _may_take(session: Session, manifest: Manifest, direction: str, weighed_at: datetime) -> bool:
    if manifest.status in (DEPARTURE_STATES if direction == "departure" else ARRIVAL_STATES):
        return True
    return (manifest.status in RECEIVED_STATES and manifest.received_at is not None
            and abs(manifest.received_at - weighed_at) <= LATE_TICKET_WINDOW
            and linked_ticket(session, manifest.manifest_no, direction) is None)


def _reference_time(manifest: Manifest, direction: str) -> datetime:
    if direction == "departure":
        return manifest.dispatched_at or manifest.planned_departure or manifest.filed_at
    return (manifest.received_at or manifest.arrived_at or manifest.planned_arrival or manifest.dispatched_at
            or manifest.filed_at)


def _already_linked_elsewhere(session: Session, ticket: WeighTicket, manifest_no: str) -> str | None:
    row = session.exec(select(WeighTicket.manifest_no).where(
        WeighTicket.site_id == ticket.site_id, WeighTicket.ticket_no == ticket.ticket_no,
        WeighTicket.manifest_no.is_not(None), WeighTicket.manifest_no != manifest_no)).first()
    return row


def _link(session: Session, ticket: WeighTicket, manifest: Manifest, direction: str) -> None:
    ticket.manifest_no = manifest.manifest_no
    ticket.direction = direction
    session.add(ticket)
    if direction == "departure" and not manifest.departure_ticket_no:
        manifest.departure_ticket_no = ticket.ticket_no
    if direction == "arrival" and not manifest.arrival_ticket_no:
        manifest.arrival_ticket_no = ticket.ticket_no
    session.add(manifest)
    ledger.append(session, "ticket.linked", max(ticket.gross_at, ticket.tare_at), manifest_no=manifest.manifest_no,
                  body={"ticket_no": ticket.ticket_no, "direction": direction, "device_id": ticket.device_id,
                        "site_id": ticket.site_id, "plate": ticket.plate, "gross_kg": ticket.gross_kg,
                        "tare_kg": ticket.tare_kg, "net_kg": ticket.net_kg, "verified": ticket.verified})


def visible(query: Query, principal: Principal) -> Query:
    """``query`` (over :class:`WeighTicket`) narrowed to what ``principal`` may see: a ticket is seen with
    the manifest it is linked to; an unlinked one by nobody, through the API."""
    return manifest_service.visible(query.join(Manifest, col(Manifest.manifest_no) == col(WeighTicket.manifest_no)),
                                    principal)


def _linked(manifest_no: str, direction: str) -> SelectOfScalar[WeighTicket]:
    """The manifest's ticket in ``direction``: the latest linked, should a second one have been linked."""
    return (select(WeighTicket)
            .where(col(WeighTicket.manifest_no) == manifest_no, col(WeighTicket.direction) == direction)
            .order_by(col(WeighTicket.id).desc()))


def linked_ticket(session: Session, manifest_no: str, direction: str) -> WeighTicket | None:
    return session.exec(_linked(manifest_no, direction)).first()


def handover_ticket(session: Session, manifest_no: str, site_id: int, ticket_no: str | None) -> WeighTicket | None:
    """The transfer site's ticket of a handover, once linked to the manifest: the one it named, or (a
    handover that named none) the latest linked there."""
    query = _linked(manifest_no, "handover").where(col(WeighTicket.site_id) == site_id)
    if ticket_no is not None:
        query = query.where(col(WeighTicket.ticket_no) == ticket_no)
    return session.exec(query).first()


def visible_linked_ticket(session: Session, principal: Principal, manifest_no: str,
                          direction: str) -> WeighTicket | None:
    return session.exec(visible(_linked(manifest_no, direction), principal)).first()


def _raise(session: Session, manifest: Manifest, draft: FindingDraft) -> None:
    findings.record(session, draft, region_code=manifest.region_code)


# --- rules (pure) ----------------------------------------------------------------------------

def plate_mismatch(manifest: Manifest, ticket: WeighTicket, leg_plate: str | None = None,
                   leg: int | None = None) -> FindingDraft:
    """``leg_plate``: the plate of the leg's vehicle at that site, else the manifest's; ``leg``: that
    leg's number, named in the evidence (a multi-leg manifest)."""
    expected = leg_plate or manifest.vehicle_plate
    evidence = {"ticket_no": ticket.ticket_no, "ticket_plate": ticket.plate, "manifest_plate": expected,
                "site_id": ticket.site_id, "device_id": ticket.device_id, "net_kg": ticket.net_kg}
    if leg is not None:
        evidence["leg"] = leg
    return FindingDraft(
        code="PLATE_MISMATCH", severity="critical", manifest_no=manifest.manifest_no, plate=expected,
        window_start=min(ticket.gross_at, ticket.tare_at), window_end=max(ticket.gross_at, ticket.tare_at),
        location=None, verified=ticket.verified, episode_key=f"ticket:{ticket.site_id}:{ticket.ticket_no}",
        evidence=evidence)


def duplicate_ticket(manifest: Manifest, ticket: WeighTicket, linked_to: str) -> FindingDraft:
    return FindingDraft(
        code="DUPLICATE_TICKET", severity="critical", manifest_no=manifest.manifest_no, plate=manifest.vehicle_plate,
        window_start=min(ticket.gross_at, ticket.tare_at), window_end=max(ticket.gross_at, ticket.tare_at),
        location=None, verified=ticket.verified, episode_key=f"ticket:{ticket.site_id}:{ticket.ticket_no}",
        evidence={"ticket_no": ticket.ticket_no, "site_id": ticket.site_id, "device_id": ticket.device_id,
                  "already_linked_to": linked_to, "plate": ticket.plate, "net_kg": ticket.net_kg})
