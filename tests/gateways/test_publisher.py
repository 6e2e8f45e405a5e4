"""The gateways' MQTT side against a real Mosquitto: a publish completes only on PUBACK,
and a publish made while the broker is down completes once it is back."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from mqtt_bridge.gateways.publisher import GatewayPublisher, device_topic, quarantine_message
from tests.utils.brokers import start_mosquitto

pytestmark = pytest.mark.mosquitto


def _subscriber(port: int, topic: str) -> tuple[mqtt.Client, list[bytes], threading.Event]:
    got: list[bytes] = []
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sub-{time.monotonic_ns()}")
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert subscribed.wait(10)
    return client, got, subscribed


@pytest.fixture
def broker(tmp_path):
    running = start_mosquitto(tmp_path)
    yield running
    running.stop()


def test_publish_completes_on_puback_and_arrives(broker):
    subscriber, got, _ = _subscriber(broker.port, "wf/v1/dev/+/gps")
    publisher = GatewayPublisher(broker.url, "gw-test")
    publisher.start()
    try:
        assert publisher.wait_connected(10)
        asyncio.run(publisher.publish_all([(device_topic("t-1", "gps"), b'{"n":1}'),
                                           (device_topic("t-1", "gps"), b'{"n":2}')]))
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(got) == [b'{"n":1}', b'{"n":2}']
    finally:
        publisher.stop()
        subscriber.loop_stop()


def test_publish_during_outage_completes_after_the_broker_returns(broker):
    publisher = GatewayPublisher(broker.url, "gw-outage", protocol="3.1.1")
    publisher.start()
    try:
        assert publisher.wait_connected(10)
        broker.stop()
        deadline = time.monotonic() + 10
        while publisher.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        pending = publisher.publish_future(device_topic("t-2", "gps"), b"{}")
        time.sleep(0.5)
        assert not pending.done(), "acknowledged while the broker was down"
        broker.start()
        pending.result(timeout=30)
    finally:
        publisher.stop()


def test_quarantine_message_carries_reason_and_raw_bytes():
    topic, payload = quarantine_message("jt808", None, "bad_checksum", b"\x7e\x01\x7e")
    assert topic == "wf/v1/quarantine/jt808"
    body = json.loads(payload)
    assert body["device_id"] is None and body["reason"] == "bad_checksum"
    assert base64.b64decode(body["raw"]) == b"\x7e\x01\x7e"


def test_thousands_of_publishes_at_once_all_complete(broker):
    """PUBACKs racing new publishes: every future completes (no lost ack, no lock-order deadlock)."""
    publisher = GatewayPublisher(broker.url, "gw-burst")
    publisher.start()
    try:
        assert publisher.wait_connected(10)

        async def burst():
            await asyncio.wait_for(publisher.publish_all(
                [(device_topic(f"t-{i % 50}", "gps"), b'{"n":%d}' % i) for i in range(5000)]), 60)

        asyncio.run(burst())
        assert publisher._pending == {} and publisher._early == {}
    finally:
        publisher.stop()


def test_a_quarantine_record_stays_under_the_brokers_and_the_bridges_limits():
    from mqtt_bridge.gateways.publisher import MAX_QUARANTINE_RAW

    _, payload = quarantine_message("jt808", "t-1", "incomplete", b"\x01" * (1024 * 1024), "3 of 700 packages")
    body = json.loads(payload)
    assert len(payload) < 256 * 1024
    assert base64.b64decode(body["raw"]) == b"\x01" * MAX_QUARANTINE_RAW
    assert body["detail"] == f"3 of 700 packages (the first {MAX_QUARANTINE_RAW} of 1048576 bytes)"
