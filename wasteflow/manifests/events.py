"""The one place a manifest's state changes and signatures are recorded: its ledger entry and,
in the same transaction, the webhook event announcing it.

Signatures (:mod:`.service`, :mod:`.legs`), the phase changes the vehicle's positions cause and
reconciliation (``wasteflow.monitoring``) and applied revisions all record through here, so a
webhook subscriber hears of exactly what the ledger holds, and of nothing a rollback undid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from wasteflow.ledger import service as ledger
from wasteflow.ledger.models import LedgerEntry
from wasteflow.webhooks import outbox


def record(session: Session, manifest_no: str, event: str, at: datetime, body: dict[str, Any]) -> LedgerEntry:
    """Ledger ``manifest.{event}`` at event time ``at``; announce it if webhooks know the action."""
    entry = ledger.append(session, f"manifest.{event}", at, manifest_no=manifest_no, body=body)
    if f"manifest.{event}" in outbox.MANIFEST_ACTIONS:
        outbox.emit(session, f"manifest.{event}", manifest_no, at, manifest_no=manifest_no)
    return entry
