"""One message the database refuses cannot stall the bridge (issue 12, item 2).

The parser's limits are the columns' limits (one source: ``wasteflow.columns``), and what the
database still refuses is isolated by bisection: the bad message is quarantined as
``not_storable``, every other message of its batch stored.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import text

from mqtt_bridge.parsing import Accepted, GpsRecord, Rejected
from mqtt_bridge.store import TelemetryStore
from tests.utils.bridge import NOW, gps_fix, parse, signed, topic, weigh_ticket
from tests.utils.databases import refuse_seq
from wasteflow import columns
from wasteflow.database import get_engine
from wasteflow.tickets.models import WeighTicket
from wasteflow.tracks.models import GpsFix, LoadReading

# --- the parser holds what the columns hold ------------------------------------------------------


def _length(table, name: str) -> int:
    return table.__table__.c[name].type.length


@pytest.mark.parametrize("field, column", [("plate", "plate"), ("ticket_no", "ticket_no"),
                                           ("manifest_no", "claimed_manifest_no")])
def test_ticket_text_is_accepted_up_to_its_column_and_refused_beyond(field, column):
    size = _length(WeighTicket, column)
    fits = parse(topic("wb-1", "weigh"), signed("wb-1", weigh_ticket(**{field: "X" * size})))
    assert isinstance(fits, Accepted), fits
    over = parse(topic("wb-1", "weigh"), signed("wb-1", weigh_ticket(**{field: "X" * (size + 1)})))
    assert isinstance(over, Rejected) and over.reason == "bad_value", over
    assert field in over.detail and f"1..{size}" in over.detail


def test_ticket_seq_fits_a_32_bit_column_and_reading_seq_a_64_bit_one():
    assert WeighTicket.__table__.c.seq.type.__class__ is columns.TICKET_SEQ_TYPE
    assert GpsFix.__table__.c.seq.type.__class__ is columns.READING_SEQ_TYPE
    assert isinstance(parse(topic("wb-1", "weigh"), signed("wb-1", weigh_ticket(seq=2**31 - 1))), Accepted)
    over = parse(topic("wb-1", "weigh"), signed("wb-1", weigh_ticket(seq=2**31)))
    assert isinstance(over, Rejected) and over.reason == "bad_value" and "seq" in over.detail
    assert isinstance(parse(topic("gps-1", "gps"), signed("gps-1", gps_fix(seq=2**63 - 1))), Accepted)
    assert parse(topic("gps-1", "gps"), signed("gps-1", gps_fix(seq=2**63))).reason == "bad_value"


def test_via_is_held_to_its_column():
    size = _length(GpsFix, "via")
    assert size == _length(LoadReading, "via") == _length(WeighTicket, "via") == columns.VIA_CHARS
    assert isinstance(parse(topic("gps-1", "gps"), signed("gps-1", gps_fix(via="v" * size))), Accepted)
    assert parse(topic("gps-1", "gps"), signed("gps-1", gps_fix(via="v" * (size + 1)))).reason == "bad_value"


# --- the store isolates what the database refuses ------------------------------------------------


def _fix_message(seq: int) -> Accepted:
    record = GpsRecord("gps-0001", seq, NOW - timedelta(seconds=seq), 40.6, 109.8, None, None, None, False)
    return Accepted("wf/v1/dev/gps-0001/gps", "gps", "gps-0001", (record,), f"fix {seq}".encode())


def test_a_poison_message_is_bisected_out_and_the_rest_stored(client, engine, db_url, monkeypatch):
    from tests.utils.world import build_world

    build_world(client, engine)
    store = TelemetryStore(get_engine(db_url))
    attempts = []
    once = store._write_once
    monkeypatch.setattr(store, "_write_once", lambda results: attempts.append(len(results)) or once(results))
    batch = [_fix_message(seq) for seq in range(1, 41)]

    with refuse_seq(engine, 24):
        stored = store.write(batch)

    assert (stored.fixes, stored.fixes_new, stored.quarantined) == (39, 39, {"not_storable": 1})
    assert attempts[0] == 40 and len(attempts) <= 2 * math.ceil(math.log2(40)) + 2, attempts
    with engine.connect() as conn:
        seqs = {row[0] for row in conn.execute(text("SELECT seq FROM gps_fix"))}
        quarantined = conn.execute(text("SELECT topic, reason, payload, device_id, detail FROM quarantine")).all()
    assert seqs == set(range(1, 41)) - {24}
    assert [(q.topic, q.reason, bytes(q.payload), q.device_id) for q in quarantined] == [
        ("wf/v1/dev/gps-0001/gps", "not_storable", b"fix 24", "gps-0001")]
    assert "the database refused it" in quarantined[0].detail


def test_a_batch_that_stores_whole_is_one_transaction(client, engine, db_url, monkeypatch):
    from tests.utils.world import build_world

    build_world(client, engine)
    store = TelemetryStore(get_engine(db_url))
    attempts = []
    once = store._write_once
    monkeypatch.setattr(store, "_write_once", lambda results: attempts.append(len(results)) or once(results))
    assert store.write([_fix_message(seq) for seq in range(1, 11)]).fixes_new == 10
    assert attempts == [10]


def test_an_unreachable_database_is_not_split_but_raised():
    from sqlalchemy.exc import OperationalError

    store = TelemetryStore(get_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"))
    with pytest.raises(OperationalError):
        store.write([_fix_message(1), _fix_message(2)])
