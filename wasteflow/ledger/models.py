"""The append-only, hash-chained ledger."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from wasteflow.database import UTCDateTime


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime)
    """Event time: when it happened (a signature's ``at``)."""
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=40)
    manifest_no: str | None = Field(default=None, max_length=40, index=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    """Canonical JSON, kept as the exact text that was hashed."""


class LedgerHead(SQLModel, table=True):
    """One row: the chain's last sequence number and hash.

    Appending starts by updating this row, which takes the write lock first on both
    databases, so concurrent appends queue instead of forking the chain.
    """

    __tablename__ = "ledger_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    hash: str = Field(default="0" * 64, max_length=64)
