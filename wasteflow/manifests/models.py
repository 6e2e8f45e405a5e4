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
    refused_kg: int | None = None
    """The part of the load the receiver refused at receipt (domain.md "Partial refusal")."""
    refusal_reason: str | None = Field(default=None, max_length=1000)
    reject_reason: str | None = Field(default=None, max_length=1000)
    cancel_reason: str | None = Field(default=None, max_length=1000)
    departure_ticket_no: str | None = Field(default=None, max_length=64)
    arrival_ticket_no: str | None = Field(default=None, max_length=64)

    current_leg: int = 1
    """The leg carrying the load now: 1 until the first handover."""
    parent_manifest_no: str | None = Field(default=None, max_length=40, index=True)
    """For a follow-up of a refusal: the manifest whose refused part (or rejected load) it carries."""
    kind: str = Field(default="primary", max_length=10)
    """``primary``, or a follow-up's ``return`` (to the original generator) or ``redirect``."""
    version: int = 1
    """Raised by one with every applied revision; earlier versions are kept in ``manifest_version``."""

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ManifestLeg(SQLModel, table=True):
    """A later leg of a multi-leg transport (leg 1 is the manifest's own transporter and vehicle)."""

    __tablename__ = "manifest_leg"
    __table_args__ = (UniqueConstraint("manifest_id", "leg"),)

    id: int | None = Field(default=None, primary_key=True)
    manifest_id: int = Field(foreign_key="manifest.id", index=True)
    leg: int
    transporter_id: int = Field(foreign_key="enterprise.id", index=True)
    vehicle_id: int = Field(foreign_key="vehicle.id", index=True)
    vehicle_plate: str = Field(max_length=16, index=True)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    handed_over_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """Event time of the handover this leg's transporter signed: the leg's start."""
    handover_site_id: int | None = Field(default=None, foreign_key="site.id")
    handover_ticket_no: str | None = Field(default=None, max_length=64)


class ManifestVersion(SQLModel, table=True):
    """A manifest as it stood before a revision was applied to it."""

    __tablename__ = "manifest_version"
    __table_args__ = (UniqueConstraint("manifest_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    manifest_id: int = Field(foreign_key="manifest.id", index=True)
    version: int
    values: dict = Field(sa_column=Column(JSONDocument, nullable=False))
    replaced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    replaced_by_revision_id: int | None = None


class ManifestCounter(SQLModel, table=True):
    """Per region and day, the last sequence number handed out."""

    __tablename__ = "manifest_counter"
    __table_args__ = (UniqueConstraint("region_code", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    region_code: str = Field(max_length=6)
    day: str = Field(max_length=8)
    last: int = 0
