"""Flows and balances: what moved from whom to whom, what is still on the road or in dispute.

Definitions (docs/regulators.md explains them for a bureau):

- A flow counts **reconciled** manifests only, in the local period of the receipt's ``at``.
  ``departed_kg`` is the departure weigh ticket's net, ``received_kg`` the arrival ticket's net,
  ``accepted_kg`` what the receiver signed; a missing ticket adds nothing to its column.
- ``in_transit_kg``: manifests dispatched in the window that are still ``dispatched``,
  ``in_transit`` or ``arrived``; each counts its departure net, or its declared kg until weighed.
- A row is also keyed by ``kind``: a follow-up of a refusal (``return``, ``redirect``) is its own row,
  listing its parents; a multi-leg load is one manifest, so it counts once. ``refused_kg`` sums the
  kilograms refused at receipt.
- ``refused_kg`` of the report: refused at receipt (received in the window) and not yet on a live
  follow-up — still at the receiver that refused it. What left on a follow-up counts there: on the
  road (``in_transit_kg``), then as accepted at its receiver.
- ``disputed_kg``: manifests whose tonnage is in question —
  a **rejected** load (rejected in the window) counts whole (departure net, else declared kg) less what
  its live follow-ups declare;
  a **reconciled** load (received in the window) with an unsettled (``open``, ``acknowledged`` or
  ``investigating``) ``TONNAGE_SHORTFALL`` or ``ACCEPTANCE_MISMATCH`` finding counts the kilograms
  in question: the spread between the largest and the smallest of its departed, received and
  accepted kg.

Rows are streamed from the database (``yield_per``: a server-side cursor on PostgreSQL) and
summed per group, so memory grows with the number of groups, never with the number of manifests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from wasteflow.auth.service import Principal
from wasteflow.database import Query
from wasteflow.findings.models import Finding
from wasteflow.flows.periods import Window, period_key
from wasteflow.manifests import service as manifest_service
from wasteflow.manifests.models import Manifest
from wasteflow.registry.models import Enterprise, Site
from wasteflow.registry.service import visible_sites
from wasteflow.tickets.models import WeighTicket

BATCH = 1000
IN_TRANSIT_STATES = ("dispatched", "in_transit", "arrived")
DISPUTE_CODES = ("TONNAGE_SHORTFALL", "ACCEPTANCE_MISMATCH")
UNSETTLED = ("open", "acknowledged", "investigating")
FLOW_FIELDS = ("period", "generator_id", "receiver_id", "receiver_site_id", "waste_code", "manifests",
               "departed_kg", "received_kg", "accepted_kg", "kind", "refused_kg", "parent_manifest_nos")


def ticket_net(direction: str):
    """The net of the manifest's linked ticket in ``direction`` (the latest linked, as the API shows it)."""
    return (sa_select(WeighTicket.net_kg)
            .where(WeighTicket.manifest_no == Manifest.manifest_no, WeighTicket.direction == direction)
            .order_by(WeighTicket.id.desc()).limit(1)
            .correlate(Manifest).scalar_subquery())


def visible(query: Query, principal: Principal) -> Query:
    """A flow row sums manifests: ``principal`` sees the rows made of the manifests it may see."""
    return manifest_service.visible(query, principal)


def _scoped(query: Query, principal: Principal, region: str | None) -> Query:
    """The caller's rows, in the region asked for."""
    return manifest_service.in_region(visible(query, principal), region)


def _within(query, column, window: Window):
    if window.start is not None:
        query = query.where(column >= window.start)
    if window.end is not None:
        query = query.where(column < window.end)
    return query


def _stream(session: Session, query) -> Iterator:
    return iter(session.execute(query.execution_options(yield_per=BATCH)))


@dataclass
class Totals:
    manifests: int = 0
    departed_kg: int = 0
    received_kg: int = 0
    accepted_kg: int = 0
    refused_kg: int = 0
    parents: set[str] = field(default_factory=set)

    def add(self, departed: int | None, received: int | None, accepted: int | None, refused: int | None = None,
            parent: str | None = None) -> None:
        self.manifests += 1
        self.departed_kg += departed or 0
        self.received_kg += received or 0
        self.accepted_kg += accepted or 0
        self.refused_kg += refused or 0
        if parent:
            self.parents.add(parent)


@dataclass
class FlowReport:
    items: list[dict] = field(default_factory=list)
    in_transit_kg: int = 0
    in_transit_manifests: int = 0
    disputed_kg: int = 0
    disputed_manifests: int = 0
    refused_kg: int = 0
    refused_manifests: int = 0


def flow_items(session: Session, principal: Principal, period: str, window: Window, region: str | None,
               tz: str) -> list[dict]:
    """Reconciled tonnage per period, generator, receiver, receiving site, waste code and kind: a follow-up
    of a refusal (``return``, ``redirect``) is its own row, naming its parents; a multi-leg load is one
    manifest, so it counts once."""
    zone = ZoneInfo(tz)
    query = select(Manifest.received_at, Manifest.generator_id, Manifest.receiver_id, Manifest.receiver_site_id,
                   Manifest.waste_code, Manifest.kind, ticket_net("departure"), ticket_net("arrival"),
                   Manifest.accepted_kg, Manifest.refused_kg, Manifest.parent_manifest_no
                   ).where(Manifest.status == "reconciled", Manifest.received_at.is_not(None))
    query = _within(_scoped(query, principal, region), Manifest.received_at, window)
    groups: dict[tuple, Totals] = {}
    for received_at, generator, receiver, site, code, kind, departed, received, accepted, refused, parent in _stream(
            session, query):
        key = (period_key(received_at, period, zone), generator, receiver, site, code, kind)
        groups.setdefault(key, Totals()).add(departed, received, accepted, refused, parent)
    return [{"period": k[0], "generator_id": k[1], "receiver_id": k[2], "receiver_site_id": k[3],
             "waste_code": k[4], "kind": k[5], "manifests": t.manifests, "departed_kg": t.departed_kg,
             "received_kg": t.received_kg, "accepted_kg": t.accepted_kg, "refused_kg": t.refused_kg,
             "parent_manifest_nos": sorted(t.parents)}
            for k, t in sorted(groups.items(), key=lambda kv: tuple(str(x) if x is None else x for x in kv[0]))]


def follow_ups_kg():
    """What the manifest's live (not cancelled) follow-ups declare: the refused kilograms already on their way."""
    child = aliased(Manifest)
    return (sa_select(func.coalesce(func.sum(child.declared_kg), 0))
            .where(child.parent_manifest_no == Manifest.manifest_no, child.status != "cancelled")
            .correlate(Manifest).scalar_subquery())


def refused_waiting(session: Session, principal: Principal, window: Window, region: str | None) -> tuple[int, int]:
    """(kg, manifests) refused at receipt and not yet on a follow-up: still at the receiver that refused them."""
    waiting = Manifest.refused_kg - follow_ups_kg()
    query = select(waiting).where(Manifest.status.in_(("received", "reconciled")), Manifest.refused_kg > 0)
    query = _within(_scoped(query, principal, region), Manifest.received_at, window)
    kgs = [int(kg) for (kg,) in _stream(session, query) if kg and kg > 0]
    return sum(kgs), len(kgs)


def in_transit(session: Session, principal: Principal, window: Window, region: str | None) -> tuple[int, int]:
    """(kg, manifests) dispatched in the window and not yet received or rejected."""
    kg = func.coalesce(ticket_net("departure"), Manifest.declared_kg)
    query = select(func.count(), func.coalesce(func.sum(kg), 0)).select_from(Manifest).where(
        Manifest.status.in_(IN_TRANSIT_STATES))
    query = _within(_scoped(query, principal, region), Manifest.dispatched_at, window)
    count, total = session.execute(query).one()
    return int(total or 0), int(count or 0)


def disputed(session: Session, principal: Principal, window: Window, region: str | None) -> tuple[int, int]:
    """(kg, manifests) in dispute: rejected loads whole, reconciled ones with an unsettled tonnage finding
    by the kilograms in question."""
    whole = func.coalesce(ticket_net("departure"), Manifest.declared_kg) - follow_ups_kg()
    rejected = select(whole).select_from(Manifest).where(Manifest.status == "rejected")
    rejected = _within(_scoped(rejected, principal, region), Manifest.rejected_at, window)
    # what left on follow-ups is counted where it ends (on the road, then at its receiver), not here
    left = [int(kg) for (kg,) in _stream(session, rejected) if kg and kg > 0]
    count, total = len(left), sum(left)

    unsettled = (sa_select(Finding.id).where(Finding.manifest_no == Manifest.manifest_no,
                                             Finding.code.in_(DISPUTE_CODES), Finding.status.in_(UNSETTLED))
                 .correlate(Manifest).exists())
    query = select(ticket_net("departure"), ticket_net("arrival"), Manifest.accepted_kg).where(
        Manifest.status == "reconciled", unsettled)
    query = _within(_scoped(query, principal, region), Manifest.received_at, window)
    for departed, received, accepted in _stream(session, query):
        count += 1
        total += kg_in_question(departed, received, accepted)
    return total, count


def kg_in_question(departed: int | None, received: int | None, accepted: int | None) -> int:
    known = [v for v in (departed, received, accepted) if v is not None]
    return max(known) - min(known) if known else 0


def flows(session: Session, principal: Principal, period: str, window: Window, region: str | None,
          tz: str) -> FlowReport:
    principal.require_oversight()
    report = FlowReport(items=flow_items(session, principal, period, window, region, tz))
    report.in_transit_kg, report.in_transit_manifests = in_transit(session, principal, window, region)
    report.disputed_kg, report.disputed_manifests = disputed(session, principal, window, region)
    report.refused_kg, report.refused_manifests = refused_waiting(session, principal, window, region)
    return report


# --- balances --------------------------------------------------------------------------------

def capacity(session: Session, principal: Principal, year: int, window: Window, region: str | None,
             as_of=None) -> list[dict]:
    """Each receiving site's accepted kg in the (local) year so far against its annual capacity.

    Like ``CAPACITY_EXCEEDED``, it counts the manifests received in the year (``received`` or
    ``reconciled``) by the receipt's ``at``.
    """
    principal.require_oversight()
    intake = (sa_select(Manifest.receiver_site_id.label("site_id"), func.count().label("manifests"),
                        func.coalesce(func.sum(Manifest.accepted_kg), 0).label("accepted_kg"))
              .where(Manifest.status.in_(("received", "reconciled")), Manifest.received_at >= window.start,
                     Manifest.received_at < window.end)
              .group_by(Manifest.receiver_site_id).subquery())
    query = (select(Site.id, Site.name, Site.enterprise_id, Enterprise.name, Enterprise.region_code,
                    Site.annual_capacity_kg, intake.c.manifests, intake.c.accepted_kg)
             .join(Enterprise, Enterprise.id == Site.enterprise_id)
             .outerjoin(intake, intake.c.site_id == Site.id)
             .where(or_(Site.annual_capacity_kg.is_not(None), intake.c.manifests > 0))
             .order_by(Site.id))
    query = visible_sites(query, principal)
    if region:
        query = query.where(Enterprise.region_code.startswith(region))
    items = []
    for site_id, site_name, receiver_id, receiver_name, region_code, cap, count, accepted in _stream(session, query):
        accepted = int(accepted or 0)
        items.append({
            "receiver_site_id": site_id, "site_name": site_name, "receiver_id": receiver_id,
            "receiver_name": receiver_name, "region_code": region_code, "year": year,
            "annual_capacity_kg": cap, "manifests": int(count or 0), "accepted_kg": accepted,
            "remaining_kg": None if cap is None else cap - accepted,
            "share_used": None if not cap else round(accepted / cap, 4),
            "exceeded": bool(cap is not None and accepted > cap)})
    return items


def declared(session: Session, principal: Principal, window: Window, region: str | None) -> list[dict]:
    """Per generator, over the manifests it dispatched in the window: declared vs departed vs accepted kg.
    Primary manifests only: a follow-up of a refusal generates nothing new."""
    principal.require_oversight()
    departed = ticket_net("departure")
    per_manifest = select(Manifest.generator_id.label("generator_id"), Manifest.declared_kg.label("declared_kg"),
                          departed.label("departed_kg"), Manifest.accepted_kg.label("accepted_kg"),
                          Manifest.status.label("status")).where(Manifest.dispatched_at.is_not(None),
                                                                 Manifest.kind == "primary")
    per_manifest = _within(_scoped(per_manifest, principal, region),
                           Manifest.dispatched_at, window).subquery()
    c = per_manifest.c
    query = (select(c.generator_id, Enterprise.name, Enterprise.region_code, func.count(),
                    func.coalesce(func.sum(c.declared_kg), 0),
                    func.coalesce(func.sum(c.departed_kg), 0),
                    func.coalesce(func.sum(c.accepted_kg), 0),
                    func.sum(case((c.departed_kg.is_(None), 1), else_=0)),
                    func.sum(case((c.status.in_(("received", "reconciled")), 1), else_=0)))
             .join(Enterprise, Enterprise.id == c.generator_id)
             .group_by(c.generator_id, Enterprise.name, Enterprise.region_code)
             .order_by(c.generator_id))
    items = []
    for (generator_id, name, region_code, manifests, declared_kg, departed_kg, accepted_kg, unweighed,
         received) in _stream(session, query):
        items.append({"generator_id": generator_id, "generator_name": name, "region_code": region_code,
                      "manifests": int(manifests), "declared_kg": int(declared_kg), "departed_kg": int(departed_kg),
                      "accepted_kg": int(accepted_kg), "received_manifests": int(received or 0),
                      "without_departure_ticket": int(unweighed or 0),
                      "departed_minus_declared_kg": int(departed_kg) - int(declared_kg)})
    return items
