"""Scratch databases for tests: a fresh PostgreSQL database, or an empty migrated one of either kind.

PostgreSQL comes from WASTEFLOW_TEST_POSTGRES (default: the machine's server at 127.0.0.1:5432);
unreachable, its tests are skipped — except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import text

from wasteflow.database import get_engine

POSTGRES_ADMIN = os.environ.get("WASTEFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
KEEP_TABLES = {"alembic_version", "waste_category", "ledger_head"}


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for the block (its SQLAlchemy URL), dropped afterwards.
    Unreachable PostgreSQL skips the test — and fails it in CI."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is unreachable in CI ({POSTGRES_ADMIN}): {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def empty_database(db_kind: str, request, directory) -> str:
    """A migrated, empty database: a copy of the SQLite template in ``directory``, or the
    session's PostgreSQL database wiped clean. For fixtures of any scope."""
    if db_kind == "sqlite":
        path = directory / "wasteflow.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate(url)
    return url


def _truncate(url: str) -> None:
    engine = get_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))]
        wipe = [t for t in tables if t not in KEEP_TABLES]
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in wipe) + " RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE ledger_head SET seq = 0, hash = :h WHERE id = 1"), {"h": "0" * 64})


@contextmanager
def refuse_seq(engine, seq: int) -> Iterator[None]:
    """A limit of the database the parser does not know: fixes with this ``seq`` are refused
    while the block runs (PostgreSQL's session database outlives the test, so it is undone)."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TRIGGER poison BEFORE INSERT ON gps_fix WHEN NEW.seq = {seq} "
                          "BEGIN SELECT RAISE(ABORT, 'seq refused'); END") if sqlite else
                     text(f"ALTER TABLE gps_fix ADD CONSTRAINT poison CHECK (seq <> {seq})"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER poison") if sqlite else
                         text("ALTER TABLE gps_fix DROP CONSTRAINT poison"))
