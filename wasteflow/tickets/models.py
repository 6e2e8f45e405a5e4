"""Weigh tickets (过磅单) published by site weighbridges."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from wasteflow import columns
from wasteflow.database import UTCDateTime, utcnow


class WeighTicket(SQLModel, table=True):
    __tablename__ = "weigh_ticket"
    __table_args__ = (UniqueConstraint("device_id", "seq", "ts", name="uq_weigh_ticket_reading"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=columns.DEVICE_ID_CHARS, index=True)
    seq: int = Field(sa_type=columns.TICKET_SEQ_TYPE)
    ts: datetime = Field(sa_type=UTCDateTime)
    site_id: int = Field(foreign_key="site.id", index=True)
    ticket_no: str = Field(max_length=columns.TICKET_NO_CHARS, index=True)
    plate: str = Field(max_length=columns.PLATE_CHARS, index=True)
    gross_kg: int = Field(sa_type=columns.MASS_KG_TYPE)
    tare_kg: int = Field(sa_type=columns.MASS_KG_TYPE)
    net_kg: int = Field(sa_type=columns.MASS_KG_TYPE)
    gross_at: datetime = Field(sa_type=UTCDateTime)
    tare_at: datetime = Field(sa_type=UTCDateTime)
    claimed_manifest_no: str | None = Field(default=None, max_length=columns.MANIFEST_NO_CHARS)
    """The manifest number the weighbridge scanned, as sent."""
    manifest_no: str | None = Field(default=None, max_length=columns.MANIFEST_NO_CHARS, index=True)
    """The manifest this ticket is linked to."""
    direction: str | None = Field(default=None, max_length=10)
    """``departure`` (generator's weighbridge), ``arrival`` (receiver's) or ``handover`` (a transfer site's)."""
    verified: bool = False
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    via: str | None = Field(default=None, max_length=columns.VIA_CHARS)
    """The gateway it came through (``scale``); None: straight from the weighbridge."""
