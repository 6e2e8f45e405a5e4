"""Registering webhooks, who sees them, re-enabling, removing, and the deliveries log.

A webhook belongs to the enterprise or regulator whose key registered it; only its owner (and the
administrator) sees it and its deliveries: anyone else gets 404. What it hears of is decided when
an event is fanned out (:mod:`.fanout`): only what its owner may see.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true
from sqlmodel import Session, col, select

from wasteflow.auth.service import Principal
from wasteflow.config import Settings
from wasteflow.database import Query, utcnow
from wasteflow.errors import Forbidden, NotFound, RuleViolation
from wasteflow.paging import PageRequest, keyset_page
from wasteflow.webhooks import addresses, signing
from wasteflow.webhooks.models import Webhook, WebhookDelivery
from wasteflow.webhooks.outbox import ACTIONS
from wasteflow.webhooks.schemas import WebhookCreate


def owned_by(principal: Principal) -> ColumnElement[bool]:
    if principal.is_admin:
        return true()
    if principal.kind == "enterprise":
        return col(Webhook.enterprise_id) == principal.enterprise_id
    if principal.is_regulator:
        return col(Webhook.regulator_id) == principal.regulator_id
    return false()


def visible(query: Query, principal: Principal) -> Query:
    """``query`` (over :class:`Webhook`) narrowed to the caller's own webhooks (not removed ones)."""
    return query.where(owned_by(principal), col(Webhook.deleted).is_(False))


def get_visible(session: Session, principal: Principal, webhook_id: int) -> Webhook:
    webhook = session.exec(visible(select(Webhook), principal).where(col(Webhook.id) == webhook_id)).first()
    if webhook is None:
        raise NotFound(f"no webhook {webhook_id}")
    return webhook


def register(session: Session, principal: Principal, data: WebhookCreate, settings: Settings) -> tuple[Webhook, str]:
    """An enterprise or a regulator subscribes a URL to events; answers the webhook and its secret (once)."""
    if principal.kind not in ("enterprise", "regulator"):
        raise Forbidden("webhooks belong to an enterprise or a regulator: register one with its key")
    unknown = sorted(set(data.events) - set(ACTIONS))
    if unknown:
        raise RuleViolation("unknown_event", "events", f"unknown events {unknown}; known: {', '.join(ACTIONS)}")
    if data.region is not None and not (principal.is_regulator and principal.covers_region(data.region)):
        raise RuleViolation("region_outside_jurisdiction", "region",
                            "a region filter is a regulator's, within its own regions")
    addresses.check_url(data.url, settings.webhook_allow_private)
    secret = signing.new_secret()
    webhook = Webhook(enterprise_id=principal.enterprise_id, regulator_id=principal.regulator_id, url=data.url,
                      secret=secret, events=sorted(set(data.events)), min_severity=data.min_severity,
                      region=data.region)
    session.add(webhook)
    session.flush()
    return webhook, secret


def list_webhooks(session: Session, principal: Principal, page: PageRequest) -> tuple[list[Webhook], str | None]:
    return keyset_page(session, visible(select(Webhook), principal), Webhook.id, "w", page, newest_first=False)


def enable(session: Session, principal: Principal, webhook_id: int) -> Webhook:
    """Re-enable a disabled webhook: its failure count starts again and its pending deliveries are due now."""
    webhook = get_visible(session, principal, webhook_id)
    now = utcnow()
    webhook.enabled, webhook.disabled_reason, webhook.disabled_at, webhook.consecutive_failures = True, None, None, 0
    session.add(webhook)
    for delivery in session.exec(select(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == webhook.id,
                                                               col(WebhookDelivery.status) == "pending")).all():
        delivery.next_attempt_at = now
        session.add(delivery)
    return webhook


def remove(session: Session, principal: Principal, webhook_id: int) -> Webhook:
    """Unsubscribe: nothing more is delivered; the deliveries log stays for the record."""
    webhook = get_visible(session, principal, webhook_id)
    webhook.deleted, webhook.enabled = True, False
    session.add(webhook)
    return webhook


def deliveries(session: Session, principal: Principal, webhook_id: int, page: PageRequest,
               status: str | None = None) -> tuple[list[WebhookDelivery], str | None]:
    webhook = get_visible(session, principal, webhook_id)
    query = select(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == webhook.id)
    if status:
        query = query.where(col(WebhookDelivery.status) == status)
    return keyset_page(session, query, WebhookDelivery.id, "d", page)
