"""The demo's in-process amqtt broker, exercised with paho-mqtt 2.x clients."""

from __future__ import annotations

import queue
import socket
import threading

import paho.mqtt.client as mqtt
import pytest

from mqtt_bridge.embedded import EmbeddedBroker
from mqtt_bridge.parsing import Accepted, parse_message
from tests.utils.bridge import NOW, gps_fix, lookup, signed, topic

WAIT_S = 5


@pytest.fixture(scope="module")
def broker():
    with EmbeddedBroker() as running:
        yield running


class Client:
    """A paho client that records what it receives and whether its session was resumed."""

    def __init__(self, broker: EmbeddedBroker, client_id: str = "", clean_session: bool = True,
                 protocol=mqtt.MQTTv311):
        kwargs = {"clean_session": clean_session} if protocol != mqtt.MQTTv5 else {}
        self.paho = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                protocol=protocol, **kwargs)
        self.broker = broker
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connacks: queue.Queue[tuple[bool, mqtt.ReasonCode]] = queue.Queue()
        self.subscribed = threading.Event()
        self.paho.on_message = lambda client, userdata, message: self.messages.put(message)
        self.paho.on_connect = self._on_connect
        self.paho.on_subscribe = lambda *args: self.subscribed.set()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connacks.put((flags.session_present, reason_code))

    def connect(self) -> tuple[bool, mqtt.ReasonCode]:
        self.paho.connect(self.broker.host, self.broker.port, keepalive=30)
        self.paho.loop_start()
        return self.connacks.get(timeout=WAIT_S)

    def subscribe(self, topic_filter: str) -> None:
        self.subscribed.clear()
        self.paho.subscribe(topic_filter, qos=1)
        assert self.subscribed.wait(WAIT_S)

    def publish(self, topic_name: str, payload: bytes) -> None:
        info = self.paho.publish(topic_name, payload, qos=1)
        info.wait_for_publish(WAIT_S)  # returns once the broker's PUBACK arrived
        assert info.is_published()

    def receive(self, count: int) -> list[mqtt.MQTTMessage]:
        return [self.messages.get(timeout=WAIT_S) for _ in range(count)]

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


def test_picks_a_free_port_and_exposes_a_url(broker):
    assert broker.port > 0
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"


def test_qos1_publish_subscribe_receive(broker):
    subscriber, publisher = Client(broker, "sub-basic"), Client(broker, "pub-basic")
    subscriber.connect()
    publisher.connect()
    try:
        subscriber.subscribe("wf/v1/dev/+/gps")
        publisher.publish(topic("gps-1", "gps"), b"first")
        publisher.publish(topic("gps-1", "gps"), b"second")
        received = subscriber.receive(2)
        assert [m.payload for m in received] == [b"first", b"second"]
        assert all(m.qos == 1 for m in received)
    finally:
        subscriber.close()
        publisher.close()


def test_signed_fix_through_the_broker_parses(broker):
    subscriber, device = Client(broker, "bridge-e2e"), Client(broker, "gps-1")
    subscriber.connect()
    device.connect()
    try:
        subscriber.subscribe("wf/v1/dev/+/+")
        device.publish(topic("gps-1", "gps"), signed("gps-1", gps_fix()))
        (message,) = subscriber.receive(1)
        result = parse_message(message.topic, message.payload, lookup, NOW)
        assert isinstance(result, Accepted) and result.records[0].verified
    finally:
        subscriber.close()
        device.close()


def test_persistent_session_keeps_messages_while_the_client_is_away(broker):
    bridge = Client(broker, "bridge-persistent", clean_session=False)
    session_present, _ = bridge.connect()
    assert session_present is False
    bridge.subscribe("wf/v1/dev/+/load")
    bridge.close()

    publisher = Client(broker, "pub-while-away")
    publisher.connect()
    publisher.publish(topic("load-1", "load"), b"while-away-1")
    publisher.publish(topic("load-1", "load"), b"while-away-2")
    publisher.close()

    returning = Client(broker, "bridge-persistent", clean_session=False)
    session_present, _ = returning.connect()
    try:
        assert session_present is True
        assert sorted(m.payload for m in returning.receive(2)) == [b"while-away-1", b"while-away-2"]
    finally:
        returning.close()


def test_mqtt5_is_refused(broker):
    """amqtt 0.12.1 speaks MQTT 3.1.1 only; the CONNACK says so."""
    client = Client(broker, "v5-client", protocol=mqtt.MQTTv5)
    _, reason_code = client.connect()
    client.paho.loop_stop()
    assert reason_code.is_failure
    assert "protocol" in str(reason_code).lower()


def test_shared_subscription_filter_is_not_special(broker):
    """$share/... is a literal filter for amqtt: it never matches device topics."""
    shared, plain, publisher = (Client(broker, "shared-1"), Client(broker, "plain-1"),
                                Client(broker, "pub-share"))
    for client in (shared, plain, publisher):
        client.connect()
    try:
        shared.subscribe("$share/wasteflow/wf/v1/dev/+/+")
        plain.subscribe("wf/v1/dev/+/+")
        publisher.publish(topic("gps-1", "status"), b"online")
        assert plain.receive(1)[0].payload == b"online"
        with pytest.raises(queue.Empty):
            shared.messages.get(timeout=0.5)
    finally:
        for client in (shared, plain, publisher):
            client.close()


def test_stop_closes_the_port():
    broker = EmbeddedBroker().start()
    port = broker.port
    broker.stop()
    assert not broker.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    broker.stop()  # idempotent
