"""Filing manifests, moving them through their lifecycle, and who may see them.

Every state change and signature is appended to the ledger in the same transaction,
so a failed request leaves neither the manifest nor the ledger changed. What a signature
sets in motion beyond the manifest (ticket links, reconciliation) is in :mod:`.flows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, text, true
from sqlmodel import Session, col, select

from wasteflow.auth.service import Principal, in_jurisdiction
from wasteflow.config import Settings
from wasteflow.database import Query, utcnow
from wasteflow.errors import Forbidden, NotFound, RuleViolation
from wasteflow.manifests import events, followups, locks
from wasteflow.manifests.lifecycle import TIMESTAMP_FIELD, check_filing_age, check_signature_time, next_state
from wasteflow.manifests.models import Manifest, ManifestLeg
from wasteflow.manifests.schemas import (
    MAX_LEGS,
    CancelSignature,
    DispatchSignature,
    ManifestCreate,
    ReceiveSignature,
    RejectSignature,
)
from wasteflow.paging import PageRequest, keyset_page
from wasteflow.registry import rules
from wasteflow.registry.models import Enterprise, Site, Vehicle
from wasteflow.registry.service import known_waste_code, permits, vehicle_by_plate

MAX_CORRIDOR_M = 50_000


# --- visibility ------------------------------------------------------------------------------

def visible(query: Query, principal: Principal) -> Query:
    """``query`` (over :class:`Manifest`) narrowed to what ``principal`` may see, in SQL.

    An enterprise sees the manifests it is a party to; a regulator those whose generator or
    receiver lies in its regions; the administrator all. Every read of a manifest, and of what
    hangs off one (tickets, flows, exports), goes through here.
    """
    return query if principal.is_admin else query.where(seen_by(principal))


def seen_by(principal: Principal) -> ColumnElement[bool]:
    """:func:`visible`'s rule as a condition, for a statement that takes conditions (a locked read)."""
    if principal.is_admin:
        return true()
    if principal.kind == "enterprise":
        me = principal.enterprise_id
        return or_(col(Manifest.generator_id) == me, col(Manifest.transporter_id) == me,
                   col(Manifest.receiver_id) == me, col(Manifest.id).in_(carried_by(me)))
    return in_jurisdiction(principal, Manifest.region_code, Manifest.receiver_region_code)


def visible_numbers(session: Session, principal: Principal, numbers: set[str]) -> set[str]:
    """Which of ``numbers`` name manifests ``principal`` may see."""
    if not numbers:
        return set()
    query = visible(select(Manifest.manifest_no).where(col(Manifest.manifest_no).in_(sorted(numbers))), principal)
    return set(session.exec(query).all())


def carried_by(enterprise_id: int | None):
    """The manifests a transporter carries on a later leg (multi-leg transport): ids, as a subquery."""
    return select(ManifestLeg.manifest_id).where(col(ManifestLeg.transporter_id) == enterprise_id)


def get_visible(session: Session, principal: Principal, manifest_no: str, for_update: bool = False) -> Manifest:
    """The manifest, if the principal may see it; ``for_update`` locks it for a transition (locks.py)."""
    where = (col(Manifest.manifest_no) == manifest_no, seen_by(principal))
    manifest = locks.locked_one(session, *where) if for_update else session.exec(select(Manifest).where(*where)).first()
    if manifest is None:
        raise NotFound(f"no manifest {manifest_no}")
    return manifest


def _require_party(principal: Principal, enterprise_id: int, role: str) -> None:
    if principal.enterprise_id != enterprise_id:
        raise Forbidden(f"only the manifest's {role} may do this")


# --- filing ----------------------------------------------------------------------------------

@dataclass
class Origin:
    """Where a load leaves from and who files it: a generator's site, or (a follow-up) the parent's
    receiving site, filed by the parent's receiver."""

    generator: Enterprise
    site: Site
    parent: Manifest | None = None


def file_manifest(session: Session, principal: Principal, data: ManifestCreate, settings: Settings) -> Manifest:
    followups.check_kind(data.parent_manifest_no, data.kind)
    if data.parent_manifest_no:
        origin = _follow_up_origin(session, principal, data)
    else:
        origin = _origin(session, principal, data)
    transporter, vehicle = carrier(session, data.transporter_id, data.vehicle_plate, data.declared_kg)
    waste_code = known_waste_code(session, data.waste_code)
    receiver_site, receiver = _destination(session, data, waste_code, origin.parent)
    if origin.parent is not None:
        followups.check_follow_up(origin.parent, generator_site_id=origin.site.id, receiver_site_id=receiver_site.id,
                                  kind=data.kind or "", waste_code=waste_code, declared_kg=data.declared_kg,
                                  already_declared_kg=follow_ups_declared_kg(session, origin.parent.manifest_no))
    later_legs = _later_legs(session, data)
    _check_plan(data)
    now = utcnow()
    filed_at = check_signature_time(data.at or now, datetime.min.replace(tzinfo=now.tzinfo), now,
                                    settings.signature_clock_skew_s)
    check_filing_age(filed_at, now, settings.filing_max_age_h)
    manifest = Manifest(
        manifest_no=_next_number(session, origin.generator.region_code, filed_at, settings.timezone),
        region_code=origin.generator.region_code, generator_id=origin.generator.id, generator_site_id=origin.site.id,
        transporter_id=transporter.id, vehicle_id=vehicle.id, vehicle_plate=vehicle.plate,
        receiver_id=receiver.id, receiver_site_id=receiver_site.id, receiver_region_code=receiver.region_code,
        waste_code=waste_code, declared_kg=data.declared_kg, planned_departure=data.planned_departure,
        planned_arrival=data.planned_arrival, route=data.route, corridor_m=_corridor(data.corridor_m, settings),
        filed_at=filed_at, last_signature_at=filed_at, kind=data.kind or "primary",
        parent_manifest_no=origin.parent.manifest_no if origin.parent else None)
    session.add(manifest)
    session.flush()
    for number, (leg_transporter, leg_vehicle) in enumerate(later_legs, start=2):
        session.add(ManifestLeg(manifest_id=manifest.id, leg=number, transporter_id=leg_transporter.id,
                                vehicle_id=leg_vehicle.id, vehicle_plate=leg_vehicle.plate, added_at=now))
    events.record(session, manifest.manifest_no, "filed", filed_at,
                  {"by": principal.label, "status": "filed", **data.model_dump(mode="json", exclude={"at"})})
    return manifest


def _origin(session: Session, principal: Principal, data: ManifestCreate) -> Origin:
    if principal.kind != "enterprise" or "generator" not in principal.roles:
        raise Forbidden("only a generator files manifests, with its own API key")
    generator = session.get(Enterprise, principal.enterprise_id)
    site = _site(session, data.generator_site_id, "generator_site_id")
    if site.enterprise_id != generator.id:
        raise RuleViolation("site_not_generators", "generator_site_id",
                            f"site {site.id} is not one of {generator.name}'s sites")
    return Origin(generator=generator, site=site)


def _follow_up_origin(session: Session, principal: Principal, data: ManifestCreate) -> Origin:
    """A follow-up: the parent (locked, so two follow-ups filed at once cannot both pass the sum) and its
    receiver, which files it from the parent's receiving site."""
    if principal.kind != "enterprise":
        raise Forbidden("only the parent's receiver files a follow-up, with its own API key")
    parent = session.exec(visible(select(Manifest).where(col(Manifest.manifest_no) == data.parent_manifest_no),
                                  principal).with_for_update()).first()
    if parent is None:
        raise RuleViolation("unknown_parent_manifest", "parent_manifest_no", f"no manifest {data.parent_manifest_no}")
    followups.check_filer(parent, principal.enterprise_id)
    site = _site(session, data.generator_site_id, "generator_site_id")
    return Origin(generator=session.get(Enterprise, parent.receiver_id), site=site, parent=parent)


def follow_ups_declared_kg(session: Session, parent_manifest_no: str) -> int:
    """What the parent's follow-ups (other than cancelled ones) already declare."""
    total = session.exec(select(func.coalesce(func.sum(Manifest.declared_kg), 0)).where(
        col(Manifest.parent_manifest_no) == parent_manifest_no, col(Manifest.status) != "cancelled")).one()
    return int(total)


def carrier(session: Session, transporter_id: int, plate: str, declared_kg: int,
            prefix: str = "") -> tuple[Enterprise, Vehicle]:
    """A leg's transporter and vehicle, checked: a registered transporter, its own vehicle, able to carry
    the load. ``prefix`` places the fields in the request (``legs[0].``)."""
    transporter = session.get(Enterprise, transporter_id)
    if transporter is None or "transporter" not in transporter.roles:
        raise RuleViolation("not_a_transporter", f"{prefix}transporter_id",
                            f"enterprise {transporter_id} is not a registered transporter")
    vehicle = vehicle_by_plate(session, plate)
    if vehicle is None:
        raise RuleViolation("unknown_vehicle", f"{prefix}vehicle_plate", f"no vehicle with plate {plate}")
    if vehicle.transporter_id != transporter.id:
        raise RuleViolation("vehicle_not_transporters", f"{prefix}vehicle_plate",
                            f"{vehicle.plate} is not a vehicle of {transporter.name}")
    _check_declared_kg(declared_kg, vehicle.max_load_kg, vehicle.plate)
    return transporter, vehicle


def _later_legs(session: Session, data: ManifestCreate) -> list[tuple[Enterprise, Vehicle]]:
    legs = data.legs or []
    if len(legs) > MAX_LEGS - 1:
        raise RuleViolation("too_many_legs", "legs",
                            f"a load has at most {MAX_LEGS} legs: the manifest's own and {MAX_LEGS - 1} more")
    return [carrier(session, leg.transporter_id, leg.vehicle_plate, data.declared_kg, f"legs[{i}].")
            for i, leg in enumerate(legs)]


def _destination(session: Session, data: ManifestCreate, waste_code: str,
                 parent: Manifest | None) -> tuple[Site, Enterprise]:
    """The receiving site and its enterprise; a return goes home to a generator, with no permit needed."""
    site = _site(session, data.receiver_site_id, "receiver_site_id")
    receiver = session.get(Enterprise, site.enterprise_id)
    if parent is not None and data.kind == "return":
        return site, receiver
    if "receiver" not in receiver.roles:
        raise RuleViolation("not_a_receiver", "receiver_site_id", f"{receiver.name} is not a registered receiver")
    if not permits(site, waste_code):
        raise RuleViolation("receiver_not_permitted", "receiver_site_id",
                            f"{site.name} is not permitted to accept {waste_code} "
                            f"(permit: {', '.join(site.permitted_codes) or 'none'})")
    return site, receiver


def _check_plan(data: ManifestCreate) -> None:
    if data.route is not None:
        rules.check_route(data.route)
    if data.planned_departure and data.planned_arrival and data.planned_arrival < data.planned_departure:
        raise RuleViolation("planned_arrival_before_departure", "planned_arrival",
                            "planned arrival lies before planned departure")


def _site(session: Session, site_id: int, field: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise RuleViolation("unknown_site", field, f"no site {site_id}")
    return site


def _check_declared_kg(declared_kg: int, max_load_kg: int, plate: str) -> None:
    if declared_kg <= 0:
        raise RuleViolation("declared_kg_not_positive", "declared_kg", "declared kg must be positive")
    if declared_kg > max_load_kg:
        raise RuleViolation("declared_kg_over_max_load", "declared_kg",
                            f"{declared_kg} kg is over {plate}'s maximum load of {max_load_kg} kg")


def _corridor(corridor_m: float | None, settings: Settings) -> float:
    if corridor_m is None:
        return settings.default_corridor_m
    if not 0 < corridor_m <= MAX_CORRIDOR_M:
        raise RuleViolation("corridor_range", "corridor_m",
                            f"corridor half-width must be in (0, {MAX_CORRIDOR_M}] metres")
    return corridor_m


def _next_number(session: Session, region_code: str, filed_at: datetime, tz: str) -> str:
    """``WF-{region}-{local day}-{sequence}``: the counter row is upserted, so numbers never repeat."""
    local = filed_at.astimezone(ZoneInfo(tz))
    day = f"{local.year:04d}{local.month:02d}{local.day:02d}"  # strftime's %Y drops leading zeros before 1000
    last = session.execute(text(
        "INSERT INTO manifest_counter (region_code, day, last) VALUES (:region, :day, 1) "
        "ON CONFLICT (region_code, day) DO UPDATE SET last = manifest_counter.last + 1 RETURNING last"),
        {"region": region_code, "day": day}).scalar_one()
    return f"WF-{region_code}-{day}-{last:06d}"


# --- signatures and state changes ------------------------------------------------------------

def _sign(session: Session, manifest: Manifest, action: str, at: datetime | None, settings: Settings,
          principal_label: str, body: dict) -> Manifest:
    now = utcnow()
    target = next_state(action, manifest.status)
    at = check_signature_time(at or now, manifest.last_signature_at, now, settings.signature_clock_skew_s)
    previous = manifest.status
    manifest.status = target
    setattr(manifest, TIMESTAMP_FIELD[target], at)
    manifest.last_signature_at = at
    manifest.updated_at = now
    session.add(manifest)
    events.record(session, manifest.manifest_no, target, at,
                  {"by": principal_label, "from": previous, "status": target, **body})
    return manifest


def dispatch(session: Session, principal: Principal, manifest_no: str, data: DispatchSignature,
             settings: Settings) -> Manifest:
    manifest = get_visible(session, principal, manifest_no, for_update=True)
    _require_party(principal, manifest.generator_id, "generator")
    manifest.departure_ticket_no = data.departure_ticket_no
    return _sign(session, manifest, "dispatch", data.at, settings, principal.label,
                 {"departure_ticket_no": data.departure_ticket_no})


def receive(session: Session, principal: Principal, manifest_no: str, data: ReceiveSignature,
            settings: Settings) -> Manifest:
    manifest = get_visible(session, principal, manifest_no, for_update=True)
    _require_party(principal, manifest.receiver_id, "receiver")
    if data.refused_kg and not data.refusal_reason:
        raise RuleViolation("refusal_reason_required", "refusal_reason", "a partial refusal gives its reason")
    if data.refusal_reason and not data.refused_kg:
        raise RuleViolation("refusal_without_refused_kg", "refused_kg",
                            "a refusal reason goes with the refused kg (more than 0)")
    manifest.accepted_kg = data.accepted_kg
    manifest.refused_kg = data.refused_kg or None
    manifest.refusal_reason = data.refusal_reason
    manifest.arrival_ticket_no = data.arrival_ticket_no
    return _sign(session, manifest, "receive", data.at, settings, principal.label,
                 {"accepted_kg": data.accepted_kg, "refused_kg": manifest.refused_kg,
                  "refusal_reason": data.refusal_reason, "arrival_ticket_no": data.arrival_ticket_no})


def reject(session: Session, principal: Principal, manifest_no: str, data: RejectSignature,
           settings: Settings) -> Manifest:
    manifest = get_visible(session, principal, manifest_no, for_update=True)
    _require_party(principal, manifest.receiver_id, "receiver")
    manifest.reject_reason = data.reason
    return _sign(session, manifest, "reject", data.at, settings, principal.label, {"reason": data.reason})


def cancel(session: Session, principal: Principal, manifest_no: str, data: CancelSignature,
           settings: Settings) -> Manifest:
    manifest = get_visible(session, principal, manifest_no, for_update=True)
    _require_party(principal, manifest.generator_id, "generator")
    manifest.cancel_reason = data.reason
    return _sign(session, manifest, "cancel", data.at, settings, principal.label, {"reason": data.reason})


# --- listing ---------------------------------------------------------------------------------

def list_manifests(session: Session, principal: Principal, page: PageRequest, *, status: str | None = None,
                   waste_code: str | None = None, party: int | None = None, plate: str | None = None,
                   filed_from: datetime | None = None, filed_to: datetime | None = None,
                   region: str | None = None) -> tuple[list[Manifest], str | None]:
    """Newest first; the cursor is the last manifest seen, so pages stay stable while new ones are filed."""
    query = visible(select(Manifest), principal)
    if status:
        query = query.where(col(Manifest.status) == status)
    if waste_code:
        query = query.where(col(Manifest.waste_code) == waste_code)
    if party is not None:
        query = query.where(or_(col(Manifest.generator_id) == party, col(Manifest.transporter_id) == party,
                                col(Manifest.receiver_id) == party))
    if plate:
        query = query.where(col(Manifest.vehicle_plate) == plate.strip().upper())
    if filed_from:
        query = query.where(col(Manifest.filed_at) >= filed_from)
    if filed_to:
        query = query.where(col(Manifest.filed_at) < filed_to)
    return keyset_page(session, in_region(query, region), Manifest.id, "m", page)


def follow_ups(session: Session, principal: Principal, parent_manifest_no: str) -> list[Manifest]:
    """The follow-ups of a refusal the caller may see, in filing order."""
    query = select(Manifest).where(col(Manifest.parent_manifest_no) == parent_manifest_no).order_by(col(Manifest.id))
    return list(session.exec(visible(query, principal)).all())


def in_region(query: Query, region: str | None) -> Query:
    """A regulator's ``region`` filter: the generator's or the receiver's region lies under the prefix."""
    if region:
        query = query.where(or_(col(Manifest.region_code).startswith(region),
                                col(Manifest.receiver_region_code).startswith(region)))
    return query
