"""Request and response shapes of webhooks and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from wasteflow.paging import Page
from wasteflow.schemas import Strict

Severity = Literal["info", "warning", "critical"]


class WebhookCreate(Strict):
    url: str = Field(max_length=2000, examples=["https://erp.example.com/wasteflow"])
    events: list[str] = Field(min_length=1, max_length=50, examples=[["manifest.received", "finding.raised"]])
    min_severity: Severity = Field(default="warning", description="finding events below it are not sent")
    region: str | None = Field(default=None, max_length=6,
                               description="a regulator's: finding events of this region prefix only")


class WebhookCreated(BaseModel):
    id: int
    secret: str = Field(description="shown once: the key of every delivery's Wasteflow-Signature")


class WebhookPublic(BaseModel):
    id: int
    url: str
    events: list[str]
    min_severity: Severity
    region: str | None
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    consecutive_failures: int
    created_at: datetime


class WebhookPage(Page[WebhookPublic]):
    pass


class DeliveryPublic(BaseModel):
    id: int
    action: str
    object_id: str = Field(description="the manifest number, finding id or revision id delivered as 'id'")
    at: datetime
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(Page[DeliveryPublic]):
    pass
