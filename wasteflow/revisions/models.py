"""Corrections as revisions: a change to a signed manifest that every other party approves."""

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from wasteflow.database import JSONDocument, UTCDateTime, utcnow

STATUSES = ("pending", "applied", "refused")


class Revision(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    manifest_id: int = Field(foreign_key="manifest.id", index=True)
    manifest_no: str = Field(max_length=40, index=True)
    base_version: int
    """The manifest's version the change was proposed against."""
    changes: dict = Field(sa_column=Column(JSONDocument, nullable=False))
    previous: dict = Field(sa_column=Column(JSONDocument, nullable=False))
    """The proposed fields' values when it was proposed (kept: the old values are shown)."""
    reason: str = Field(max_length=1000)
    proposed_by: int = Field(foreign_key="enterprise.id")
    status: str = Field(default="pending", max_length=10, index=True)
    proposed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    applied_version: int | None = None


class RevisionApproval(SQLModel, table=True):
    """One party's say on a revision: ``pending`` until it approves or refuses."""

    __tablename__ = "revision_approval"
    __table_args__ = (UniqueConstraint("revision_id", "enterprise_id"),)

    id: int | None = Field(default=None, primary_key=True)
    revision_id: int = Field(foreign_key="revision.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    roles: str = Field(max_length=80)
    """The party's roles on the manifest, comma-separated (``receiver``, ``transporter:2``...)."""
    decision: str = Field(default="pending", max_length=10)
    note: str | None = Field(default=None, max_length=1000)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
