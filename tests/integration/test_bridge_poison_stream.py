"""A message the database refuses does not stall the stream (issue 12, item 2), end to end:
real Mosquitto (shipped configuration), an in-process bridge worker, the test database.

Before the fix, one weigh ticket with a 17-character plate failed its INSERT on PostgreSQL and
the bridge retried that batch forever, acknowledging nothing after it.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from mqtt_bridge.signing import signed_payload
from mqtt_bridge.worker import BridgeWorker
from tests.utils.bridge import weigh_ticket
from tests.utils.brokers import (
    Publisher,
    gps_topic,
    iso_now,
    signed_fix,
    start_mosquitto,
    table_count,
    wait_bridge_ready,
    wait_for_count,
)
from tests.utils.databases import refuse_seq
from wasteflow.config import Settings

pytestmark = pytest.mark.mosquitto

DEVICE = "gps-0001"
POISON_SEQ = 500


def _worker(db_url: str, broker_url: str) -> BridgeWorker:
    settings = Settings(database_url=db_url, mqtt_url=broker_url, mqtt_protocol="5", bridge_batch_ms=200)
    worker = BridgeWorker(settings, client_id="bridge-poison")
    worker.start()
    assert worker.wait_connected(10), "bridge worker did not connect"
    return worker


def _ticket(world, **overrides) -> bytes:
    now = iso_now(-60)
    body = weigh_ticket(ts=now, gross_at=now, tare_at=now, manifest_no=None, **overrides)
    return signed_payload("wb-plant", world.secrets["wb-plant"], body)


def test_a_refused_message_is_quarantined_and_the_stream_goes_on(world, engine, db_url, tmp_path):
    with refuse_seq(engine, POISON_SEQ):
        _stream_with_poison(world, engine, db_url, tmp_path)


def _stream_with_poison(world, engine, db_url, tmp_path) -> None:
    secret = world.secrets[DEVICE]
    over_long_plate = _ticket(world, seq=1, plate="P" * 17)
    messages = [(gps_topic(DEVICE), signed_fix(DEVICE, secret, seq)) for seq in range(1, 1001)]
    messages.insert(700, ("wf/v1/dev/wb-plant/weigh", over_long_plate))
    messages.append(("wf/v1/dev/wb-plant/weigh", _ticket(world, seq=2)))
    broker = start_mosquitto(tmp_path)
    worker = None
    try:
        with Publisher(broker.url) as publisher:
            worker = _worker(db_url, broker.url)
            wait_bridge_ready(engine, publisher, DEVICE)
            publisher.publish_all(messages)
            assert wait_for_count(engine, "gps_fix", 999, timeout=60, settle_s=0.5) == 999
            assert wait_for_count(engine, "weigh_ticket", 1, timeout=15) == 1
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT reason, payload FROM quarantine ORDER BY id")).all()
            reasons = {bytes(r.payload): r.reason for r in rows}
            assert reasons == {_payload_of(messages, POISON_SEQ): "not_storable", over_long_plate: "bad_value"}, rows
            # acknowledged: the same persistent session, reconnected, gets nothing again
            worker.stop()
            worker = _worker(db_url, broker.url)
            publisher.publish_one(gps_topic(DEVICE), signed_fix(DEVICE, secret, 2000))
            assert wait_for_count(engine, "gps_fix", 1000, timeout=15) == 1000
            time.sleep(0.5)
            assert table_count(engine, "quarantine") == 2
            assert worker.counters.quarantined == {}
    finally:
        if worker is not None:
            worker.stop()
        broker.kill()


def _payload_of(messages, seq: int) -> bytes:
    needle = f'"seq":{seq},'.encode()
    return next(payload for topic, payload in messages if topic.endswith("/gps") and needle in payload)
