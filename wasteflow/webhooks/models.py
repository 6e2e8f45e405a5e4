"""Webhooks: subscriptions, the durable outbox of events, and each delivery's attempts."""

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from wasteflow.database import JSONDocument, UTCDateTime, utcnow


class Webhook(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    regulator_id: int | None = Field(default=None, foreign_key="regulator.id", index=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=100)
    """The HMAC key deliveries are signed with: shown once at registration, kept to sign."""
    events: list = Field(sa_column=Column(JSONDocument, nullable=False))
    min_severity: str = Field(default="warning", max_length=10)
    region: str | None = Field(default=None, max_length=6)
    """A regulator's narrower region prefix for ``finding.*`` (default: all of its regions)."""
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=1000)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consecutive_failures: int = 0
    deleted: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookEvent(SQLModel, table=True):
    """The outbox: one row per event, written in the transaction of what it announces."""

    __tablename__ = "webhook_event"

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=40)
    object_id: str = Field(max_length=40)
    at: datetime = Field(sa_type=UTCDateTime)
    manifest_no: str | None = Field(default=None, max_length=40)
    severity: str | None = Field(default=None, max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    fanned_out: bool = Field(default=False, index=True)
    """Set once a delivery row exists for every webhook that should hear of it."""


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("webhook_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id", index=True)
    event_id: int = Field(foreign_key="webhook_event.id")
    action: str = Field(max_length=40)
    object_id: str = Field(max_length=40)
    at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="pending", max_length=10, index=True)
    """``pending`` (a next attempt is due at ``next_attempt_at``), ``delivered`` or ``failed`` (gave up)."""
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
