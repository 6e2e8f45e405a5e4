"""Raising REDISPATCHED_BEFORE_RECEIPT at a dispatch or a takeover by handover, withdrawing it at the
earlier manifest's receipt or rejection (the rule: detection/redispatch.py).

Both sides read the manifests locked (locks.py): a dispatch locks the vehicle's manifests under
way before anything is written, so a receipt of one of them either committed first (the manifest
is no longer under way: nothing is raised) or waits and then finds the finding to withdraw.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from wasteflow.detection.redispatch import CODE, UNDER_WAY, Dispatch, answered_in_time, redispatched_before_receipt
from wasteflow.findings import service as findings
from wasteflow.findings.models import Finding
from wasteflow.manifests import locks
from wasteflow.manifests.models import Manifest, ManifestLeg


def lock_under_way(session: Session, manifest: Manifest, vehicle_id: int | None = None) -> list[Manifest]:
    """The other manifests under way whose current leg's vehicle is this one (the manifest's own, or
    `vehicle_id` taking over a leg), locked: call before the signature writes anything. A vehicle
    whose leg ended at a handover is free: that manifest's current leg is another's."""
    vehicle = manifest.vehicle_id if vehicle_id is None else vehicle_id
    current_leg = select(ManifestLeg.manifest_id).where(ManifestLeg.vehicle_id == vehicle,
                                                       ManifestLeg.leg == Manifest.current_leg)
    carried_now = or_(and_(Manifest.vehicle_id == vehicle, Manifest.current_leg == 1),
                      col(Manifest.id).in_(current_leg))
    return locks.locked(session, carried_now, Manifest.id != manifest.id, col(Manifest.status).in_(UNDER_WAY))


def raise_on_dispatch(session: Session, manifest: Manifest, under_way: list[Manifest]) -> list[Finding]:
    """The dispatch of `manifest` is signed: raise on each earlier manifest still under way."""
    return _raise(session, _facts(manifest), under_way)


def raise_on_handover(session: Session, manifest: Manifest, leg: ManifestLeg,
                      under_way: list[Manifest]) -> list[Finding]:
    """`leg`'s vehicle took `manifest` over by handover: raise on the manifests it was still carrying."""
    later = Dispatch(manifest.manifest_no, leg.vehicle_plate, manifest.status, leg.handed_over_at)
    return _raise(session, later, under_way)


def _raise(session: Session, later: Dispatch, under_way: list[Manifest]) -> list[Finding]:
    raised = []
    for earlier in under_way:
        draft = redispatched_before_receipt(_facts(earlier), later)
        if draft is not None:
            finding, is_new = findings.record(session, draft, region_code=earlier.region_code)
            if is_new:
                raised.append(finding)
    return raised


def settle(session: Session, manifest: Manifest) -> list[Finding]:
    """The manifest was just received or rejected: withdraw what its ``at`` answers in time."""
    signed_at = manifest.received_at or manifest.rejected_at
    if signed_at is None:
        return []
    rows = session.exec(select(Finding).where(Finding.scope == manifest.manifest_no, Finding.code == CODE)).all()
    keep = {(f.code, f.episode_key) for f in rows if not answered_in_time(signed_at, _next_dispatch(f))}
    what = "received" if manifest.received_at else "rejected"
    reason = f"{what} at {signed_at.isoformat()}, before the vehicle's next dispatch"
    return findings.withdraw_missing(session, manifest.manifest_no, (CODE,), keep, reason)


def _next_dispatch(finding: Finding) -> datetime:
    return datetime.fromisoformat(finding.evidence["next_dispatched_at"].replace("Z", "+00:00"))


def _facts(manifest: Manifest) -> Dispatch:
    return Dispatch(manifest.manifest_no, manifest.vehicle_plate, manifest.status, manifest.dispatched_at)
