"""End-to-end delivery guarantees of the bridge (shared/spec/mqtt.md, "Delivery guarantees").

A real Mosquitto runs on the shipped configuration (deploy/mosquitto/mosquitto.conf, port and
persistence directory substituted); the bridge runs in-process (BridgeWorker) where its
counters are needed and as ``python -m mqtt_bridge`` where it is killed, stopped or cut off.
"""

from __future__ import annotations

import socket
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import text

from mqtt_bridge.embedded import EmbeddedBroker
from mqtt_bridge.signing import signed_payload
from mqtt_bridge.worker import BridgeWorker
from tests.utils.brokers import (
    Publisher,
    bridge_log,
    free_port,
    gps_fix,
    gps_topic,
    signed_batch,
    signed_fix,
    start_bridge_process,
    start_mosquitto,
    stop_process,
    table_count,
    wait_bridge_ready,
    wait_for_count,
)
from wasteflow.config import Settings

pytestmark = pytest.mark.mosquitto

DEVICE = "gps-0001"


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def broker(tmp_path):
    running = start_mosquitto(tmp_path)
    yield running
    running.kill()


@pytest.fixture
def publisher(broker):
    with Publisher(broker.url) as pub:
        yield pub


@pytest.fixture
def workers(db_url, broker):
    """Factory of in-process bridge workers; all are stopped at teardown."""
    started: list[BridgeWorker] = []

    def make(client_id: str = "bridge-test", shared_group: str = "", url: str | None = None,
             protocol: str = "5") -> BridgeWorker:
        settings = Settings(database_url=db_url, mqtt_url=url or broker.url, mqtt_protocol=protocol,
                            bridge_shared_group=shared_group, bridge_batch_ms=50)
        worker = BridgeWorker(settings, client_id=client_id)
        worker.start()
        assert worker.wait_connected(10), "bridge worker did not connect"
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()


@pytest.fixture
def bridges(db_url, broker, tmp_path):
    """Factory of ``python -m mqtt_bridge`` subprocesses; all are terminated at teardown."""
    procs = []

    def make(client_id: str = "bridge-proc", db: str | None = None, shared_group: str = ""):
        proc = start_bridge_process(db or db_url, broker.url, client_id, shared_group=shared_group,
                                    extra_env={"WASTEFLOW_BRIDGE_BATCH_MS": "50"}, log_dir=tmp_path)
        procs.append(proc)
        return proc

    yield make
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def fixes(secret: str, n: int, start: int = 1) -> list[tuple[str, bytes]]:
    return [(gps_topic(DEVICE), signed_fix(DEVICE, secret, seq)) for seq in range(start, start + n)]


def distinct_fixes(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(DISTINCT seq) FROM gps_fix")).scalar_one()


def publish_in_background(publisher: Publisher, messages, **kwargs):
    """Publish on a thread; ``result()`` joins it and returns the report (or raises its error)."""
    box: dict = {}

    def run():
        try:
            box["report"] = publisher.publish_all(messages, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="publisher", daemon=True)
    thread.start()

    def result(timeout: float = 180):
        thread.join(timeout)
        assert not thread.is_alive(), "publisher still running"
        if "error" in box:
            raise box["error"]
        return box["report"]

    return result


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def assert_all_stored(engine, expected: int, timeout: float = 90) -> None:
    n = wait_for_count(engine, "gps_fix", expected, timeout=timeout, settle_s=0.5)
    assert n == expected, f"{n} fixes stored, expected {expected}"
    assert distinct_fixes(engine) == expected


# --- stored once ------------------------------------------------------------------------------


def test_a_fix_is_stored_once_and_repeats_are_recognised(world, engine, publisher, workers):
    worker = workers()
    wait_bridge_ready(engine, publisher, DEVICE)
    secret = world.secrets[DEVICE]

    single = signed_fix(DEVICE, secret, 1)
    publisher.publish_one(gps_topic(DEVICE), single)
    assert wait_for_count(engine, "gps_fix", 1, timeout=15) == 1

    publisher.publish_one(gps_topic(DEVICE), single)              # QoS 1 redelivery / device resend
    batch = signed_batch(DEVICE, secret, range(100, 110))
    publisher.publish_all([(gps_topic(DEVICE), batch), (gps_topic(DEVICE), batch)])  # a resent batch
    assert wait_until(lambda: worker.counters.fixes >= 22, 15), worker.counters
    assert table_count(engine, "gps_fix") == 11
    assert worker.counters.fixes == 22 and worker.counters.fixes_new == 11
    with engine.connect() as conn:
        verified = conn.execute(text("SELECT count(*) FROM gps_fix WHERE verified")).scalar_one()
    assert verified == 11
    assert table_count(engine, "quarantine") == 0


def test_bad_messages_are_quarantined_with_their_reason_and_acknowledged(world, engine, publisher, workers):
    worker = workers("bridge-quarantine")
    wait_bridge_ready(engine, publisher, DEVICE)
    secret = world.secrets[DEVICE]
    good = gps_fix(5)
    forged = signed_payload(DEVICE, "not-the-secret", good)
    publisher.publish_all([
        (gps_topic(DEVICE), forged),
        (gps_topic(DEVICE), b"{not json"),
        (gps_topic("nobody-9999"), signed_fix("nobody-9999", "x", 1)),
        (gps_topic(DEVICE), signed_payload(DEVICE, secret, {**good, "lat": 95.0})),
    ])
    assert wait_for_count(engine, "quarantine", 4, timeout=15) == 4
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT topic, reason, payload FROM quarantine ORDER BY id")).all()
    by_payload = {bytes(r.payload): r.reason for r in rows}
    assert by_payload[forged] == "bad_signature"
    assert by_payload[b"{not json"] == "not_json"
    assert sorted(by_payload.values()) == sorted(["bad_signature", "not_json", "unknown_device", "bad_latitude"]), rows
    assert all(r.topic.startswith("wf/v1/dev/") for r in rows)
    assert table_count(engine, "gps_fix") == 0

    # Acknowledged: a new worker on the same persistent session gets no redelivery.
    worker.stop()
    again = workers("bridge-quarantine")
    publisher.publish_one(gps_topic(DEVICE), signed_fix(DEVICE, secret, 6))
    assert wait_for_count(engine, "gps_fix", 1, timeout=15) == 1
    time.sleep(0.5)
    assert table_count(engine, "quarantine") == 4
    assert again.counters.quarantined == {}


# --- shared subscription ----------------------------------------------------------------------


def test_two_workers_on_a_shared_subscription_store_everything_once(world, engine, publisher, workers):
    first = workers("bridge-a", shared_group="wasteflow")
    second = workers("bridge-b", shared_group="wasteflow")
    # both subscribed: status probes are shared round-robin, so each must see at least one
    assert wait_until(lambda: (publisher.publish_one(f"wf/v1/dev/{DEVICE}/status", b"online") or
                               (first.counters.received and second.counters.received)), 20, 0.1)
    publisher.publish_all(fixes(world.secrets[DEVICE], 2000))
    assert_all_stored(engine, 2000, timeout=60)
    assert wait_until(lambda: first.counters.fixes + second.counters.fixes >= 2000, 10)
    assert first.counters.fixes > 0 and second.counters.fixes > 0, (first.counters, second.counters)
    assert first.counters.fixes_new + second.counters.fixes_new == 2000


# --- a killed, stopped or disconnected bridge -------------------------------------------------


def _kill_and_restart(db_kind, world, engine, publisher, bridges, total):
    bridge = bridges("bridge-kill")
    wait_bridge_ready(engine, publisher, DEVICE)
    done = publish_in_background(publisher, fixes(world.secrets[DEVICE], total))
    assert wait_until(lambda: table_count(engine, "gps_fix") >= total // 5, 60, 0.02)
    bridge.kill()                                            # SIGKILL: no chance to clean up
    bridge.wait()
    at_kill = table_count(engine, "gps_fix")
    assert at_kill < total, "the stream was over before the kill"
    restarted = bridges("bridge-kill")                        # same client id: same broker session
    done()
    assert_all_stored(engine, total, timeout=120)
    assert restarted.poll() is None, bridge_log(restarted)[-2000:]


def test_sigkill_mid_stream_loses_nothing(db_kind, world, engine, publisher, bridges):
    _kill_and_restart(db_kind, world, engine, publisher, bridges, 10_000 if db_kind == "postgresql" else 4_000)


def test_broker_restart_mid_stream_loses_nothing(db_kind, world, engine, broker, publisher, bridges):
    total = 6_000
    bridge = bridges("bridge-broker-restart")
    wait_bridge_ready(engine, publisher, DEVICE)
    done = publish_in_background(publisher, fixes(world.secrets[DEVICE], total), stall_s=5)
    assert wait_until(lambda: table_count(engine, "gps_fix") >= 1000, 60, 0.02)
    broker.restart(down_s=1.0)
    report = done()
    assert_all_stored(engine, total, timeout=120)
    log = bridge_log(bridge)
    assert "lost the broker" in log and log.count("connected to") >= 2, log[-3000:]
    assert report.published == total


def test_sigterm_exits_cleanly_and_a_restart_loses_nothing(db_kind, world, engine, publisher, bridges):
    total = 5_000
    bridge = bridges("bridge-term")
    wait_bridge_ready(engine, publisher, DEVICE)
    done = publish_in_background(publisher, fixes(world.secrets[DEVICE], total))
    assert wait_until(lambda: table_count(engine, "gps_fix") >= 1000, 60, 0.02)
    started = time.monotonic()
    code = stop_process(bridge, timeout=10)
    assert code == 0, bridge_log(bridge)[-3000:]
    assert time.monotonic() - started < 5
    bridges("bridge-term")
    done()
    assert_all_stored(engine, total, timeout=120)


# --- a database outage (PostgreSQL) -----------------------------------------------------------


class CuttableProxy:
    """A TCP proxy that can be cut: every connection closed, new ones refused; then restored."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = free_port()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    close = cut

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._conns.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_a_database_outage_holds_acknowledgements_and_loses_nothing(db_kind, db_url, world, engine,
                                                                  publisher, bridges):
    if db_kind != "postgresql":
        pytest.skip("the outage is a network cut between the bridge and PostgreSQL")
    host_port = engine.url.host or "127.0.0.1", engine.url.port or 5432
    proxy = CuttableProxy(host_port)
    try:
        proxied = engine.url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        bridge = bridges("bridge-outage", db=proxied)
        wait_bridge_ready(engine, publisher, DEVICE)
        total = 6_000
        done = publish_in_background(publisher, fixes(world.secrets[DEVICE], total))
        assert wait_until(lambda: table_count(engine, "gps_fix") >= 1000, 60, 0.02)
        proxy.cut()
        time.sleep(1.0)  # a batch committed just before the cut may still be on its way
        during = [table_count(engine, "gps_fix")]
        for _ in range(9):
            time.sleep(1.0)
            during.append(table_count(engine, "gps_fix"))
        assert len(set(during)) == 1, f"rows were stored while the database was unreachable: {during}"
        assert during[0] < total, "the stream was over before the outage"
        proxy.restore()
        done()
        assert_all_stored(engine, total, timeout=120)
        log = bridge_log(bridge)
        assert "database unavailable" in log, log[-3000:]
        assert bridge.poll() is None, log[-3000:]
    finally:
        proxy.cut()


# --- the embedded broker (MQTT 3.1.1) ---------------------------------------------------------


def test_the_embedded_broker_carries_fixes_to_the_store_once(db_kind, world, engine, workers):
    if db_kind != "sqlite":
        pytest.skip("the embedded broker is the SQLite demo's")
    with EmbeddedBroker() as embedded:
        workers("bridge-embedded", url=embedded.url, protocol="3.1.1")
        with Publisher(embedded.url, protocol=mqtt.MQTTv311) as pub:
            wait_bridge_ready(engine, pub, DEVICE)
            messages = fixes(world.secrets[DEVICE], 50)
            pub.publish_all(messages + messages[:10])
        assert_all_stored(engine, 50, timeout=30)
