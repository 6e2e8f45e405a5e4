"""Engine, sessions and the column types both databases share.

SQLite is the demo's default and PostgreSQL production's; everything above this
module is written once for both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, Select, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from wasteflow.config import get_settings


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL.

    SQLite keeps no offset, so values are normalised to UTC before they are stored
    and marked UTC when they are read back.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every stored time must carry its offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL."""

Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])
"""A select being narrowed (``visible(query, principal)``, a filter): the same kind of select comes out."""

OptionalJSONDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""The same, where Python's None is SQL NULL (not JSON ``null``), so ``IS NULL`` finds it."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@lru_cache
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine(url: str | None = None) -> Engine:
    return _engine_for(url or get_settings().database_url)


def lock_for_writing(session: Session) -> None:
    """Hold the database's write lock from now on, before reading what a coming write depends on.

    A state change (a manifest's transition, the watchdog's OVERDUE, live detection's findings)
    reads a state and writes on the strength of it; another transaction committing in between
    must not make that read stale. PostgreSQL locks the row read (``SELECT ... FOR UPDATE``), so
    nothing is needed here. SQLite has one write lock for the whole database, taken by default
    only at a transaction's first write, and runs reads before it outside any transaction: so
    the transaction begins with ``BEGIN IMMEDIATE`` instead, taking the lock (waiting up to the
    busy timeout) before the read. After the transaction's first write it already holds the lock.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.driver_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
