"""The MQTT side every gateway shares: QoS 1 publishes a caller can wait on until PUBACK.

A gateway tells a device "received" only after the broker has acknowledged what was
published for it (devices.md), so each publish returns a future that completes on the
broker's PUBACK. While the broker is away paho keeps the messages and sends them again
after reconnecting (with backoff); the futures simply complete later, and a caller that
cannot wait that long gives up on its own timeout without acknowledging its device.

Works from asyncio (``await publisher.publish(...)``) and from plain threads
(``publisher.publish_future(...).result(timeout)``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from concurrent.futures import Future

import paho.mqtt.client as mqtt

from mqtt_bridge.worker import BrokerAddress

log = logging.getLogger("wasteflow.gateway")

QUARANTINE_TOPIC = "wf/v1/quarantine/{gateway}"
MAX_QUARANTINE_RAW = 96 * 1024
"""Raw bytes kept in one quarantine record. Base64 makes them a third larger: this keeps a record
under the bridge's 256 KiB payload limit and the broker's packet limit, so no input, however
large, can make a record the broker refuses (it would drop the gateway's connection and the
record would be sent again, and again)."""


class PublishRefused(RuntimeError):
    """The broker answered the PUBLISH with a failure reason code (e.g. not authorised)."""


def device_topic(device_id: str, kind: str) -> str:
    return f"wf/v1/dev/{device_id}/{kind}"


def quarantine_message(gateway: str, device_id: str | None, reason: str, raw: bytes,
                       detail: str = "") -> tuple[str, bytes]:
    """What a gateway could not translate, for the bridge's quarantine (mqtt.md, "Bad input").

    ``detail``, optional, is the human sentence the bridge keeps beside the reason
    (e.g. which checksum was expected).
    """
    if len(raw) > MAX_QUARANTINE_RAW:
        detail = f"{detail} (the first {MAX_QUARANTINE_RAW} of {len(raw)} bytes)".strip()
        raw = raw[:MAX_QUARANTINE_RAW]
    body = {"device_id": device_id, "reason": reason, "raw": base64.b64encode(raw).decode("ascii")}
    if detail:
        body["detail"] = detail
    return QUARANTINE_TOPIC.format(gateway=gateway), json.dumps(body, separators=(",", ":")).encode()


class GatewayPublisher:
    def __init__(self, mqtt_url: str, client_id: str, protocol: str = "5", ca_file: str = ""):
        self.address = BrokerAddress.parse(mqtt_url)
        self.ca_file = ca_file
        self.client_id = client_id
        self.mqtt5 = protocol.strip() == "5"
        self.connected = threading.Event()
        self._pending: dict[int, Future[None] | asyncio.Future[None]] = {}
        self._early: dict[int, object] = {}  # mid -> the reason code of a PUBACK that came before its future
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None  # where publish() futures live
        self._ready: list[tuple[asyncio.Future[None], object]] = []  # PUBACKs for the loop, not yet delivered
        self._wake_scheduled = False
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        protocol = mqtt.MQTTv5 if self.mqtt5 else mqtt.MQTTv311
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=protocol)
        if self.address.username:
            client.username_pw_set(self.address.username, self.address.password)
        self.address.secure(client, self.ca_file)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=16)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def start(self) -> None:
        self.client.connect_async(self.address.host, self.address.port, keepalive=30)
        self.client.loop_start()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self.connected.wait(timeout)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish_future(self, topic: str, payload: bytes) -> Future[None]:
        """Publish with QoS 1; the future completes when the broker has acknowledged it.

        ``client.publish`` runs without our lock held: paho calls :meth:`_on_publish` while
        holding its own locks, so taking ours around ``publish`` would invert the lock order
        and deadlock under load. A PUBACK that beats the registration of its mid is kept in
        ``_early`` and claimed here.
        """
        done: Future[None] = Future()
        self._publish(topic, payload, done)
        return done

    def _publish(self, topic: str, payload: bytes, done: Future[None] | asyncio.Future[None]) -> None:
        """Publish QoS 1 and register ``done`` under its mid (or settle it now: refused, or already acknowledged)."""
        info = self.client.publish(topic, payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            done.set_exception(PublishRefused(mqtt.error_string(info.rc)))
            return
        with self._lock:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._pending[info.mid] = done
        if early is not None:
            self._settle(done, early)

    async def publish(self, topic: str, payload: bytes) -> None:
        await self._publish_in_loop(topic, payload)

    async def publish_all(self, messages: list[tuple[str, bytes]]) -> None:
        """All of them acknowledged, or the first failure raised."""
        await asyncio.gather(*(self._publish_in_loop(topic, payload) for topic, payload in messages))

    def _publish_in_loop(self, topic: str, payload: bytes) -> asyncio.Future[None]:
        """An asyncio future for the PUBACK, completed on the event loop.

        PUBACKs arriving together are handed to the loop in one wake-up (:meth:`_deliver`),
        not one thread-safe call each: under load that is most of a gateway's overhead.
        """
        loop = asyncio.get_running_loop()
        if self._loop is None or self._loop.is_closed():
            self._loop = loop
        if loop is not self._loop:  # a second event loop: the general path
            return asyncio.wrap_future(self.publish_future(topic, payload))
        done: asyncio.Future[None] = loop.create_future()
        self._publish(topic, payload, done)
        return done

    def _hand_over(self, done: asyncio.Future[None], reason_code) -> None:
        """From paho's thread: queue a PUBACK for the loop, waking it only if it is not already due."""
        with self._lock:
            self._ready.append((done, reason_code))
            if self._wake_scheduled:
                return
            self._wake_scheduled = True
        try:
            done.get_loop().call_soon_threadsafe(self._deliver)
        except RuntimeError:  # the loop has closed: nobody waits for these any more
            pass

    def _deliver(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, []
            self._wake_scheduled = False
        for done, reason_code in ready:
            self._settle(done, reason_code)

    def _on_publish(self, _client, _userdata, mid, reason_code, _properties) -> None:
        with self._lock:
            done = self._pending.pop(mid, None)
            if done is None:
                self._early[mid] = reason_code
                return
        if isinstance(done, asyncio.Future):
            self._hand_over(done, reason_code)
        else:
            self._settle(done, reason_code)

    @staticmethod
    def _settle(done: Future[None] | asyncio.Future[None], reason_code) -> None:
        if done.done():
            return
        if reason_code.is_failure:
            done.set_exception(PublishRefused(str(reason_code)))
        else:
            done.set_result(None)

    def _on_connect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the gateway's connection: %s", reason_code)
            return
        self.connected.set()
        log.info("gateway %s connected to %s:%s", self.client_id, self.address.host, self.address.port)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self.connected.clear()
        log.warning("gateway %s lost the broker (%s); reconnecting with backoff", self.client_id, reason_code)
