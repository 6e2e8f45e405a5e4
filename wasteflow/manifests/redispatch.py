"""Raising REDISPATCHED_BEFORE_RECEIPT at a dispatch, withdrawing it at the earlier manifest's
receipt or rejection (the rule: detection/redispatch.py).

Both sides read the manifests locked (locks.py): a dispatch locks the vehicle's manifests under
way before anything is written, so a receipt of one of them either committed first (the manifest
is no longer under way: nothing is raised) or waits and then finds the finding to withdraw.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from wasteflow.detection.redispatch import CODE, UNDER_WAY, Dispatch, answered_in_time, redispatched_before_receipt
from wasteflow.findings import service as findings
from wasteflow.findings.models import Finding
from wasteflow.manifests import locks
from wasteflow.manifests.models import Manifest


def lock_under_way(session: Session, manifest: Manifest) -> list[Manifest]:
    """The vehicle's other manifests under way, locked: call before the dispatch writes anything."""
    return locks.locked(session, Manifest.vehicle_id == manifest.vehicle_id, Manifest.id != manifest.id,
                        col(Manifest.status).in_(UNDER_WAY))


def raise_on_dispatch(session: Session, manifest: Manifest, under_way: list[Manifest]) -> list[Finding]:
    """The dispatch of `manifest` is signed: raise on each earlier manifest still under way."""
    raised = []
    for earlier in under_way:
        draft = redispatched_before_receipt(_facts(earlier), _facts(manifest))
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
