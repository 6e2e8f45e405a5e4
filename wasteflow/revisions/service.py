"""Corrections as revisions (domain.md): propose, approve, refuse; applied as a new version once every
other party has approved. Who sees a revision: whoever sees its manifest (regulators see them all in
their regions). Every step is a ledger entry and a webhook event, in the step's own transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from wasteflow.auth.service import Principal
from wasteflow.database import Query, utcnow
from wasteflow.errors import Conflict, Forbidden, NotFound, RuleViolation, StateConflict
from wasteflow.ledger import service as ledger
from wasteflow.manifests import events, legs
from wasteflow.manifests import service as manifests
from wasteflow.manifests.models import Manifest, ManifestVersion
from wasteflow.paging import PageRequest, keyset_page
from wasteflow.registry.models import Enterprise, Site
from wasteflow.registry.service import known_waste_code, permits, vehicle_by_plate
from wasteflow.revisions import rules
from wasteflow.revisions.models import Revision, RevisionApproval
from wasteflow.revisions.schemas import RevisionCreate
from wasteflow.webhooks import outbox

SNAPSHOT_FIELDS = ("status", "waste_code", "declared_kg", "accepted_kg", "refused_kg", "receiver_id",
                   "receiver_site_id", "receiver_region_code", "vehicle_plate", "transporter_id")


# --- who sees what ---------------------------------------------------------------------------

def visible(query: Query, principal: Principal) -> Query:
    """``query`` (over :class:`Revision`) narrowed to the revisions of manifests ``principal`` may see, and
    those it is asked to approve (a proposed new receiver, before it is a party)."""
    query = query.join(Manifest, col(Manifest.id) == col(Revision.manifest_id))
    if principal.is_admin:
        return query
    asked = select(RevisionApproval.revision_id).where(col(RevisionApproval.enterprise_id) == principal.enterprise_id)
    return query.where(or_(manifests.seen_by(principal), col(Revision.id).in_(asked)))


def get_visible(session: Session, principal: Principal, revision_id: int) -> Revision:
    revision = session.exec(visible(select(Revision), principal).where(col(Revision.id) == revision_id)).first()
    if revision is None:
        raise NotFound(f"no revision {revision_id}")
    return revision


def list_revisions(session: Session, principal: Principal, page: PageRequest, *, manifest_no: str | None = None,
                   status: str | None = None) -> tuple[list[Revision], str | None]:
    query = visible(select(Revision), principal)
    if manifest_no:
        query = query.where(col(Revision.manifest_no) == manifest_no)
    if status:
        query = query.where(col(Revision.status) == status)
    return keyset_page(session, query, Revision.id, "r", page)


def approvals(session: Session, revision: Revision) -> list[RevisionApproval]:
    return list(session.exec(select(RevisionApproval).where(col(RevisionApproval.revision_id) == revision.id)
                             .order_by(col(RevisionApproval.id))).all())


def versions(session: Session, principal: Principal, manifest_no: str) -> tuple[Manifest, list[ManifestVersion]]:
    manifest = manifests.get_visible(session, principal, manifest_no)
    rows = session.exec(select(ManifestVersion).where(col(ManifestVersion.manifest_id) == manifest.id)
                        .order_by(col(ManifestVersion.version))).all()
    return manifest, list(rows)


# --- proposing -------------------------------------------------------------------------------

def propose(session: Session, principal: Principal, manifest_no: str, data: RevisionCreate) -> Revision:
    """A party proposes a change; every other party (and a new receiver) is asked to approve it."""
    manifest = manifests.get_visible(session, principal, manifest_no, for_update=True)
    parties = manifest_parties(session, manifest)
    if principal.enterprise_id not in parties:
        raise Forbidden("only a party to the manifest proposes a revision of it")
    changes = data.changes.model_dump(exclude_none=True)
    check_applicable(session, manifest, changes)
    pending = session.exec(select(Revision.id).where(col(Revision.manifest_id) == manifest.id,
                                                     col(Revision.status) == "pending")).first()
    if pending is not None:
        raise Conflict(f"revision {pending} of {manifest_no} is still pending: approve or refuse it first",
                       pending_revision_id=pending)
    if "receiver_site_id" in changes:
        new_receiver = session.get(Site, changes["receiver_site_id"]).enterprise_id
        parties.setdefault(new_receiver, []).append("new receiver")
    now = utcnow()
    revision = Revision(manifest_id=manifest.id, manifest_no=manifest_no, base_version=manifest.version,
                        changes=changes, previous={k: getattr(manifest, k) for k in changes}, reason=data.reason,
                        proposed_by=principal.enterprise_id, proposed_at=now)
    session.add(revision)
    session.flush()
    for enterprise_id, roles in parties.items():
        if enterprise_id != principal.enterprise_id:
            session.add(RevisionApproval(revision_id=revision.id, enterprise_id=enterprise_id, roles=",".join(roles)))
    _step(session, revision, "proposed", now, principal, {"changes": changes, "previous": revision.previous,
                                                          "reason": data.reason})
    return revision


def manifest_parties(session: Session, manifest: Manifest) -> dict[int, list[str]]:
    return rules.parties(manifest.generator_id, [leg.transporter_id for leg in legs.all_legs(session, manifest)],
                         manifest.receiver_id)


def check_applicable(session: Session, manifest: Manifest, changes: dict[str, Any]) -> None:
    """The changes against the manifest as it stands now (again when the last approval applies them)."""
    rules.check_revisable(manifest.status)
    rules.check_changes(changes, {k: getattr(manifest, k) for k in rules.REVISABLE_FIELDS}, manifest.status)
    waste_code = manifest.waste_code
    if "waste_code" in changes:
        waste_code = changes["waste_code"] = known_waste_code(session, changes["waste_code"])
    site = session.get(Site, changes.get("receiver_site_id", manifest.receiver_site_id))
    if site is None:
        raise RuleViolation("unknown_site", "changes.receiver_site_id", f"no site {changes['receiver_site_id']}")
    if "receiver_site_id" in changes and "receiver" not in session.get(Enterprise, site.enterprise_id).roles:
        raise RuleViolation("not_a_receiver", "changes.receiver_site_id", f"{site.name} is not a receiver's site")
    needs_permit = manifest.kind != "return" and bool({"waste_code", "receiver_site_id"} & changes.keys())
    if needs_permit and not permits(site, waste_code):
        field = "changes.receiver_site_id" if "receiver_site_id" in changes else "changes.waste_code"
        raise RuleViolation("receiver_not_permitted", field, f"{site.name} is not permitted to accept {waste_code}")
    on_follow_ups = manifests.follow_ups_declared_kg(session, manifest.manifest_no)
    if "refused_kg" in changes and changes["refused_kg"] < on_follow_ups:
        raise RuleViolation("refused_below_follow_ups", "changes.refused_kg",
                            f"{on_follow_ups} kg of the refused part already left on follow-ups")
    if "declared_kg" in changes:
        for leg in legs.all_legs(session, manifest):
            vehicle = vehicle_by_plate(session, leg.vehicle_plate)
            if vehicle is not None and changes["declared_kg"] > vehicle.max_load_kg:
                raise RuleViolation("declared_kg_over_max_load", "changes.declared_kg",
                                    f"{changes['declared_kg']} kg is over {vehicle.plate}'s maximum load")


# --- deciding --------------------------------------------------------------------------------

def decide(session: Session, principal: Principal, revision_id: int, decision: str,
           note: str | None) -> tuple[Revision, bool]:
    """Record a party's approval or refusal; returns (revision, whether every approval is now in)."""
    revision = get_visible(session, principal, revision_id)
    manifest = session.exec(select(Manifest).where(col(Manifest.id) == revision.manifest_id).with_for_update()).one()
    session.refresh(revision)
    approval = session.exec(select(RevisionApproval).where(
        col(RevisionApproval.revision_id) == revision.id,
        col(RevisionApproval.enterprise_id) == principal.enterprise_id)).first()
    if approval is None:
        raise Forbidden("only a party asked to approve this revision decides on it")
    if revision.status != "pending":
        raise StateConflict(f"revision {revision.id} is already {revision.status}", current_state=revision.status)
    if approval.decision != "pending":
        raise Conflict(f"you already {approval.decision} revision {revision.id}", decision=approval.decision)
    now = utcnow()
    approval.decision, approval.note, approval.decided_at = decision, note, now
    session.add(approval)
    _step(session, revision, decision, now, principal, {"note": note})
    if decision == "refused":
        revision.status, revision.decided_at = "refused", now
        session.add(revision)
        return revision, False
    session.flush()
    complete = all(a.decision == "approved" for a in approvals(session, revision))
    if complete:
        apply(session, manifest, revision, now)
    return revision, complete


def apply(session: Session, manifest: Manifest, revision: Revision, now: datetime) -> None:
    """Keep the manifest as it stood as a version, then change it: a new version."""
    changes = dict(revision.changes)
    check_applicable(session, manifest, changes)
    session.add(ManifestVersion(manifest_id=manifest.id, version=manifest.version, replaced_at=now,
                                replaced_by_revision_id=revision.id, values=snapshot(manifest)))
    for name, value in changes.items():
        setattr(manifest, name, value)
    if "receiver_site_id" in changes:
        receiver = session.get(Enterprise, session.get(Site, changes["receiver_site_id"]).enterprise_id)
        manifest.receiver_id, manifest.receiver_region_code = receiver.id, receiver.region_code
    manifest.version += 1
    manifest.updated_at = now
    session.add(manifest)
    revision.status, revision.decided_at, revision.applied_version = "applied", now, manifest.version
    session.add(revision)
    events.record(session, manifest.manifest_no, "revised", now,
                  {"by": "system", "revision_id": revision.id, "version": manifest.version, "changes": changes,
                   "previous": revision.previous})
    outbox.emit(session, "revision.applied", revision.id, now, manifest_no=manifest.manifest_no)


def snapshot(manifest: Manifest) -> dict[str, Any]:
    return {"version": manifest.version, **{name: getattr(manifest, name) for name in SNAPSHOT_FIELDS}}


def _step(session: Session, revision: Revision, step: str, at: datetime, principal: Principal,
          body: dict[str, Any]) -> None:
    ledger.append(session, f"revision.{step}", at, manifest_no=revision.manifest_no,
                  body={"revision_id": revision.id, "by": principal.label, **body})
    outbox.emit(session, f"revision.{step}", revision.id, at, manifest_no=revision.manifest_no)
