"""Regulators and API keys. Keys are stored only as SHA-256 hashes."""

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from wasteflow.database import JSONDocument, UTCDateTime, utcnow

KEY_OWNERS = ("admin", "regulator", "enterprise")


class Regulator(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    regions: list[str] = Field(sa_column=Column(JSONDocument, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    owner_kind: str = Field(max_length=16)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    regulator_id: int | None = Field(default=None, foreign_key="regulator.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
