"""Appending to the ledger, verifying it and exporting it.

The hashing rules live in :mod:`wasteflow.ledger_verify`, the stand-alone verifier,
so the server and a regulator's offline check can never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, select

from wasteflow.database import utcnow
from wasteflow.ledger.models import LedgerEntry, LedgerHead
from wasteflow.ledger_verify import canonical_json, entry_hash, verify_entries, withheld


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def append(session: Session, kind: str, at: datetime, body: dict[str, Any],
           manifest_no: str | None = None) -> LedgerEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with it)."""
    seq, prev_hash = _claim_next_seq(session)
    exported = {
        "seq": seq, "prev_hash": prev_hash, "at": rfc3339(at), "recorded_at": rfc3339(utcnow()),
        "kind": kind, "manifest_no": manifest_no, "body": json.loads(canonical_json(body)),
    }
    digest = entry_hash(exported)
    entry = LedgerEntry(seq=seq, prev_hash=prev_hash, hash=digest, at=_parse(exported["at"]),
                        recorded_at=_parse(exported["recorded_at"]), kind=kind,
                        manifest_no=manifest_no, body=canonical_json(exported["body"]))
    session.add(entry)
    session.execute(text("UPDATE ledger_head SET hash = :hash WHERE id = 1"), {"hash": digest})
    return entry


def _claim_next_seq(session: Session) -> tuple[int, str]:
    """Take the chain's write lock by updating its head row first, then read it."""
    row = session.execute(
        text("UPDATE ledger_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
    ).one_or_none()
    if row is None:
        session.execute(text("INSERT INTO ledger_head (id, seq, hash) VALUES (1, 1, :h)"),
                        {"h": "0" * 64})
        return 1, "0" * 64
    return int(row.seq), row.hash


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def exported_entry(entry: LedgerEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "prev_hash": entry.prev_hash, "hash": entry.hash,
            "at": rfc3339(entry.at), "recorded_at": rfc3339(entry.recorded_at),
            "kind": entry.kind, "manifest_no": entry.manifest_no, "body": json.loads(entry.body)}


def iter_entries(session: Session, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """The chain in order, read in pages so a long ledger never sits in memory."""
    after = 0
    while True:
        rows = session.exec(select(LedgerEntry).where(LedgerEntry.seq > after)
                            .order_by(LedgerEntry.seq).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield exported_entry(row)
        after = rows[-1].seq


def iter_entries_for(session: Session, readable: Callable[[set[str]], set[str]] | None,
                     batch: int = 2000) -> Iterator[dict[str, Any]]:
    """The chain as one reader may export it: entries whose manifest ``readable`` does not return
    (another region's; or none at all) carry ``content_sha256`` in place of ``manifest_no`` and
    ``body``, so the export still verifies offline. ``readable`` None: everything is readable."""
    pending: list[dict[str, Any]] = []
    for entry in iter_entries(session, batch):
        pending.append(entry)
        if len(pending) >= batch:
            yield from _redacted(pending, readable)
            pending = []
    yield from _redacted(pending, readable)


def _redacted(entries: list[dict[str, Any]], readable: Callable[[set[str]], set[str]] | None) -> list[dict[str, Any]]:
    if readable is None:
        return entries
    seen = readable({e["manifest_no"] for e in entries if e["manifest_no"]})
    return [e if e["manifest_no"] in seen else withheld(e) for e in entries]


def verify(session: Session) -> dict[str, Any]:
    """Walk the chain, then hold its end against the head: a truncated tail breaks it too.

    The head (last sequence number and hash) is published in the answer, so a regulator
    can pin it and later prove that an export or the live chain still ends there.
    """
    head = session.exec(select(LedgerHead).where(LedgerHead.id == 1)).first()
    ok, count, broken_at, reason = verify_entries(iter_entries(session))
    if ok and head is not None and head.seq != count:
        ok, broken_at = False, count + 1
        reason = f"the chain ends at entry {count} but {head.seq} were recorded: entries were removed from its end"
    if ok:
        return {"ok": True, "entries": count, "head_hash": head.hash if head else None}
    total = session.exec(select(func.count()).select_from(LedgerEntry)).one()
    return {"ok": False, "entries": total, "broken_at": broken_at, "reason": reason}


def history(session: Session, manifest_no: str) -> list[dict[str, Any]]:
    rows = session.exec(select(LedgerEntry).where(LedgerEntry.manifest_no == manifest_no)
                        .order_by(LedgerEntry.seq)).all()
    return [exported_entry(r) for r in rows]
