"""Who and what the system knows: enterprises, their sites, vehicles, devices; zones; waste categories."""

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from wasteflow.database import JSONDocument, OptionalJSONDocument, UTCDateTime, utcnow

ENTERPRISE_ROLES = ("generator", "transporter", "receiver")
SITE_KINDS = ("plant", "storage", "utilisation", "disposal", "landfill", "transfer", "parking")
ZONE_KINDS = ("rest_area", "restricted")
DEVICE_KINDS = ("gps", "load_cell", "weighbridge")
DEVICE_PROTOCOLS = ("jt808",)
"""How a device reaches wasteflow when not by MQTT itself: through the gateway of that name."""


class Enterprise(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    credit_code: str = Field(max_length=18, unique=True)
    roles: list[str] = Field(sa_column=Column(JSONDocument, nullable=False))
    region_code: str = Field(max_length=6, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    geofence: dict = Field(sa_column=Column(JSONDocument, nullable=False))
    permitted_codes: list[str] = Field(default_factory=list, sa_column=Column(JSONDocument, nullable=False))
    annual_capacity_kg: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Vehicle(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    transporter_id: int = Field(foreign_key="enterprise.id", index=True)
    plate: str = Field(max_length=16, unique=True)
    tare_kg: int
    max_load_kg: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Device(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=80)
    kind: str = Field(max_length=20)
    vehicle_id: int | None = Field(default=None, foreign_key="vehicle.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    sealed_secret: str = Field(max_length=255)
    """The secret that checks HMAC signatures, sealed (``wasteflow.sealing``); never shown again
    after registration or rotation."""
    previous_sealed_secret: str | None = Field(default=None, max_length=255)
    """The secret before the last rotation, still valid until ``previous_secret_until``."""
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """Set: the device's messages are quarantined (``device_disabled``) and it has no broker account."""
    require_signature: bool = True
    protocol: str | None = Field(default=None, max_length=16)
    """``jt808``: a JT/T 808 terminal, reporting through ``wasteflow gateway jt808``; None: MQTT."""
    terminal_id: str | None = Field(default=None, max_length=20, unique=True, index=True)
    """A JT/T 808 terminal's phone number, stored without leading zeros (how terminals are compared)."""
    load_item: dict | None = Field(default=None, sa_column=Column(OptionalJSONDocument, nullable=True))
    """A JT/T 808 terminal's vendor load item: ``{"id": 85, "bytes": 4, "unit_kg": 0.1}``."""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Zone(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    geofence: dict = Field(sa_column=Column(JSONDocument, nullable=False))
    regulator_id: int | None = Field(default=None, foreign_key="regulator.id")
    region_code: str = Field(default="", max_length=12, index=True, sa_column_kwargs={"server_default": ""})
    """The region prefix the zone belongs to: it feeds detection only for manifests there ("": every region)."""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WasteCategory(SQLModel, table=True):
    __tablename__ = "waste_category"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    hazardous: bool = False
    tolerance_pct: float | None = None
    """Overrides the default tonnage tolerance (SW07 sludge: 5 %)."""
