"""The consumers the bridge is measured against (bench only, never the product).

* ``naive_main``: one INSERT and one commit (autocommit) per fix, PUBACK after it.
* ``competent_main``: what a competent user would write in an afternoon: paho with manual
  acknowledgement, psycopg ``executemany`` of the rows of 100 messages in one transaction,
  PUBACK after the commit; no signature checks, no validation beyond ``json.loads``.

Both store into ``gps_fix`` so the benchmark's analysis reads them like the bridge.
"""

from __future__ import annotations

import json
import time

import psycopg

from bench.databases import libpq_url

INSERT_FIX = ("INSERT INTO gps_fix (device_id, ts, seq, lat, lon, speed_kmh, heading, hdop, verified, received_at) "
              "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, false, {received}) ON CONFLICT DO NOTHING")


def _client(mqtt_url: str, client_id: str, manual_ack: bool):
    import paho.mqtt.client as mqtt

    from mqtt_bridge.worker import BrokerAddress

    address = BrokerAddress.parse(mqtt_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                         manual_ack=manual_ack)
    return client, address


def _rows(topic: str, payload: bytes) -> list[tuple]:
    body = json.loads(payload)
    device_id = topic.split("/")[3]
    return [(device_id, fix["ts"], fix["seq"], fix["lat"], fix["lon"], fix.get("speed_kmh"), fix.get("heading"),
             fix.get("hdop")) for fix in body.get("batch", [body])]


def naive_main(mqtt_url: str, pg_url: str, ready) -> None:
    """The straightforward consumer: one INSERT and one commit (autocommit) per fix, then PUBACK."""
    conn = psycopg.connect(libpq_url(pg_url), autocommit=True)
    sql = INSERT_FIX.format(received="clock_timestamp()")

    def on_message(_c, _u, message):
        for row in _rows(message.topic, message.payload):
            conn.execute(sql, row)

    client, address = _client(mqtt_url, "bench-naive", manual_ack=False)
    client.on_message = on_message
    client.on_subscribe = lambda *a: ready.set()
    client.on_connect = lambda c, *a: c.subscribe("wf/v1/dev/+/gps", qos=1)
    client.connect(address.host, address.port, keepalive=30)
    client.loop_forever()


def competent_main(mqtt_url: str, pg_url: str, ready, per_commit: int = 100, linger_s: float = 0.1) -> None:
    """paho + psycopg ``executemany`` per ``per_commit`` messages (or ``linger_s``), PUBACK after commit."""
    conn = psycopg.connect(libpq_url(pg_url))
    sql = INSERT_FIX.format(received="now()")
    rows: list[tuple] = []
    mids: list[int] = []
    last = time.monotonic()

    def flush(client) -> None:
        nonlocal last
        with conn.cursor() as cur:
            cur.executemany(sql, rows)
        conn.commit()
        for mid in mids:
            client.ack(mid, 1)
        rows.clear()
        mids.clear()
        last = time.monotonic()

    def on_message(client, _u, message):
        rows.extend(_rows(message.topic, message.payload))
        mids.append(message.mid)
        if len(mids) >= per_commit:
            flush(client)

    client, address = _client(mqtt_url, "bench-competent", manual_ack=True)
    client.on_message = on_message
    client.on_subscribe = lambda *a: ready.set()
    client.on_connect = lambda c, *a: c.subscribe("wf/v1/dev/+/gps", qos=1)
    client.connect(address.host, address.port, keepalive=30)
    while True:
        client.loop(linger_s / 2)
        if mids and time.monotonic() - last >= linger_s:
            flush(client)
