"""The electronic transfer manifest (电子转移联单): one load, generator → transporter → receiver."""

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from wasteflow.database import JSONDocument, UTCDateTime, utcnow

STATUSES = ("filed", "dispatched", "in_transit", "arrived", "received", "reconciled",
            "rejected", "cancelled")


class Manifest(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    manifest_no: str = Field(max_length=40, unique=True)
    status: str = Field(default="filed", max_length=16, index=True)
    region_code: str = Field(max_length=6, index=True)
    """The generator's region: it places the manifest in a regulator's jurisdiction."""

    generator_id: int = Field(foreign_key="enterprise.id", index=True)
    generator_site_id: int = Field(foreign_key="site.id")
    transporter_id: int = Field(foreign_key="enterprise.id", index=True)
    vehicle_id: int = Field(foreign_key="vehicle.id", index=True)
    vehicle_plate: str = Field(max_length=16)
    receiver_id: int = Field(foreign_key="enterprise.id", index=True)
    receiver_site_id: int = Field(foreign_key="site.id", index=True)
    receiver_region_code: str = Field(max_length=6, index=True)

    waste_code: str = Field(max_length=32, index=True)
    declared_kg: int
    planned_departure: datetime | None = Field(default=None, sa_type=UTCDateTime)
    planned_arrival: datetime | None = Field(default=None, sa_type=UTCDateTime)
    route: dict | None = Field(default=None, sa_column=Column(JSONDocument, nullable=True))
    corridor_m: float = 500.0

    filed_at: datetime = Field(sa_type=UTCDateTime, index=True)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    in_transit_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    arrived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rejected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reconciled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_signature_at: datetime = Field(sa_type=UTCDateTime)
    """Event time of the latest signature: a new one may not lie before it."""

    accepted_kg: int | None = None
    reject_reason: str | None = Field(default=None, max_length=1000)
    cancel_reason: str | None = Field(default=None, max_length=1000)
    departure_ticket_no: str | None = Field(default=None, max_length=64)
    arrival_ticket_no: str | None = Field(default=None, max_length=64)

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ManifestCounter(SQLModel, table=True):
    """Per region and day, the last sequence number handed out."""

    __tablename__ = "manifest_counter"
    __table_args__ = (UniqueConstraint("region_code", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    region_code: str = Field(max_length=6)
    day: str = Field(max_length=8)
    last: int = 0
