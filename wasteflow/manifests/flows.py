"""What a signature sets in motion beyond the manifest: linking the ticket it names, reconciling the trip.

As in Netflix/dispatch's ``case/flows.py``, a flow is a plain function the view calls with its
collaborators passed in: everything a receipt does is read here, in order, in the receipt's
transaction — nothing is registered from elsewhere. :mod:`.service` keeps the manifest's own
rules (who may sign, the state machine, the ledger entry).
"""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session

from wasteflow.auth.service import Principal
from wasteflow.config import Settings
from wasteflow.manifests import legs, redispatch, service
from wasteflow.manifests.models import Manifest
from wasteflow.manifests.schemas import DispatchSignature, HandoverSignature, ReceiveSignature, RejectSignature
from wasteflow.tickets.service import link_handover_ticket, link_named_ticket


class ReceiptReconciler(Protocol):
    """Checks the receiving site's capacity and reconciles the trip (the app's monitor does both)."""

    def on_receipt(self, session: Session, manifest: Manifest) -> object: ...


def dispatch(session: Session, principal: Principal, manifest_no: str, data: DispatchSignature,
             settings: Settings) -> Manifest:
    """Sign the departure; the vehicle's other trips still under way learn it left on another load
    (REDISPATCHED_BEFORE_RECEIPT: they are locked first, before anything is written — locks.py);
    then link the departure ticket it names if that ticket is already in."""
    locked = service.get_visible(session, principal, manifest_no, for_update=True)
    under_way = redispatch.lock_under_way(session, locked)
    manifest = service.dispatch(session, principal, manifest_no, data, settings)
    redispatch.raise_on_dispatch(session, manifest, under_way)
    if data.departure_ticket_no:
        link_named_ticket(session, manifest, data.departure_ticket_no, "departure")
    return manifest


def receive(session: Session, principal: Principal, manifest_no: str, data: ReceiveSignature,
            settings: Settings, reconciler: ReceiptReconciler) -> Manifest:
    """Sign the receipt, link the arrival ticket it names, then reconcile: a receipt is never stored
    unreconciled, and a reconciliation that fails undoes the receipt with it."""
    manifest = service.receive(session, principal, manifest_no, data, settings)
    redispatch.settle(session, manifest)
    if data.arrival_ticket_no:
        link_named_ticket(session, manifest, data.arrival_ticket_no, "arrival")
    session.flush()
    reconciler.on_receipt(session, manifest)
    return manifest


def reject(session: Session, principal: Principal, manifest_no: str, data: RejectSignature,
           settings: Settings) -> Manifest:
    """Sign the rejection; one signed before the vehicle's next dispatch withdraws REDISPATCHED_BEFORE_RECEIPT."""
    manifest = service.reject(session, principal, manifest_no, data, settings)
    redispatch.settle(session, manifest)
    return manifest


def handover(session: Session, principal: Principal, manifest_no: str, data: HandoverSignature,
             settings: Settings) -> Manifest:
    """Sign the handover, then link the transfer site's ticket it names if that ticket is already in."""
    manifest = legs.handover(session, principal, manifest_no, data, settings)
    if data.ticket_no and data.site_id is not None:
        plate = next(leg.vehicle_plate for leg in legs.all_legs(session, manifest) if leg.leg == data.leg)
        link_handover_ticket(session, manifest, data.site_id, data.ticket_no, plate, data.leg)
    return manifest
