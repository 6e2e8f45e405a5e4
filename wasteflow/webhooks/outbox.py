"""The webhooks' outbox: an event is a row written in the transaction of what it announces.

So a rolled-back request announces nothing, and a committed one is announced even if every
process stops right after: the worker (:mod:`.worker`) fans the rows out to the subscribed
webhooks and delivers them. Nothing here reads who subscribes; writing an event is one INSERT,
and nothing a webhook's endpoint does can slow the transaction that wrote it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from wasteflow.webhooks.models import WebhookEvent

MANIFEST_ACTIONS = ("manifest.filed", "manifest.dispatched", "manifest.in_transit", "manifest.arrived",
                    "manifest.received", "manifest.reconciled", "manifest.rejected", "manifest.cancelled",
                    "manifest.leg_added", "manifest.handover", "manifest.revised")
REVISION_ACTIONS = ("revision.proposed", "revision.approved", "revision.refused", "revision.applied")
FINDING_ACTIONS = ("finding.raised", "finding.acknowledged", "finding.investigating", "finding.resolved",
                   "finding.dismissed", "finding.withdrawn", "finding.open")
ACTIONS = MANIFEST_ACTIONS + REVISION_ACTIONS + FINDING_ACTIONS


def emit(session: Session, action: str, object_id: str | int, at: datetime, *, manifest_no: str | None = None,
         severity: str | None = None) -> None:
    """Record that ``action`` happened to ``object_id`` at event time ``at``, in the caller's transaction.

    ``manifest_no`` says whose parties may hear of it; ``severity`` is a finding's, for ``min_severity``.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown webhook action {action}")
    session.add(WebhookEvent(action=action, object_id=str(object_id), at=at, manifest_no=manifest_no,
                             severity=severity))
