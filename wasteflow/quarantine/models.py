"""Telemetry that was not accepted, kept with its reason for regulators to see."""

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from wasteflow.database import UTCDateTime, utcnow


class QuarantinedMessage(SQLModel, table=True):
    __tablename__ = "quarantine"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=300)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    reason: str = Field(max_length=40, index=True)
    detail: str = Field(default="", max_length=1000)
    device_id: str | None = Field(default=None, max_length=80, index=True)
