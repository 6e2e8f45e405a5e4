"""Migration 0008 hashes an existing chain again under the content-digest rule (issue 12 item 9):
a chain written before it verifies after it, and a downgrade and upgrade give the same hashes."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from tests.utils.databases import scratch_postgres
from wasteflow.database import get_engine, session_scope, utcnow
from wasteflow.ledger import service as ledger
from wasteflow.ledger_verify import verify_entries
from wasteflow.migrate import alembic_config, upgrade


def _chain(url: str) -> list[dict]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, prev_hash, hash, at, recorded_at, kind, manifest_no, body "
                                     "FROM ledger_entry ORDER BY seq")).all()
            head = conn.execute(text("SELECT hash FROM ledger_head WHERE id = 1")).scalar_one()
    finally:
        engine.dispose()
    assert rows and rows[-1].hash == head
    return [{"seq": r.seq, "hash": r.hash, "prev_hash": r.prev_hash} for r in rows]


def _round_trip(url: str) -> None:
    upgrade(url)
    with session_scope(get_engine(url)) as session:
        for number in range(3):
            ledger.append(session, "manifest.filed", utcnow(), {"n": number, "plate": "蒙B12345"},
                          manifest_no=f"WF-150202-20261130-{number:06d}")
    before = _chain(url)
    config = alembic_config(url)
    command.downgrade(config, "zone_region")
    under_old_rule = _chain(url)
    assert [e["hash"] for e in under_old_rule] != [e["hash"] for e in before]
    command.upgrade(config, "head")
    assert _chain(url) == before
    with session_scope(get_engine(url)) as session:
        entries = list(ledger.iter_entries(session))
    assert verify_entries(entries)[0] is True
    assert entries[0]["manifest_no"] == "WF-150202-20261130-000000" and len(entries) == 3


def test_rehash_round_trip_sqlite(tmp_path):
    _round_trip(f"sqlite:///{tmp_path / 'ledger.db'}")


def test_rehash_round_trip_postgresql():
    with scratch_postgres("wasteflow_ledger_digest") as url:
        _round_trip(url)
