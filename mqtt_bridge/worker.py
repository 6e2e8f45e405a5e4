"""One bridge worker: MQTT in, batches durably stored, then acknowledged.

Threads: paho's network loop puts every message on a queue; the writer thread takes
batches off it, parses, stores them in one transaction and only then acknowledges
each message to the broker (paho's manual acknowledgement). So a worker killed at any
instant loses nothing — the broker redelivers whatever was not acknowledged — and the
database's primary keys turn that redelivery into a no-op.

While the database is unreachable the writer retries the same batch with backoff and
acknowledges nothing; the broker holds the rest. Acknowledgements are tied to the
connection a message came on: after a reconnect the broker redelivers, so old message
ids are never acknowledged on the new connection (paho reuses ids).
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.exc import DBAPIError, OperationalError

from mqtt_bridge.client import BridgeClient, enlarge_socket_buffers
from mqtt_bridge.devices import DeviceDirectory
from mqtt_bridge.gateway_quarantine import GATEWAY_QUARANTINE_TOPIC
from mqtt_bridge.metrics import BridgeMetrics
from mqtt_bridge.parsing import TRANSIENT_REASONS, Limits, Rejected, parse_message
from mqtt_bridge.store import StoredBatch, TelemetryStore
from wasteflow.config import Settings
from wasteflow.database import get_engine
from wasteflow.sealing import sealer_for

log = logging.getLogger("wasteflow.bridge")

DEVICE_TOPICS = ("wf/v1/dev/+/+", "owntracks/+/+", GATEWAY_QUARANTINE_TOPIC)


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://user:pass@host:1883``, or ``mqtts://...`` (TLS, port 8883 unless given)."""
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "tcp", "mqtts", "ssl"):
            raise ValueError(f"WASTEFLOW_MQTT_URL must look like mqtt://user:pass@host:1883 "
                             f"(or mqtts://...:8883), not {url!r}")
        tls = parsed.scheme in ("mqtts", "ssl")
        return cls(parsed.hostname or "127.0.0.1", parsed.port or (8883 if tls else 1883),
                   unquote(parsed.username) if parsed.username else None,
                   unquote(parsed.password) if parsed.password else None, tls)

    def secure(self, client: mqtt.Client, ca_file: str = "") -> None:
        """Over ``mqtts://``, verify the broker against ``ca_file`` (the system's CAs when empty)."""
        if self.tls:
            client.tls_set(ca_certs=ca_file or None, tls_version=ssl.PROTOCOL_TLS_CLIENT)


@dataclass(slots=True)
class Incoming:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    arrived: float


@dataclass
class BridgeCounters:
    received: int = 0
    stored_batches: int = 0
    fixes: int = 0
    fixes_new: int = 0
    loads: int = 0
    tickets: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    database_errors: int = 0


def subscriptions(shared_group: str) -> list[str]:
    prefix = f"$share/{shared_group}/" if shared_group else ""
    return [prefix + topic for topic in DEVICE_TOPICS]


class BridgeWorker:
    def __init__(self, settings: Settings, client_id: str | None = None, limits: Limits = Limits()):
        self.settings = settings
        self.engine = get_engine(settings.database_url)
        self.store = TelemetryStore(self.engine)
        self.devices = DeviceDirectory(self.engine, sealer=sealer_for(self.engine.url, settings.secret_key))
        self.limits = limits
        self.address = BrokerAddress.parse(settings.mqtt_url)
        self.client_id = client_id or settings.bridge_client_id
        self.queue: queue.SimpleQueue[Incoming] = queue.SimpleQueue()
        self.counters = BridgeCounters()
        self.metrics = BridgeMetrics()
        self.after_store: list[Callable[[StoredBatch], None]] = []
        self.generation = 0
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="bridge-writer", daemon=True)
        self.client = self._make_client()

    # --- MQTT side ---------------------------------------------------------------------------

    @property
    def mqtt5(self) -> bool:
        return self.settings.mqtt_protocol.strip() == "5"

    def _make_client(self) -> BridgeClient:
        if self.mqtt5:
            client = BridgeClient(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        else:
            client = BridgeClient(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                  protocol=mqtt.MQTTv311, clean_session=False, manual_ack=True)
        if self.address.username:
            client.username_pw_set(self.address.username, self.address.password)
        self.address.secure(client, self.settings.mqtt_ca_file)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=16)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _connect_properties(self) -> Properties | None:
        if not self.mqtt5:
            return None
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.bridge_session_expiry_s
        props.ReceiveMaximum = 65535
        return props

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties):
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        self.generation += 1
        enlarge_socket_buffers(client)
        client.subscribe([(topic, 1) for topic in subscriptions(self.settings.bridge_shared_group)])
        self._connected.set()
        log.info("connected to %s:%s as %s", self.address.host, self.address.port, self.client_id)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties):
        self._connected.clear()
        self.generation += 1
        if not self._stop.is_set():
            log.warning("lost the broker (%s); reconnecting with backoff", reason_code)

    def _on_message(self, _client, _userdata, message):
        self.queue.put(Incoming(self.generation, message.mid, message.qos, message.topic,
                                bytes(message.payload), time.time()))

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.mqtt5:
            self.client.connect_async(self.address.host, self.address.port, keepalive=30, clean_start=False,
                                      properties=self._connect_properties())
        else:
            self.client.connect_async(self.address.host, self.address.port, keepalive=30)
        self.client.loop_start()
        self._writer.start()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self._connected.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish (commit and acknowledge) the batch in hand, then disconnect; the rest stays with the broker."""
        self._stop.set()
        self._writer.join(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1)

    # --- the writer --------------------------------------------------------------------------

    def _write_loop(self) -> None:
        while not self._stop.is_set():
            batch = self._collect()
            if batch:
                self._store_until_done(batch)
        leftover = self._drain_nowait(self.settings.bridge_batch_size)
        if leftover:  # one batch at most: what stays unacknowledged the broker delivers again
            self._store_until_done(leftover, give_up_after_s=5.0)

    def _collect(self) -> list[Incoming]:
        """A batch: up to ``bridge_batch_size`` messages, or what came within ``bridge_batch_ms``."""
        try:
            first = self.queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        size = self.settings.bridge_batch_size
        deadline = time.monotonic() + self.settings.bridge_batch_ms / 1000
        while len(batch) < size:
            batch += self._drain_nowait(size - len(batch))
            remaining = deadline - time.monotonic()
            if len(batch) >= size or remaining <= 0:
                break
            try:
                batch.append(self.queue.get(timeout=min(remaining, 0.02)))
            except queue.Empty:
                break  # the stream paused: store now rather than wait out the window
        return batch

    def _drain_nowait(self, limit: int) -> list[Incoming]:
        """What is queued already, up to ``limit`` messages, without waiting."""
        batch: list[Incoming] = []
        get = self.queue.get_nowait
        try:
            while len(batch) < limit:
                batch.append(get())
        except queue.Empty:
            pass
        return batch

    def _store_until_done(self, batch: list[Incoming], give_up_after_s: float | None = None) -> None:
        delay = 0.5
        started = time.monotonic()
        while True:
            try:
                self._store(batch)
                return
            except (OperationalError, DBAPIError, psycopg.Error, TransientLookupError) as exc:
                # psycopg.Error: the store's COPY runs on the raw driver cursor, so an error there
                # (e.g. QueryCanceled by statement_timeout or an operator) is not wrapped by
                # SQLAlchemy when the rollback succeeds; uncaught, it would end the writer thread.
                self.counters.database_errors += 1
                self.metrics.database_errors.inc()
                log.warning("database unavailable (%s); %d messages held, not acknowledged; retrying in %.1fs",
                            type(exc).__name__, len(batch), delay)
            if give_up_after_s is not None and time.monotonic() - started > give_up_after_s:
                log.warning("stopping with %d messages unacknowledged: the broker will redeliver them", len(batch))
                return
            if self._stop.wait(delay) and give_up_after_s is None:
                return
            delay = min(delay * 2, 5.0)

    def _store(self, batch: list[Incoming]) -> None:
        now = datetime.now(UTC)
        results = [parse_message(m.topic, m.payload, self.devices.lookup, now, self.limits) for m in batch]
        if any(isinstance(r, Rejected) and r.reason in TRANSIENT_REASONS for r in results):
            raise TransientLookupError("device lookup failed")
        stored = self.store.write(results)
        self._acknowledge(batch)
        self._count(batch, stored)
        self.metrics.observe(len(batch), stored)
        self.metrics.queue.set(self.queue.qsize())
        for listener in self.after_store:
            try:
                listener(stored)
            except Exception:  # a listener's failure must never cost a message
                log.exception("after-store listener failed")

    def _acknowledge(self, batch: list[Incoming]) -> None:
        """PUBACK what came on the current connection (after a reconnect the broker redelivers)."""
        current = self.generation
        self.client.ack_many(m.mid for m in batch if m.qos == 1 and m.generation == current)
        for message in batch:
            if message.qos == 2 and message.generation == current:
                self.client.ack(message.mid, message.qos)

    def _count(self, batch: list[Incoming], stored: StoredBatch) -> None:
        c = self.counters
        c.received += len(batch)
        c.stored_batches += 1
        c.fixes += stored.fixes
        c.fixes_new += stored.fixes_new
        c.loads += stored.loads
        c.tickets += stored.tickets
        for reason, n in stored.quarantined.items():
            c.quarantined[reason] = c.quarantined.get(reason, 0) + n


class TransientLookupError(RuntimeError):
    """The registry could not be read: like a database outage, nothing is acknowledged."""
