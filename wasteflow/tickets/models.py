"""Weigh tickets (过磅单) published by site weighbridges."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from wasteflow.database import UTCDateTime, utcnow


class WeighTicket(SQLModel, table=True):
    __tablename__ = "weigh_ticket"
    __table_args__ = (UniqueConstraint("device_id", "seq", "ts", name="uq_weigh_ticket_reading"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=80, index=True)
    seq: int
    ts: datetime = Field(sa_type=UTCDateTime)
    site_id: int = Field(foreign_key="site.id", index=True)
    ticket_no: str = Field(max_length=64, index=True)
    plate: str = Field(max_length=16, index=True)
    gross_kg: int
    tare_kg: int
    net_kg: int
    gross_at: datetime = Field(sa_type=UTCDateTime)
    tare_at: datetime = Field(sa_type=UTCDateTime)
    claimed_manifest_no: str | None = Field(default=None, max_length=40)
    """The manifest number the weighbridge scanned, as sent."""
    manifest_no: str | None = Field(default=None, max_length=40, index=True)
    """The manifest this ticket is linked to."""
    direction: str | None = Field(default=None, max_length=10)
    """``departure`` (generator's weighbridge), ``arrival`` (receiver's) or ``handover`` (a transfer site's)."""
    verified: bool = False
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    via: str | None = Field(default=None, max_length=16)
    """The gateway it came through (``scale``); None: straight from the weighbridge."""
