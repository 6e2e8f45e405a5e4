"""Harness for integration tests and the ingest benchmark: a real Mosquitto on the shipped
configuration, bridge subprocesses, a fast QoS 1 publisher and a row-count poller.

Importable without pytest (``bench/`` uses it too).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CONF = REPO / "deploy" / "mosquitto" / "mosquitto.conf"
MOSQUITTO = os.environ.get("WASTEFLOW_MOSQUITTO", "/usr/sbin/mosquitto")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port, host):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


# --- Mosquitto ---------------------------------------------------------------------------------


ANONYMOUS = {"allow_anonymous": "true", "password_file": None, "acl_file": None}
"""Loss and restart tests speak to the broker anonymously; the security tests pass their own files."""


LISTENER_OPTIONS = {"protocol", "certfile", "keyfile", "cafile", "capath", "tls_version", "require_certificate",
                    "socket_domain", "bind_interface"}
"""Options that belong to the listener above them rather than to the whole broker."""


def mosquitto_config(port: int, persistence_dir: Path, base: Path = SHIPPED_CONF,
                     overrides: dict[str, str | None] | None = None, tls_port: int | None = None,
                     certs_dir: Path | None = None) -> str:
    """The shipped configuration with the listener port and persistence location substituted.

    ``overrides`` replaces (or appends) other options, e.g. ``{"max_inflight_messages": "20"}``;
    an option overridden with ``None`` is left out. Unless the overrides name
    ``allow_anonymous``, the shipped authentication is swapped for anonymous access
    (:data:`ANONYMOUS`): everything else — queues, in-flight window, persistence — stays shipped.
    The shipped TLS device listener (the second ``listener``) is kept only when ``tls_port`` is
    given, with its certificate files taken from ``certs_dir``.
    When run as root, Mosquitto would drop to the ``mosquitto`` user and could not write the
    private temporary persistence directory, so ``user root`` is added in that case only.
    """
    lines = []
    seen = set()
    overrides = dict(overrides or {})
    if "allow_anonymous" not in overrides:
        overrides = {**ANONYMOUS, **overrides}
    listeners = 0
    for line in base.read_text().splitlines():
        key = line.split()[0] if line.strip() and not line.lstrip().startswith("#") else None
        in_tls = listeners > 1 or (listeners == 1 and key == "listener")
        if in_tls and (key == "listener" or key in LISTENER_OPTIONS):
            if key == "listener":
                listeners += 1
            if tls_port is None:
                continue
            line = _tls_line(key, line, tls_port, certs_dir)
        elif key == "listener":
            listeners += 1
            line = f"listener {port} 127.0.0.1"
        elif key == "persistence_location":
            line = f"persistence_location {persistence_dir}/"
        elif key in overrides:
            if overrides[key] is None:
                seen.add(key)
                continue
            line = f"{key} {overrides[key]}"
        if key:
            seen.add(key)
        lines.append(line)
    for key, value in overrides.items():
        if key not in seen and value is not None:
            lines.append(f"{key} {value}")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "user" not in seen:
        lines.append("user root")
    return "\n".join(lines) + "\n"


def _tls_line(key: str | None, line: str, tls_port: int, certs_dir: Path | None) -> str:
    if key == "listener":
        return f"listener {tls_port} 127.0.0.1"
    if key in ("certfile", "keyfile"):
        if certs_dir is None:
            raise ValueError("a TLS listener needs certs_dir")
        return f"{key} {certs_dir / Path(line.split()[1]).name}"
    return line


@dataclass
class MosquittoProcess:
    port: int
    workdir: Path
    conf_path: Path
    persistence_dir: Path
    log_path: Path
    process: subprocess.Popen | None = None
    host: str = "127.0.0.1"
    tls_port: int | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> MosquittoProcess:
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf_path)], stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.process.returncode}: {self.log_tail()}")
            if port_open(self.port, self.host):
                return self
            time.sleep(0.05)
        raise TimeoutError(f"mosquitto did not listen on {self.port}: {self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM: Mosquitto writes its persistence file and exits."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_log()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_log()

    def restart(self, down_s: float = 0.0) -> None:
        """Clean stop, optional pause, start again on the same port and persistence directory."""
        self.stop()
        if down_s:
            time.sleep(down_s)
        self.start()

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
            self._log = None

    def __enter__(self) -> MosquittoProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_mosquitto(tmp_path: Path | str, port: int | None = None,
                    overrides: dict[str, str | None] | None = None,
                    tls_certs: Path | None = None) -> MosquittoProcess:
    """A broker on the shipped configuration; with ``tls_certs`` (a directory holding
    ``server.crt`` and ``server.key``) also its TLS device listener, on ``tls_port``."""
    workdir = Path(tmp_path) / f"mosquitto-{port or 'auto'}-{time.monotonic_ns()}"
    persistence = workdir / "data"
    persistence.mkdir(parents=True)
    port = port or free_port()
    tls_port = free_port() if tls_certs is not None else None
    conf = workdir / "mosquitto.conf"
    conf.write_text(mosquitto_config(port, persistence, overrides=overrides, tls_port=tls_port, certs_dir=tls_certs))
    broker = MosquittoProcess(port=port, workdir=workdir, conf_path=conf, persistence_dir=persistence,
                              log_path=workdir / "mosquitto.log", tls_port=tls_port)
    return broker.start()


# --- MQTT 5 clients that report what the broker answered (the security tests) --------------------


def connect(broker, username: str | None, password: str | None, client_id: str):
    """Connect with MQTT 5; returns (client, CONNACK reason code)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if username is not None:
        client.username_pw_set(username, password)
    result: dict = {}
    done = threading.Event()

    def on_connect(_c, _u, _f, reason_code, _p):
        result["rc"] = reason_code
        done.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert done.wait(10), "no CONNACK"
    return client, result["rc"]


def subscriber(broker, username, password, topic):
    client, rc = connect(broker, username, password, f"sub-{username}-{time.monotonic_ns()}")
    assert not rc.is_failure, rc
    received: list[tuple[str, bytes]] = []
    granted: dict = {}
    subscribed = threading.Event()
    client.on_message = lambda _c, _u, m: received.append((m.topic, m.payload))

    def on_subscribe(_c, _u, _mid, reason_codes, _p):
        granted["codes"] = reason_codes
        subscribed.set()

    client.on_subscribe = on_subscribe
    client.subscribe(topic, qos=1)
    assert subscribed.wait(10)
    return client, received, granted["codes"]


def publish_ack(client, topic: str, payload: bytes) -> ReasonCode:
    """Publish QoS 1 and return the PUBACK reason code MQTT 5 gives back."""
    codes: dict = {}
    done = threading.Event()

    def on_publish(_c, _u, mid, reason_code, _p):
        codes[mid] = reason_code
        done.set()

    client.on_publish = on_publish
    info = client.publish(topic, payload, qos=1)
    assert done.wait(10), "no PUBACK"
    return codes[info.mid]


# --- the bridge as a subprocess ----------------------------------------------------------------


def start_bridge_process(db_url: str, mqtt_url: str, client_id: str, shared_group: str = "",
                         extra_env: dict[str, str] | None = None, log_dir: Path | str | None = None,
                         protocol: str = "5") -> subprocess.Popen:
    """``python -m mqtt_bridge``; its log goes to ``proc.log_path`` (appended across restarts)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASTEFLOW_") or k == "WASTEFLOW_SECRET_KEY"}
    env.update({
        "WASTEFLOW_DATABASE_URL": db_url,
        "WASTEFLOW_MQTT_URL": mqtt_url,
        "WASTEFLOW_BRIDGE_CLIENT_ID": client_id,
        "WASTEFLOW_MQTT_PROTOCOL": protocol,
        "WASTEFLOW_BRIDGE_SHARED_GROUP": shared_group,
        "WASTEFLOW_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra_env or {})
    log_dir = Path(log_dir) if log_dir else Path(tempfile.gettempdir())
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"bridge-{re.sub(r'[^A-Za-z0-9_.-]', '_', client_id)}.log"
    log = open(log_path, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "mqtt_bridge"], env=env, cwd=str(REPO), stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()  # the child holds its own descriptor
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


def bridge_log(proc: subprocess.Popen) -> str:
    return Path(proc.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


def wait_for_log(proc: subprocess.Popen, needle: str, timeout: float = 20.0, occurrences: int = 1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bridge_log(proc).count(needle) >= occurrences:
            return
        if proc.poll() is not None:
            raise RuntimeError(f"bridge exited ({proc.returncode}) before logging {needle!r}:\n"
                               f"{bridge_log(proc)[-3000:]}")
        time.sleep(0.05)
    raise TimeoutError(f"bridge did not log {needle!r} within {timeout}s:\n{bridge_log(proc)[-3000:]}")


def stop_process(proc: subprocess.Popen, timeout: float = 15.0) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# --- payloads ---------------------------------------------------------------------------------


def iso_now(offset_s: float = 0.0) -> str:
    return datetime.fromtimestamp(time.time() + offset_s, UTC).isoformat(timespec="microseconds")


def gps_fix(seq: int, ts: str | None = None) -> dict:
    """A plausible fix near Baotou; ``ts`` defaults to now (the bridge rejects stale or future ones)."""
    return {"seq": seq, "ts": ts or iso_now(), "lat": round(40.60 + (seq % 1000) * 1e-4, 6),
            "lon": round(109.80 + (seq % 777) * 1e-4, 6), "speed_kmh": 42.5, "heading": seq % 360, "hdop": 0.9}


def signed_fix(device_id: str, secret: str, seq: int, ts: str | None = None) -> bytes:
    from mqtt_bridge.signing import signed_payload
    return signed_payload(device_id, secret, gps_fix(seq, ts))


def signed_batch(device_id: str, secret: str, seqs, ts: str | None = None) -> bytes:
    from mqtt_bridge.signing import signed_payload
    return signed_payload(device_id, secret, {"batch": [gps_fix(s, ts) for s in seqs]})


def gps_topic(device_id: str) -> str:
    return f"wf/v1/dev/{device_id}/gps"


# --- publisher ---------------------------------------------------------------------------------


@dataclass
class PublishReport:
    published: int = 0
    republished: int = 0
    reconnects: int = 0
    seconds: float = 0.0
    ack_times: list[float] = field(default_factory=list)


class Publisher:
    """A paho 2.x MQTT 5 client publishing QoS 1 and waiting for every PUBACK.

    ``publish_all`` sends everything at once and then waits. Should the broker go away,
    paho reconnects on its own; whatever the broker has not acknowledged after the
    connection is back (and progress stalls) is published again — QoS 1: once the broker
    has PUBACKed a message it holds it, so only the unacknowledged need repeating.
    Repeats are harmless: the store recognises them.
    """

    def __init__(self, url: str, client_id: str | None = None, inflight: int = 1000,
                 protocol: int = mqtt.MQTTv5):
        from mqtt_bridge.worker import BrokerAddress
        self.address = BrokerAddress.parse(url)
        self.client_id = client_id or f"pub-{os.getpid()}-{time.monotonic_ns() % 10**9}"
        self.protocol = protocol
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=protocol)
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=0.2, max_delay=2)
        self.connected = threading.Event()
        self.connects = 0
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()

    def _on_connect(self, _c, _u, _flags, reason_code, _props):
        if not reason_code.is_failure:
            self.connects += 1
            self.connected.set()

    def connect(self, timeout: float = 10.0) -> Publisher:
        self.client.connect_async(self.address.host, self.address.port, keepalive=10)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            raise TimeoutError(f"publisher could not connect to {self.address}")
        return self

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Publisher:
        return self.connect()

    def __exit__(self, *exc) -> None:
        self.close()

    def publish_one(self, topic: str, payload: bytes, timeout: float = 10.0) -> None:
        self.publish_all([(topic, payload)], timeout=timeout)

    def publish_all(self, messages, timeout: float = 120.0, stall_s: float = 3.0,
                    on_progress=None) -> PublishReport:
        """Publish ``(topic, payload)`` pairs (a list or a generator) QoS 1; return once all are PUBACKed.

        ``on_progress(n_sent)`` is called every 500 messages sent (tests use it to inject faults).
        """
        report = PublishReport()
        started = time.monotonic()
        connects_before = self.connects
        pending: dict[int, tuple[str, bytes, mqtt.MQTTMessageInfo]] = {}
        for i, (topic, payload) in enumerate(messages):
            pending[i] = (topic, payload, self.client.publish(topic, payload, qos=1))
            report.published += 1
            if on_progress and (i + 1) % 500 == 0:
                on_progress(i + 1)
        deadline = started + timeout
        last_progress, last_left = time.monotonic(), len(pending)
        while pending:
            done = [k for k, (_, _, info) in pending.items() if info.is_published()]
            for k in done:
                del pending[k]
            if not pending:
                break
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"{len(pending)} of {report.published} messages were never acknowledged")
            if len(pending) < last_left:
                last_progress, last_left = now, len(pending)
            elif now - last_progress > stall_s and self.connected.is_set():
                # connected, yet nothing moves: publish again what the broker has not acknowledged
                for k, (topic, payload, _) in list(pending.items()):
                    pending[k] = (topic, payload, self.client.publish(topic, payload, qos=1))
                    report.republished += 1
                last_progress = now
            time.sleep(0.02)
        report.reconnects = self.connects - connects_before
        report.seconds = time.monotonic() - started
        return report


# --- database ---------------------------------------------------------------------------------


def table_count(engine, table: str) -> int:
    from sqlalchemy import text
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def wait_for_count(engine, table: str, expected: int, timeout: float = 60.0, settle_s: float = 0.0) -> int:
    """Poll ``SELECT count(*)`` until it reaches ``expected`` (then optionally watch ``settle_s``
    more seconds for overshoot); return the last count, whatever it is, at the timeout."""
    deadline = time.monotonic() + timeout
    n = -1
    while time.monotonic() < deadline:
        try:
            n = table_count(engine, table)
        except Exception:  # noqa: BLE001 - a database outage in a test: keep polling
            n = -1
        if n >= expected:
            break
        time.sleep(0.1)
    if settle_s and n >= expected:
        time.sleep(settle_s)
        n = table_count(engine, table)
    return n


def wait_bridge_ready(engine, publisher: Publisher, device_id: str, timeout: float = 30.0) -> None:
    """Publish ``online`` statuses until the bridge has stored one: it is connected AND subscribed."""
    from sqlalchemy import text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        publisher.publish_one(f"wf/v1/dev/{device_id}/status", b"online")
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM device_status WHERE device_id = :d"),
                                {"d": device_id}).scalar_one():
                    return
            time.sleep(0.05)
    raise TimeoutError("the bridge never stored a status probe: not connected or not subscribed")
