"""Durable storage of parsed telemetry, one transaction per batch.

PostgreSQL takes fixes and load readings through ``COPY`` into a session-local staging
table, then one ``INSERT ... ON CONFLICT DO NOTHING``: the database's own primary key
(device, ts, seq) recognises repeats, so a restart forgets nothing. SQLite takes the same
rows through ``INSERT OR IGNORE`` in one ``executemany``. Tickets, statuses and quarantine
ride in the same transaction, so a batch is stored whole or not at all.

A batch the database refuses for its data (a value a column cannot hold, a constraint) is
split in halves until the message at fault stands alone; that one is quarantined as
``not_storable`` and the rest are stored, so one bad message cannot stall the stream.
Connection failures are not split: they propagate, and the worker retries the whole batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg.types.json import JsonbDumper
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from mqtt_bridge.parsing import Accepted, GpsRecord, LoadRecord, Rejected, StatusRecord, TicketRecord
from wasteflow.database import utcnow
from wasteflow.quarantine.models import QuarantinedMessage
from wasteflow.registry.models import Device
from wasteflow.tickets.models import WeighTicket
from wasteflow.tracks.models import GpsFix, LoadReading

log = logging.getLogger("wasteflow.bridge")

DATA_ERRORS = (psycopg.DataError, psycopg.IntegrityError, sa_exc.DataError, sa_exc.IntegrityError)
"""What the database says about a message's data, not about its own health: worth isolating."""

GPS_COLUMNS = ("device_id", "ts", "seq", "lat", "lon", "speed_kmh", "heading", "hdop", "verified", "received_at",
               "via", "attrs")
LOAD_COLUMNS = ("device_id", "ts", "seq", "load_kg", "verified", "received_at", "via")


@dataclass
class StoredBatch:
    """What one committed batch contained: the live detector's and the metrics' input."""

    gps_devices: set[str] = field(default_factory=set)
    load_devices: set[str] = field(default_factory=set)
    spans: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    """Per device, the earliest and latest event time of the readings in the batch."""
    fixes: int = 0
    fixes_new: int = 0
    loads: int = 0
    loads_new: int = 0
    tickets: int = 0
    statuses: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    manifests_touched: set[str] = field(default_factory=set)

    def merge(self, other: StoredBatch) -> StoredBatch:
        """Fold in another part of the same batch (the halves of a split)."""
        self.gps_devices |= other.gps_devices
        self.load_devices |= other.load_devices
        self.manifests_touched |= other.manifests_touched
        for device, (low, high) in other.spans.items():
            mine = self.spans.get(device, (low, high))
            self.spans[device] = (min(mine[0], low), max(mine[1], high))
        for name in ("fixes", "fixes_new", "loads", "loads_new", "tickets", "statuses"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, n in other.quarantined.items():
            self.quarantined[reason] = self.quarantined.get(reason, 0) + n
        return self


class TelemetryStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"

    def write(self, results: Sequence[Accepted | Rejected]) -> StoredBatch:
        """Store a batch of parse results; raises if the database fails (not for a bad message).

        One transaction when the database takes the batch; when it refuses it for a message's
        data, the batch is bisected and the message at fault quarantined (``not_storable``).
        """
        try:
            return self._write_once(results)
        except DATA_ERRORS as error:
            if len(results) == 1:
                log.warning("the database refused a message from %s (%s): quarantined as not_storable",
                            results[0].device_id, type(error).__name__)
                return self._write_once([not_storable(results[0], error)])
            middle = len(results) // 2
            return self.write(results[:middle]).merge(self.write(results[middle:]))

    def _write_once(self, results: Sequence[Accepted | Rejected]) -> StoredBatch:
        """Store a batch of parse results in one transaction."""
        now = utcnow()
        gps, loads, tickets, statuses, rejected = _split(results)
        stored = StoredBatch(fixes=len(gps), loads=len(loads), tickets=len(tickets), statuses=len(statuses))
        with self.engine.begin() as conn:
            stored.fixes_new = self._insert_readings(conn, GpsFix.__table__, GPS_COLUMNS,
                                                     [_gps_row(r, now) for r in gps])
            stored.loads_new = self._insert_readings(conn, LoadReading.__table__, LOAD_COLUMNS,
                                                     [_load_row(r, now) for r in loads])
            _upsert_statuses(conn, statuses, now)
            _quarantine(conn, rejected, now)
            if tickets:
                stored.manifests_touched = _store_tickets(conn, tickets, now)
        stored.gps_devices = {r.device_id for r in gps}
        stored.load_devices = {r.device_id for r in loads}
        stored.spans = _spans(gps, loads)
        for r in rejected:
            stored.quarantined[r.reason] = stored.quarantined.get(r.reason, 0) + 1
        return stored

    def _insert_readings(self, conn: Connection, table, columns: tuple[str, ...], rows: list[tuple]) -> int:
        if not rows:
            return 0
        if self.is_postgres:
            return _copy_insert(conn, table.name, columns, rows)
        result = conn.execute(insert(table).prefix_with("OR IGNORE"),
                              [dict(zip(columns, row, strict=False)) for row in rows])
        return max(result.rowcount, 0)


def not_storable(result: Accepted | Rejected, error: Exception) -> Rejected:
    """The quarantine row for a message the database refused: its raw bytes and the database's word.

    Text is stripped of NUL (PostgreSQL cannot store it), so this row itself stores.
    """
    reason = getattr(error, "orig", None) or error
    detail = f"the database refused it: {type(reason).__name__}: {reason}"
    return Rejected(_storable_text(result.topic), bytes(result.payload), "not_storable",
                    _storable_text(detail)[:1000], result.device_id and _storable_text(result.device_id))


def _storable_text(value: str) -> str:
    return value.replace("\x00", "\\x00")


def _split(results: Sequence[Accepted | Rejected]):
    gps: list[GpsRecord] = []
    loads: list[LoadRecord] = []
    tickets: list[TicketRecord] = []
    statuses: list[StatusRecord] = []
    rejected: list[Rejected] = []
    for result in results:
        if isinstance(result, Rejected):
            rejected.append(result)
            continue
        bucket = {"gps": gps, "load": loads, "weigh": tickets, "status": statuses}[result.kind]
        bucket.extend(result.records)
    return gps, loads, tickets, statuses, rejected


def _spans(*groups) -> dict[str, tuple[datetime, datetime]]:
    spans: dict[str, tuple[datetime, datetime]] = {}
    for group in groups:
        for r in group:
            low, high = spans.get(r.device_id, (r.ts, r.ts))
            spans[r.device_id] = (min(low, r.ts), max(high, r.ts))
    return spans


def _gps_row(r: GpsRecord, now: datetime) -> tuple:
    return (r.device_id, r.ts, r.seq, r.lat, r.lon, r.speed_kmh, r.heading, r.hdop, r.verified, now, r.via, r.attrs)


def _load_row(r: LoadRecord, now: datetime) -> tuple:
    return (r.device_id, r.ts, r.seq, r.load_kg, r.verified, now, r.via)


def _copy_insert(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> int:
    """COPY into a temporary staging table, then move the rows the table does not have yet."""
    staging = f"{table}_staging"
    cols = ", ".join(columns)
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
                         f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    cursor = conn.connection.driver_connection.cursor()
    cursor.adapters.register_dumper(dict, JsonbDumper)  # a fix's attrs
    with cursor.copy(f"COPY {staging} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    result = conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staging} "
                                  f"ON CONFLICT DO NOTHING")
    return max(result.rowcount, 0)


def _upsert_statuses(conn: Connection, statuses: list[StatusRecord], now: datetime) -> None:
    for status in statuses:
        conn.execute(text("INSERT INTO device_status (device_id, online, updated_at) VALUES (:d, :o, :t) "
                          "ON CONFLICT (device_id) DO UPDATE "
                          "SET online = excluded.online, updated_at = excluded.updated_at"),
                     {"d": status.device_id, "o": status.online, "t": _bind_time(conn, now)})


def _bind_time(conn: Connection, value: datetime):
    """Raw SQL bypasses the column type: store times the way :class:`UTCDateTime` does."""
    return value.replace(tzinfo=None) if conn.dialect.name == "sqlite" else value


def _quarantine(conn: Connection, rejected: list[Rejected], now: datetime) -> None:
    if rejected:
        conn.execute(insert(QuarantinedMessage.__table__), [
            {"topic": r.topic[:300], "payload": bytes(r.payload), "received_at": now, "reason": r.reason,
             "detail": r.detail[:1000], "device_id": (r.device_id or None) and r.device_id[:80]} for r in rejected])


def _store_tickets(conn: Connection, tickets: list[TicketRecord], now: datetime) -> set[str]:
    """Insert new tickets and link each to its manifest, raising what the link reveals."""
    from wasteflow.tickets.service import link_incoming

    touched: set[str] = set()
    with Session(bind=conn, expire_on_commit=False) as session:
        for record in tickets:
            site_id = session.get(Device, record.device_id).site_id
            table = WeighTicket.__table__
            statement = (insert(table).prefix_with("OR IGNORE") if conn.dialect.name == "sqlite"
                         else _pg_insert_ignore(table)).returning(table.c.id)
            # RETURNING yields the new id, or no row for a repeat. (rowcount cannot tell: with
            # RETURNING, psycopg reports -1 on PostgreSQL, and no ticket would ever link.)
            ticket_id = conn.execute(statement, _ticket_row(record, site_id, now)).scalar_one_or_none()
            if ticket_id is None:
                continue  # a repeat of a ticket already stored
            ticket = session.get(WeighTicket, ticket_id)
            if ticket is None:
                continue
            manifest = link_incoming(session, ticket)
            if manifest is not None:
                touched.add(manifest.manifest_no)
        session.flush()
    return touched


def _pg_insert_ignore(table):
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    return pg_insert(table).on_conflict_do_nothing()


def _ticket_row(r: TicketRecord, site_id: int, now: datetime) -> dict:
    return {"device_id": r.device_id, "seq": r.seq, "ts": r.ts, "site_id": site_id, "ticket_no": r.ticket_no,
            "plate": r.plate, "gross_kg": r.gross_kg, "tare_kg": r.tare_kg, "net_kg": r.net_kg,
            "gross_at": r.gross_at, "tare_at": r.tare_at, "claimed_manifest_no": r.manifest_no,
            "verified": r.verified, "received_at": now, "via": r.via}
