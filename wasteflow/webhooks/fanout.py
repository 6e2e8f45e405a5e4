"""From the outbox to deliveries: each event becomes one delivery per webhook that should hear of it.

A webhook hears of an event when it is not removed, subscribed to the action, registered before the
event, and its owner may see the object (the manifest, or the finding: the same ``visible()`` rules
as the API); a finding event also needs ``min_severity`` and, for a regulator's regional webhook,
the finding's region under its prefix. Runs in the worker, never in the request that wrote the event.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from wasteflow.auth.models import Regulator
from wasteflow.auth.service import Principal
from wasteflow.findings import service as findings
from wasteflow.findings.models import Finding
from wasteflow.manifests import service as manifests
from wasteflow.manifests.models import Manifest
from wasteflow.registry.models import Enterprise
from wasteflow.webhooks.models import Webhook, WebhookDelivery, WebhookEvent

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def owner(session: Session, webhook: Webhook) -> Principal | None:
    """Who the webhook acts as: its enterprise or its regulator, as their API keys would."""
    if webhook.enterprise_id is not None:
        enterprise = session.get(Enterprise, webhook.enterprise_id)
        if enterprise is None:
            return None
        return Principal("enterprise", enterprise_id=enterprise.id, roles=tuple(enterprise.roles))
    regulator = session.get(Regulator, webhook.regulator_id)
    if regulator is None:
        return None
    return Principal("regulator", regulator_id=regulator.id, regions=tuple(regulator.regions))


def severity_passes(severity: str | None, min_severity: str) -> bool:
    return severity is None or SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[min_severity]


def hears(session: Session, webhook: Webhook, event: WebhookEvent) -> bool:
    if event.action not in webhook.events or webhook.created_at > event.created_at:
        return False
    principal = owner(session, webhook)
    if principal is None:
        return False
    if event.action.startswith("finding."):
        if not severity_passes(event.severity, webhook.min_severity):
            return False
        query = findings.visible(select(Finding.id), principal).where(col(Finding.id) == int(event.object_id))
        if webhook.region:
            query = query.where(col(Finding.region_code).startswith(webhook.region))
        return session.exec(query).first() is not None
    query = manifests.visible(select(Manifest.id).where(col(Manifest.manifest_no) == event.manifest_no), principal)
    return session.exec(query).first() is not None


def fan_out(session: Session, batch: int = 200) -> int:
    """Turn up to ``batch`` waiting events into deliveries (in the caller's transaction); returns how many events.

    On PostgreSQL the events are claimed with ``SKIP LOCKED``, so several workers never fan one out twice.
    """
    events = session.exec(select(WebhookEvent).where(col(WebhookEvent.fanned_out).is_(False))
                          .order_by(col(WebhookEvent.id)).limit(batch).with_for_update(skip_locked=True)).all()
    if not events:
        return 0
    # a disabled webhook's deliveries wait: re-enabled within the retry window, it still gets them
    webhooks = session.exec(select(Webhook).where(col(Webhook.deleted).is_(False))).all()
    for event in events:
        for webhook in webhooks:
            if hears(session, webhook, event):
                session.add(WebhookDelivery(webhook_id=webhook.id, event_id=event.id, action=event.action,
                                            object_id=event.object_id, at=event.at, next_attempt_at=event.created_at,
                                            created_at=event.created_at))
        event.fanned_out = True
        session.add(event)
    return len(events)
