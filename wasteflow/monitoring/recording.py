"""Turning a run of the rules into stored findings, state changes and ledger entries."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

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


def stored_windows(session: Session, manifest_no: str) -> dict[str, tuple[datetime, datetime]]:
    rows = session.exec(select(Finding).where(Finding.scope == manifest_no)).all()
    return {f.episode_key: (f.window_start, f.window_end) for f in rows}


def record_drafts(session: Session, manifest: Manifest, drafts: list[FindingDraft]) -> list[Finding]:
    """Store each draft (grow known episodes); returns the findings raised for the first time."""
    carry_episode_keys(drafts, stored_windows(session, manifest.manifest_no))
    raised = []
    for draft in drafts:
        finding, is_new = findings.record(session, draft, region_code=manifest.region_code)
        if is_new:
            raised.append(finding)
    return raised


def withdraw_unproduced(session: Session, manifest: Manifest, drafts: list[FindingDraft], reason: str,
                        undecided: Collection[str] = ()) -> None:
    """Withdraw what this run no longer produces, except codes whose rule failed (``undecided``):
    a rule that raised has not said its findings are gone."""
    keep = {(d.code, d.episode_key) for d in drafts}
    codes = [code for code in RECONCILIATION_CODES if code not in undecided]
    findings.withdraw_missing(session, manifest.manifest_no, codes, keep, reason)


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
