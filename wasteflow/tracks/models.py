"""Telemetry as stored: GPS fixes, on-board load readings, device status.

A reading is identified by (device, seq, ts) — the primary key — so a redelivered
or resent reading is stored once by the database itself.
"""

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from wasteflow import columns
from wasteflow.database import OptionalJSONDocument, UTCDateTime, utcnow


class GpsFix(SQLModel, table=True):
    __tablename__ = "gps_fix"

    device_id: str = Field(primary_key=True, max_length=columns.DEVICE_ID_CHARS)
    ts: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    seq: int = Field(sa_column=Column(columns.READING_SEQ_TYPE, primary_key=True, autoincrement=False))
    lat: float
    lon: float
    speed_kmh: float | None = None
    heading: float | None = None
    hdop: float | None = None
    verified: bool = False
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    via: str | None = Field(default=None, max_length=columns.VIA_CHARS)
    """The gateway it came through (``jt808``, ``scale``, ``osmand``); None: straight from the device."""
    attrs: dict | None = Field(default=None, sa_column=Column(OptionalJSONDocument, nullable=True))
    """The terminal's own words kept with the fix: alarm/status words, mileage, signal, satellites, load state."""


class LoadReading(SQLModel, table=True):
    __tablename__ = "load_reading"

    device_id: str = Field(primary_key=True, max_length=columns.DEVICE_ID_CHARS)
    ts: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    seq: int = Field(sa_column=Column(columns.READING_SEQ_TYPE, primary_key=True, autoincrement=False))
    load_kg: int = Field(sa_type=columns.MASS_KG_TYPE)
    verified: bool = False
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    via: str | None = Field(default=None, max_length=columns.VIA_CHARS)


class DeviceStatus(SQLModel, table=True):
    __tablename__ = "device_status"

    device_id: str = Field(primary_key=True, max_length=columns.DEVICE_ID_CHARS)
    online: bool
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# SQLModel adds __table__ when the class is made; its type stubs do not say so.
Index("ix_gps_fix_received_at", GpsFix.__table__.c.received_at)  # type: ignore[attr-defined]
Index("ix_gps_fix_position", GpsFix.__table__.c.lat, GpsFix.__table__.c.lon,  # type: ignore[attr-defined]
      GpsFix.__table__.c.ts)  # type: ignore[attr-defined]
"""Where a fix lies, then when: the bounding-box prefilter of dump-site forensics (forensics/service.py)."""
