"""The ledger's hash commits to its content through a digest (``content_sha256`` of the manifest
number and body), so a regulator's export can withhold other regions' entries and still verify
offline (api.md; issue 12 item 9).

Revision ID: ledger_content_digest
Revises: zone_region
Create Date: 2026-11-30

The chain is hashed again, in order, under the new rule (the append-only trigger on PostgreSQL is
lifted for that one pass and restored). The hash rules are frozen here rather than imported, so the
migration means the same whatever ``wasteflow.ledger_verify`` later becomes. A head pinned before
this migration is replaced by the one it records; downgrading hashes the chain back.
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "ledger_content_digest"
down_revision = "zone_region"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _sha(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _hash_v2(entry: dict) -> str:
    frame = {k: entry[k] for k in ("seq", "prev_hash", "at", "recorded_at", "kind")}
    return _sha({**frame, "content_sha256": _sha({"manifest_no": entry["manifest_no"], "body": entry["body"]})})


def _hash_v1(entry: dict) -> str:
    return _sha({k: entry[k] for k in ("seq", "prev_hash", "at", "recorded_at", "kind", "manifest_no", "body")})


def _rehash(rule) -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only")
    prev = GENESIS
    rows = conn.execute(sa.text("SELECT seq, at, recorded_at, kind, manifest_no, body FROM ledger_entry "
                                "ORDER BY seq")).all()
    for row in rows:
        entry = {"seq": row.seq, "prev_hash": prev, "at": _utc(row.at), "recorded_at": _utc(row.recorded_at),
                 "kind": row.kind, "manifest_no": row.manifest_no, "body": json.loads(row.body)}
        digest = rule(entry)
        conn.execute(sa.text("UPDATE ledger_entry SET prev_hash = :p, hash = :h WHERE seq = :s"),
                     {"p": prev, "h": digest, "s": row.seq})
        prev = digest
    if rows:
        conn.execute(sa.text("UPDATE ledger_head SET hash = :h WHERE id = 1"), {"h": prev})
    if postgres:
        op.execute("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_append_only")


def _utc(value) -> str:
    """As ``wasteflow.ledger.service.rfc3339`` writes it: UTC, microseconds, ``Z``."""
    from datetime import UTC, datetime
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def upgrade() -> None:
    _rehash(_hash_v2)


def downgrade() -> None:
    _rehash(_hash_v1)
