"""The device listener speaks only TLS, with certificates `wasteflow broker-certs` makes for a
trial: on a real Mosquitto running the shipped configuration."""

from __future__ import annotations

import ssl
import threading
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from mqtt_bridge.gateways.osmand.translate import Request, translate
from mqtt_bridge.gateways.publisher import GatewayPublisher
from mqtt_bridge.worker import BridgeWorker, BrokerAddress
from tests.utils.brokers import start_mosquitto, wait_for_count
from wasteflow.broker.certs import make_trial_certificates
from wasteflow.broker.service import all_accounts, write_files
from wasteflow.cli import app
from wasteflow.config import Settings
from wasteflow.quarantine.models import QuarantinedMessage

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def certs(tmp_path):
    out = tmp_path / "certs"
    result = CliRunner().invoke(app, ["broker-certs", "--host", "localhost", "--host", "127.0.0.1",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"ca.crt", "ca.key", "server.crt", "server.key"}
    return out


@pytest.fixture
def tls_broker(world, engine, tmp_path, certs):
    auth = tmp_path / "auth"
    write_files(auth, all_accounts(engine, "wasteflow-bridge", "bridge-secret"))
    broker = start_mosquitto(tmp_path / "broker", tls_certs=certs, overrides={
        "allow_anonymous": "false", "password_file": str(auth / "passwords"), "acl_file": str(auth / "acl")})
    yield broker
    broker.stop()


def try_connect(port: int, username: str, password: str, ca: str | None) -> object:
    """The CONNACK reason code, or the exception the connection attempt raised, or None (no answer)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"tls-{username}", protocol=mqtt.MQTTv5)
    client.username_pw_set(username, password)
    if ca is not None:
        client.tls_set(ca_certs=ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    answer: dict = {}
    done = threading.Event()

    def on_connect(_c, _u, _f, reason_code, _p):
        answer["rc"] = reason_code
        done.set()

    client.on_connect = on_connect
    try:
        client.connect("127.0.0.1", port, keepalive=5)
    except (ssl.SSLError, OSError) as exc:
        return exc
    client.loop_start()
    done.wait(5)
    client.disconnect()
    client.loop_stop()
    return answer.get("rc")


def test_device_connects_over_tls_with_its_secret(tls_broker, world, certs):
    rc = try_connect(tls_broker.tls_port, "gps-0001", world.secrets["gps-0001"], str(certs / "ca.crt"))
    assert rc is not None and not isinstance(rc, Exception) and not rc.is_failure, rc


def test_tls_listener_refuses_plain_mqtt(tls_broker, world):
    rc = try_connect(tls_broker.tls_port, "gps-0001", world.secrets["gps-0001"], ca=None)
    assert rc is None or isinstance(rc, Exception) or rc.is_failure, rc


def test_a_broker_with_another_ca_is_not_trusted(tls_broker, world, tmp_path):
    other = tmp_path / "other"
    make_trial_certificates(["localhost"]).write(other)
    rc = try_connect(tls_broker.tls_port, "gps-0001", world.secrets["gps-0001"], str(other / "ca.crt"))
    assert isinstance(rc, ssl.SSLCertVerificationError), rc


def test_wrong_secret_is_refused_over_tls_too(tls_broker, world, certs):
    rc = try_connect(tls_broker.tls_port, "gps-0001", "not-the-secret", str(certs / "ca.crt"))
    assert rc is not None and not isinstance(rc, Exception) and rc.is_failure, rc


def test_gateway_and_bridge_use_mqtts_with_the_ca_file(world, engine, db_url, tmp_path, certs):
    """``mqtts://`` with WASTEFLOW_MQTT_CA_FILE: the OsmAnd gateway's account publishes a phone's fix over
    TLS, the bridge reads it over TLS and stores it; without the CA the gateway never connects."""
    phone = world.post("/v1/devices", {"id": "osmand:tls-phone", "kind": "gps", "vehicle_plate": "蒙B12345"},
                       "transporter")
    assert phone.status_code == 201, phone.text
    auth = tmp_path / "auth"
    write_files(auth, all_accounts(engine, "wasteflow-bridge", "bridge-secret", osmand=("wasteflow-osmand", "gw")))
    broker = start_mosquitto(tmp_path / "broker", tls_certs=certs, overrides={
        "allow_anonymous": "false", "password_file": str(auth / "passwords"), "acl_file": str(auth / "acl")})
    ca = str(certs / "ca.crt")
    bridge = BridgeWorker(Settings(database_url=db_url, bridge_batch_ms=50, mqtt_ca_file=ca,
                                   mqtt_url=f"mqtts://wasteflow-bridge:bridge-secret@127.0.0.1:{broker.tls_port}"),
                          client_id="wasteflow-bridge-tls")
    gateway = GatewayPublisher(f"mqtts://wasteflow-osmand:gw@127.0.0.1:{broker.tls_port}", "wasteflow-osmand-tls",
                               ca_file=ca)
    untrusting = GatewayPublisher(f"mqtts://wasteflow-osmand:gw@127.0.0.1:{broker.tls_port}", "wasteflow-osmand-x")
    try:
        bridge.start()
        gateway.start()
        untrusting.start()
        assert bridge.wait_connected(10) and gateway.wait_connected(10)
        time.sleep(1.0)  # the bridge's subscription is in place (a new session gets nothing published before it)
        stamp = int(time.time()) - 30
        fix = translate(Request("GET", "", f"id=tls-phone&lat=40.6&lon=109.8&timestamp={stamp}", b""),
                        lambda _: True, datetime.now(UTC))
        gateway.publish_future(*fix.messages[0]).result(10)
        assert wait_for_count(engine, "gps_fix", 1, timeout=20) == 1, \
            [(q.reason, q.detail) for q in quarantine_rows(engine)]
        assert not untrusting.wait_connected(3), "a broker the system's CAs do not vouch for is not trusted"
    finally:
        for client in (untrusting, gateway, bridge):
            client.stop()
        broker.stop()


def quarantine_rows(engine) -> list:
    with Session(engine) as session:
        return list(session.exec(select(QuarantinedMessage)).all())


def test_broker_urls():
    assert BrokerAddress.parse("mqtts://u:p@broker") == BrokerAddress("broker", 8883, "u", "p", tls=True)
    assert BrokerAddress.parse("mqtt://broker") == BrokerAddress("broker", 1883, tls=False)
    with pytest.raises(ValueError, match="mqtts://"):
        BrokerAddress.parse("http://broker")
