"""PostgreSQL telemetry partitions: monthly ranges created ahead, old ones dropped by the retention policy.

Each telemetry table (``gps_fix``, ``load_reading``) is partitioned by event time ``ts``
into ``{table}_yYYYYmMM`` partitions of one calendar month (UTC), plus ``{table}_default``
for anything no monthly partition covers. ``wasteflow maintain`` creates the coming months'
partitions (before data arrives: a range cannot be carved out of the default partition
once it holds rows for it) and, when a retention is set, drops months wholly older than it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine

TELEMETRY_TABLES = ("gps_fix", "load_reading")
PARTITION_NAME = re.compile(r"^(?P<table>\w+)_y(?P<year>\d{4})m(?P<month>\d{2})$")


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_y{month.year:04d}m{month.month:02d}"


def months_to_create(today: date, ahead: int) -> list[date]:
    """This month and ``ahead`` more."""
    first = month_start(today)
    return [add_months(first, i) for i in range(ahead + 1)]


def expired(partitions: list[str], today: date, retention_days: int) -> list[str]:
    """Monthly partitions whose whole month ended before the retention horizon."""
    if retention_days <= 0:
        return []
    horizon = today - timedelta(days=retention_days)
    old = []
    for name in partitions:
        match = PARTITION_NAME.match(name)
        if match and add_months(date(int(match["year"]), int(match["month"]), 1), 1) <= horizon:
            old.append(name)
    return old


@dataclass
class MaintenanceReport:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def maintain(engine: Engine, months_ahead: int = 3, retention_days: int = 0,
             today: date | None = None) -> MaintenanceReport:
    report = MaintenanceReport()
    if engine.dialect.name != "postgresql":
        return report
    today = today or datetime.now(UTC).date()
    with engine.begin() as conn:
        for table in TELEMETRY_TABLES:
            existing = set(_partitions(conn, table))
            for month in months_to_create(today, months_ahead):
                name = partition_name(table, month)
                if name not in existing:
                    conn.execute(text(
                        f"CREATE TABLE {name} PARTITION OF {table} "
                        f"FOR VALUES FROM ('{month.isoformat()}T00:00:00Z') "
                        f"TO ('{add_months(month, 1).isoformat()}T00:00:00Z')"))
                    report.created.append(name)
            for name in expired(sorted(existing), today, retention_days):
                conn.execute(text(f"ALTER TABLE {table} DETACH PARTITION {name}"))
                conn.execute(text(f"DROP TABLE {name}"))
                report.dropped.append(name)
    return report


def _partitions(conn, table: str) -> list[str]:
    rows = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :table"), {"table": table})
    return [r[0] for r in rows]


def partitions(engine: Engine, table: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(_partitions(conn, table))
