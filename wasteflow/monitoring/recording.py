"""Turning a run of the rules into stored findings, state changes and ledger entries."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from wasteflow.detection.model import FindingDraft
from wasteflow.detection.pipeline import carry_episode_keys
from wasteflow.findings import service as findings
from wasteflow.findings.models import Finding
from wasteflow.manifests import events
from wasteflow.manifests.lifecycle import TIMESTAMP_FIELD, next_state
from wasteflow.manifests.models import Manifest

LIVE_CODES = ("ROUTE_DEVIATION", "UNAUTHORIZED_STOP", "LOAD_DROP", "DIVERSION", "RESTRICTED_ZONE_ENTRY",
              "IMPOSSIBLE_JUMP")
RECONCILIATION_CODES = LIVE_CODES + ("GPS_GAP", "NO_TRACK", "NEVER_ARRIVED", "TONNAGE_SHORTFALL",
                                     "TONNAGE_SURPLUS", "DECLARATION_MISMATCH", "ACCEPTANCE_MISMATCH",
                                     "MISSING_TICKET")
"""What a reconciliation run decides afresh: a stored finding of these codes that the run no
longer produces is withdrawn. Ticket findings, OVERDUE and CAPACITY_EXCEEDED have their own triggers."""


def stored_windows(session: Session, manifest_no: str,
                   known: list[Finding] | None = None) -> dict[str, tuple[datetime, datetime]]:
    rows = known if known is not None else session.exec(select(Finding).where(Finding.scope == manifest_no)).all()
    return {f.episode_key: (f.window_start, f.window_end) for f in rows if f.scope == manifest_no}


def record_drafts(session: Session, manifest: Manifest, drafts: list[FindingDraft],
                  known: list[Finding] | None = None) -> list[Finding]:
    """Store each draft (grow known episodes); returns the findings raised for the first time.

    ``known``: the manifest's findings already read in this transaction (:func:`findings_by_manifest`);
    the new ones are added to it."""
    carry_episode_keys(drafts, stored_windows(session, manifest.manifest_no, known))
    raised = []
    for draft in drafts:
        finding, is_new = findings.record(session, draft, region_code=manifest.region_code, known=known)
        if is_new:
            raised.append(finding)
            if known is not None:
                known.append(finding)
    return raised


def withdraw_unproduced(session: Session, manifest: Manifest, drafts: list[FindingDraft], reason: str,
                        undecided: Collection[str] = (), known: list[Finding] | None = None) -> None:
    """Withdraw what this run no longer produces, except codes whose rule failed (``undecided``):
    a rule that raised has not said its findings are gone."""
    keep = {(d.code, d.episode_key) for d in drafts}
    codes = [code for code in RECONCILIATION_CODES if code not in undecided]
    findings.withdraw_missing(session, manifest.manifest_no, codes, keep, reason, known=known)


def findings_by_manifest(session: Session, numbers: Collection[str]) -> dict[str, list[Finding]]:
    """The findings of a batch of manifests in one query, in id order: those in each manifest's
    scope and those naming it (a site's, such as CAPACITY_EXCEEDED)."""
    out: dict[str, list[Finding]] = {no: [] for no in numbers}
    query = select(Finding).where(or_(col(Finding.scope).in_(list(numbers)),
                                      col(Finding.manifest_no).in_(list(numbers)))).order_by(col(Finding.id))
    for finding in session.exec(query).all():
        for no in {finding.scope, finding.manifest_no}:
            if no in out:
                out[no].append(finding)
    return out


def advance(session: Session, manifest: Manifest, action: str, at: datetime, body: dict) -> bool:
    """A state change the vehicle's own positions cause (not a signature).

    Conditional on the state it was read in: a receipt committed meanwhile (by the API, in
    another transaction) must not be overwritten by a late ``in_transit`` or ``arrived``.
    """
    previous = manifest.status
    target = next_state(action, previous)
    column = TIMESTAMP_FIELD[target]
    changed = session.execute(
        update(Manifest).where(Manifest.id == manifest.id, Manifest.status == previous)
        .values({"status": target, column: at}).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        session.refresh(manifest)
        return False
    manifest.status = target
    setattr(manifest, column, at)
    events.record(session, manifest.manifest_no, target, at,
                  {"by": "system", "from": previous, "status": target, **body})
    return True
