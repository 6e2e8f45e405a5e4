"""Webhook routes: register (the secret shown once), list, re-enable, remove, the deliveries log."""

from __future__ import annotations

from fastapi import APIRouter, Response

from wasteflow.api.deps import DbDep, PageDep, PrincipalDep, SettingsDep
from wasteflow.api.problems import responses
from wasteflow.webhooks import service
from wasteflow.webhooks.schemas import (
    DeliveryPage,
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookPublic,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=responses(401, 403, 404, 422))


@router.post("", status_code=201, response_model=WebhookCreated)
def register(data: WebhookCreate, session: DbDep, principal: PrincipalDep, settings: SettingsDep):
    webhook, secret = service.register(session, principal, data, settings)
    return WebhookCreated.model_validate({"id": webhook.id, "secret": secret})


@router.get("", response_model=WebhookPage)
def list_webhooks(session: DbDep, principal: PrincipalDep, page: PageDep):
    rows, cursor = service.list_webhooks(session, principal, page)
    return WebhookPage.of([WebhookPublic.model_validate(w, from_attributes=True) for w in rows], cursor)


@router.get("/{webhook_id}", response_model=WebhookPublic)
def get_webhook(webhook_id: int, session: DbDep, principal: PrincipalDep):
    return WebhookPublic.model_validate(service.get_visible(session, principal, webhook_id), from_attributes=True)


@router.post("/{webhook_id}/enable", response_model=WebhookPublic)
def enable(webhook_id: int, session: DbDep, principal: PrincipalDep):
    return WebhookPublic.model_validate(service.enable(session, principal, webhook_id), from_attributes=True)


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
def remove(webhook_id: int, session: DbDep, principal: PrincipalDep) -> Response:
    service.remove(session, principal, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage)
def deliveries(webhook_id: int, session: DbDep, principal: PrincipalDep, page: PageDep, status: str | None = None):
    rows, cursor = service.deliveries(session, principal, webhook_id, page, status=status)
    items = [DeliveryPublic.model_validate(
        {**d.model_dump(), "next_attempt_at": d.next_attempt_at if d.status == "pending" else None}) for d in rows]
    return DeliveryPage.of(items, cursor)
