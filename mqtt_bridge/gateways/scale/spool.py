"""The scale gateway's spool: weighings, plates and tickets not yet acknowledged, in one SQLite file.

The only state a gateway keeps across a restart (devices.md). Every change is one SQLite
transaction (WAL, ``synchronous=FULL``), so a gateway killed at any instant finds either the
state before a weighing or the state after it, never half of it: a ticket is numbered, signed
and stored in the same transaction that pairs its weighings, and what is published is exactly
the stored bytes. A restart therefore resends a pending ticket with the same number, ``seq`` and
``ts`` (the bridge stores it once), and never numbers a pair twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mqtt_bridge.gateways.scale.tickets import (
    PAIR_WITHIN,
    PLATE_EXPIRES,
    Weighing,
    signed_bytes,
    ticket_day,
    ticket_payload,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS weighing (id INTEGER PRIMARY KEY AUTOINCREMENT, kg INTEGER NOT NULL, at TEXT NOT NULL,
    plate TEXT, manifest_no TEXT, ticket_no TEXT);
CREATE TABLE IF NOT EXISTS plate_call (id INTEGER PRIMARY KEY AUTOINCREMENT, plate TEXT NOT NULL,
    manifest_no TEXT, posted_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS day_counter (day TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ticket (ticket_no TEXT PRIMARY KEY, n INTEGER NOT NULL, payload BLOB NOT NULL,
    made_at TEXT NOT NULL, acked_at TEXT);
CREATE INDEX IF NOT EXISTS weighing_plate ON weighing (plate, ticket_no);
"""


class SpoolError(ValueError):
    """A plate call the spool cannot apply: ``unknown_weighing``, ``already_assigned``."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class PendingTicket:
    ticket_no: str
    payload: bytes


def _text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Spool:
    def __init__(self, path: Path | str, device_id: str, secret: str):
        self.device_id = device_id
        self.secret = secret
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- the platform's latch ---------------------------------------------------------------

    @property
    def latched(self) -> bool:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'latched'").fetchone()
        return bool(row and row[0] == "1")

    def set_latched(self, latched: bool) -> None:
        if latched != self.latched:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('latched', ?)", ("1" if latched else "0",))

    # --- plates and weighings ---------------------------------------------------------------

    def post_plate(self, plate: str, manifest_no: str | None, now: datetime) -> None:
        """The plate of the truck driving on: it applies to the next weighing (the newest call wins)."""
        with self._transaction() as db:
            db.execute("DELETE FROM plate_call")
            db.execute("INSERT INTO plate_call (plate, manifest_no, posted_at) VALUES (?, ?, ?)",
                       (plate, manifest_no, _text(now)))

    def record_weighing(self, kg: int, at: datetime) -> tuple[Weighing, str | None]:
        """Store a weighing with the waiting plate (if not expired), latch the platform, and pair it.

        Returns the weighing and the number of the ticket it completed, if any.
        """
        at = at.replace(microsecond=0)
        with self._transaction() as db:
            call = db.execute("SELECT plate, manifest_no FROM plate_call WHERE posted_at >= ? ORDER BY id DESC",
                              (_text(at - PLATE_EXPIRES),)).fetchone()
            db.execute("DELETE FROM plate_call")
            plate, manifest_no = call if call else (None, None)
            cursor = db.execute("INSERT INTO weighing (kg, at, plate, manifest_no) VALUES (?, ?, ?, ?)",
                                (kg, _text(at), plate, manifest_no))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('latched', '1')")
            weighing = Weighing(int(cursor.lastrowid or 0), kg, at, plate, manifest_no)
            return weighing, self._pair(db, weighing)

    def assign(self, weighing_id: int, plate: str, manifest_no: str | None) -> str | None:
        """A plate posted for a weighing made without one; returns the ticket it completed, if any."""
        with self._transaction() as db:
            row = db.execute("SELECT kg, at, plate FROM weighing WHERE id = ?", (weighing_id,)).fetchone()
            if row is None:
                raise SpoolError("unknown_weighing", f"no weighing {weighing_id} in this gateway's spool")
            if row[2] is not None:
                raise SpoolError("already_assigned", f"weighing {weighing_id} already has plate {row[2]}")
            db.execute("UPDATE weighing SET plate = ?, manifest_no = ? WHERE id = ?", (plate, manifest_no, weighing_id))
            return self._pair(db, Weighing(weighing_id, row[0], _time(row[1]), plate, manifest_no))

    def _pair(self, db: sqlite3.Connection, weighing: Weighing) -> str | None:
        """Pair with the closest earlier-or-later unpaired weighing of the plate within 12 h: number,
        sign and store the ticket, mark both weighings."""
        if weighing.plate is None:
            return None
        rows = db.execute("SELECT id, kg, at, plate, manifest_no FROM weighing WHERE plate = ? AND ticket_no IS NULL "
                          "AND id != ? AND at BETWEEN ? AND ? ORDER BY id DESC",
                          (weighing.plate, weighing.id, _text(weighing.at - PAIR_WITHIN),
                           _text(weighing.at + PAIR_WITHIN))).fetchall()
        if not rows:
            return None
        other = Weighing(rows[0][0], rows[0][1], _time(rows[0][2]), rows[0][3], rows[0][4])
        first, second = sorted((other, weighing), key=lambda w: (w.at, w.id))
        day = ticket_day(first, second).isoformat()
        db.execute("INSERT INTO day_counter VALUES (?, 1) ON CONFLICT (day) DO UPDATE SET n = n + 1", (day,))
        n = db.execute("SELECT n FROM day_counter WHERE day = ?", (day,)).fetchone()[0]
        payload = ticket_payload(self.device_id, n, first, second)
        db.execute("INSERT INTO ticket (ticket_no, n, payload, made_at) VALUES (?, ?, ?, ?)",
                   (payload["ticket_no"], n, signed_bytes(self.device_id, self.secret, payload),
                    _text(datetime.now(UTC))))
        db.execute("UPDATE weighing SET ticket_no = ? WHERE id IN (?, ?)", (payload["ticket_no"], first.id, second.id))
        return payload["ticket_no"]

    # --- what to publish ---------------------------------------------------------------------

    def pending(self) -> list[PendingTicket]:
        rows = self.db.execute("SELECT ticket_no, payload FROM ticket WHERE acked_at IS NULL ORDER BY made_at, n")
        return [PendingTicket(no, bytes(payload)) for no, payload in rows]

    def acknowledged(self, ticket_no: str, now: datetime | None = None) -> None:
        self.db.execute("UPDATE ticket SET acked_at = ? WHERE ticket_no = ? AND acked_at IS NULL",
                        (_text(now or datetime.now(UTC)), ticket_no))

    def weighings(self, only_unassigned: bool = False, last: int = 100) -> list[Weighing]:
        """The latest weighings (those still without a plate, when asked), oldest first."""
        where = "WHERE plate IS NULL" if only_unassigned else ""
        rows = self.db.execute(f"SELECT id, kg, at, plate, manifest_no FROM weighing {where} ORDER BY id DESC LIMIT ?",
                               (last,)).fetchall()
        return [Weighing(id_, kg, _time(at), plate, no) for id_, kg, at, plate, no in reversed(rows)]

    def unassigned(self) -> list[Weighing]:
        return self.weighings(only_unassigned=True, last=1000)

    def tickets(self) -> list[tuple[str, bytes, bool]]:
        """Every ticket made (number, signed bytes, acknowledged), in the order made."""
        rows = self.db.execute("SELECT ticket_no, payload, acked_at FROM ticket ORDER BY made_at, n").fetchall()
        return [(no, bytes(payload), acked is not None) for no, payload, acked in rows]
