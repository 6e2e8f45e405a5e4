"""The JT/T 808 gateway's broker account on a real Mosquitto with generated files: it publishes the
readings of registered terminals and its own quarantine, nothing else; devices cannot write a
gateway's quarantine; terminals behind the gateway have no broker account; no device can take a
service account's name (the registry refuses such ids: tests/broker/test_broker_security.py)."""

from __future__ import annotations

import time

import pytest

from tests.utils.brokers import connect, publish_ack, start_mosquitto, subscriber
from wasteflow.broker.service import all_accounts, write_files

pytestmark = pytest.mark.mosquitto

BRIDGE_PASSWORD = "bridge-secret-for-tests"
ALERT_PASSWORD = "alerts-secret-for-tests"
JT808_PASSWORD = "jt808-secret-for-tests"


@pytest.fixture
def terminals(world):
    for device_id, terminal_id in (("jt-1", "13900000001"), ("jt-2", "13900000002")):
        response = world.post("/v1/devices", {"id": device_id, "kind": "gps", "vehicle_plate": "蒙B12345",
                                              "protocol": "jt808", "terminal_id": terminal_id}, "transporter")
        assert response.status_code == 201, response.text
    return world


@pytest.fixture
def secured_broker(terminals, engine, tmp_path):
    auth = tmp_path / "auth"
    write_files(auth, all_accounts(engine, "wasteflow-bridge", BRIDGE_PASSWORD, "regulator-alerts", ALERT_PASSWORD,
                                   jt808=("wasteflow-jt808", JT808_PASSWORD)))
    broker = start_mosquitto(tmp_path / "broker", overrides={
        "allow_anonymous": "false", "password_file": str(auth / "passwords"), "acl_file": str(auth / "acl")})
    broker.auth_dir = auth  # type: ignore[attr-defined]
    yield broker
    broker.stop()


def test_the_gateway_publishes_registered_terminals_and_its_quarantine_only(secured_broker, terminals):
    bridge, received, codes = subscriber(secured_broker, "wasteflow-bridge", BRIDGE_PASSWORD, "wf/v1/#")
    assert not any(code.is_failure for code in codes)
    gateway, rc = connect(secured_broker, "wasteflow-jt808", JT808_PASSWORD, "jt808-gw")
    assert not rc.is_failure
    allowed = [("wf/v1/dev/jt-1/gps", b"fix"), ("wf/v1/dev/jt-1/load", b"load"), ("wf/v1/quarantine/jt808", b"q")]
    denied = [("wf/v1/dev/gps-0001/gps", b"an MQTT device's"), ("wf/v1/dev/jt-1/weigh", b"a ticket"),
              ("wf/v1/quarantine/scale", b"another gateway's"), ("wf/v1/alerts/critical/LOAD_DROP", b"an alert")]
    for topic, payload in allowed:
        assert not publish_ack(gateway, topic, payload).is_failure, topic
    for topic, payload in denied:
        assert publish_ack(gateway, topic, payload).value == 0x87, topic
    time.sleep(0.5)
    assert sorted(received) == sorted(allowed)
    for client in (bridge, gateway):
        client.disconnect()
        client.loop_stop()


def test_devices_cannot_write_a_gateways_quarantine_and_terminals_have_no_account(secured_broker, terminals):
    device, rc = connect(secured_broker, "gps-0001", terminals.secrets["gps-0001"], "gps-0001")
    assert not rc.is_failure
    assert publish_ack(device, "wf/v1/quarantine/jt808", b"forged").value == 0x87
    device.disconnect()
    device.loop_stop()
    acl = (secured_broker.auth_dir / "acl").read_text()
    assert "user jt-1\n" not in acl, "a terminal behind the gateway never speaks MQTT: no account"
    passwords = (secured_broker.auth_dir / "passwords").read_text()
    assert passwords.count("wasteflow-jt808:") == 1 and "\njt-2:" not in passwords
    impostor, rc = connect(secured_broker, "wasteflow-jt808", "not-the-gateway-password", "impostor")
    impostor.loop_stop()
    assert rc.is_failure
