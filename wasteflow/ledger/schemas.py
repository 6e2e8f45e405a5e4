"""Response shapes of the ledger (api.md: verify, export, a manifest's history)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel


class LedgerIntact(BaseModel):
    ok: Literal[True]
    entries: int
    head_hash: str | None = Field(description="the chain's last hash: pin it, to prove later that it still ends there")


class LedgerBroken(BaseModel):
    ok: Literal[False]
    entries: int
    broken_at: int = Field(description="the first entry that fails")
    reason: str


class LedgerVerification(RootModel[LedgerIntact | LedgerBroken]):
    """``GET /v1/ledger/verify``: intact (with its head), or where and why the chain breaks."""


class LedgerEntryPublic(BaseModel):
    """One entry exactly as exported (``wasteflow.ledger_verify`` checks it offline)."""

    seq: int
    prev_hash: str
    hash: str
    at: str = Field(description="event time, RFC 3339 UTC")
    recorded_at: str
    kind: str = Field(examples=["manifest.received"])
    manifest_no: str | None
    body: dict[str, Any]


class ManifestLedger(BaseModel):
    manifest_no: str
    entries: list[LedgerEntryPublic]
