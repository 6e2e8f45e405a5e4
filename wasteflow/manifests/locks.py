"""Reading a manifest to change it: locked, so the state a change depends on cannot move under it.

Every transition (a signature through the API), the overdue watchdog and live detection read a
manifest through here before they write on the strength of its state. They thereby serialise on
the manifest: a receipt and the watchdog's OVERDUE, a receipt and a live finding, a dispatch and
the receipt of the vehicle's earlier manifest never interleave (issue 17). On PostgreSQL the row is
locked (``FOR UPDATE``); on SQLite the transaction holds the database's write lock
(:func:`wasteflow.database.lock_for_writing`).

Lock manifests before anything else the transaction writes (the ledger's head in particular), and
several at once in one statement: a transaction holding the ledger's head while it waits for a
manifest a receipt holds would deadlock with that receipt.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from wasteflow.database import lock_for_writing
from wasteflow.manifests.models import Manifest


def locked(session: Session, *where: Any) -> list[Manifest]:
    """The manifests matching ``where``, locked, in id order, as committed now (never a stale copy
    the session already held)."""
    lock_for_writing(session)
    query = (select(Manifest).where(*where).order_by(col(Manifest.id)).with_for_update()
             .execution_options(populate_existing=True))
    return list(session.exec(query).all())


def locked_one(session: Session, *where: Any) -> Manifest | None:
    rows = locked(session, *where)
    return rows[0] if rows else None
