"""Findings: clues a regulator can act on, and the history of how they were worked."""

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from wasteflow.database import JSONDocument, UTCDateTime, utcnow

SEVERITIES = ("info", "warning", "critical")
FINDING_STATUSES = ("open", "acknowledged", "investigating", "resolved", "dismissed", "withdrawn")


class Finding(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("scope", "code", "episode_key", name="uq_finding_episode"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, index=True)
    severity: str = Field(max_length=10, index=True)
    scope: str = Field(max_length=60)
    """The manifest number, or ``site:{id}`` for receiver-level findings."""
    episode_key: str = Field(max_length=120)
    manifest_no: str | None = Field(default=None, max_length=40, index=True)
    site_id: int | None = Field(default=None, foreign_key="site.id")
    region_code: str = Field(max_length=6, index=True)
    plate: str | None = Field(default=None, max_length=16)
    window_start: datetime = Field(sa_type=UTCDateTime)
    window_end: datetime = Field(sa_type=UTCDateTime)
    location: dict | None = Field(default=None, sa_column=Column(JSONDocument, nullable=True))
    evidence: dict = Field(default_factory=dict, sa_column=Column(JSONDocument, nullable=False))
    verified: bool = False
    status: str = Field(default="open", max_length=16, index=True)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FindingEvent(SQLModel, table=True):
    __tablename__ = "finding_event"

    id: int | None = Field(default=None, primary_key=True)
    finding_id: int = Field(foreign_key="finding.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=80)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    note: str = Field(default="", max_length=4000)
