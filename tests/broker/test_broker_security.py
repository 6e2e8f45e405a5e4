"""Broker security on a real Mosquitto running the shipped configuration with generated auth files.

A device authenticates with its own id and secret and may publish only under its own
topics; it cannot read anybody's data; anonymous clients cannot connect at all.
"""

from __future__ import annotations

import time

import pytest

from tests.utils.brokers import connect, publish_ack, start_mosquitto, subscriber
from wasteflow.broker.files import Account, without_impostors
from wasteflow.broker.service import all_accounts, write_files
from wasteflow.database import session_scope
from wasteflow.registry.models import Device
from wasteflow.sealing import sealer_for

pytestmark = pytest.mark.mosquitto

BRIDGE_PASSWORD = "bridge-secret-for-tests"
ALERT_PASSWORD = "alerts-secret-for-tests"


@pytest.fixture
def secured_broker(world, engine, tmp_path):
    auth = tmp_path / "auth"
    write_files(auth, all_accounts(engine, "wasteflow-bridge", BRIDGE_PASSWORD, "regulator-alerts", ALERT_PASSWORD))
    broker = start_mosquitto(tmp_path / "broker", overrides={
        "allow_anonymous": "false", "password_file": str(auth / "passwords"), "acl_file": str(auth / "acl")})
    yield broker
    broker.stop()


def test_anonymous_client_cannot_connect(secured_broker):
    client, rc = connect(secured_broker, None, None, "anonymous")
    client.loop_stop()
    assert rc.is_failure
    assert rc.value in (0x86, 0x87, 0x05)  # bad user name or password / not authorized


def test_wrong_password_cannot_connect(secured_broker, world):
    client, rc = connect(secured_broker, "gps-0001", "not-the-secret", "wrong-password")
    client.loop_stop()
    assert rc.is_failure


def test_device_publishes_on_its_own_topics_only(secured_broker, world):
    bridge, received, codes = subscriber(secured_broker, "wasteflow-bridge", BRIDGE_PASSWORD, "wf/v1/dev/+/+")
    assert not codes[0].is_failure
    device, rc = connect(secured_broker, "gps-0001", world.secrets["gps-0001"], "gps-0001")
    assert not rc.is_failure

    own = publish_ack(device, "wf/v1/dev/gps-0001/gps", b"own")
    other = publish_ack(device, "wf/v1/dev/load-0001/load", b"as another device")
    time.sleep(0.5)

    assert not own.is_failure
    assert other.is_failure and other.value == 0x87  # not authorized
    assert [topic for topic, _ in received] == ["wf/v1/dev/gps-0001/gps"]
    for client in (bridge, device):
        client.disconnect()
        client.loop_stop()


def test_device_cannot_read_others_data(secured_broker, world):
    # Mosquitto 2.0 may grant the subscription; its read ACL then withholds every message.
    spy, received, _codes = subscriber(secured_broker, "gps-0001", world.secrets["gps-0001"], "wf/v1/dev/+/+")
    publisher, _ = connect(secured_broker, "load-0001", world.secrets["load-0001"], "load-0001")
    publish_ack(publisher, "wf/v1/dev/load-0001/load", b"secret load")
    time.sleep(0.5)
    assert received == []
    for client in (spy, publisher):
        client.disconnect()
        client.loop_stop()


def test_alert_account_reads_alerts_but_publishes_nothing(secured_broker):
    alerts, received, codes = subscriber(secured_broker, "regulator-alerts", ALERT_PASSWORD, "wf/v1/alerts/#")
    assert not codes[0].is_failure
    bridge, _ = connect(secured_broker, "wasteflow-bridge", BRIDGE_PASSWORD, "bridge-pub")
    assert not publish_ack(bridge, "wf/v1/alerts/critical/LOAD_DROP", b"{}").is_failure
    forged = publish_ack(alerts, "wf/v1/alerts/critical/LOAD_DROP", b"forged")
    time.sleep(0.5)
    assert forged.is_failure
    assert received == [("wf/v1/alerts/critical/LOAD_DROP", b"{}")]
    for client in (alerts, bridge):
        client.disconnect()
        client.loop_stop()


def test_files_are_regenerated_when_devices_change(world, engine, tmp_path):
    auth = tmp_path / "auth"
    assert write_files(auth, all_accounts(engine, "wasteflow-bridge", BRIDGE_PASSWORD)) is True
    assert write_files(auth, all_accounts(engine, "wasteflow-bridge", BRIDGE_PASSWORD)) is False
    response = world.post("/v1/devices", {"id": "gps-0002", "kind": "gps", "vehicle_plate": "蒙B12345"}, "transporter")
    assert response.status_code == 201
    assert write_files(auth, all_accounts(engine, "wasteflow-bridge", BRIDGE_PASSWORD)) is True
    assert "user gps-0002\ntopic write wf/v1/dev/gps-0002/#" in (auth / "acl").read_text()
    assert (auth / "passwords").read_text().count("\n") == 6  # bridge + 5 devices


def test_owntracks_phone_logs_in_under_its_broker_name(world, engine, tmp_path):
    response = world.post("/v1/devices", {"id": "owntracks:alice/phone", "kind": "gps", "vehicle_plate": "蒙B12345",
                                          "require_signature": False}, "transporter")
    assert response.status_code == 201, response.text
    auth = tmp_path / "auth"
    write_files(auth, all_accounts(engine, "wasteflow-bridge", BRIDGE_PASSWORD))
    broker = start_mosquitto(tmp_path / "broker", overrides={
        "allow_anonymous": "false", "password_file": str(auth / "passwords"), "acl_file": str(auth / "acl")})
    try:
        phone, rc = connect(broker, "ot.alice.phone", response.json()["secret"], "alice-phone")
        assert not rc.is_failure, rc
        assert not publish_ack(phone, "owntracks/alice/phone", b"{}").is_failure
        assert publish_ack(phone, "owntracks/bob/phone", b"{}").is_failure
        phone.disconnect()
        phone.loop_stop()
    finally:
        broker.stop()


def test_a_device_row_cannot_take_the_bridge_account(world, engine, tmp_path):
    """Even a row that bypassed the API's check (older data, a hand edit) gets no password line."""
    with session_scope(engine) as session:
        sealed = sealer_for(engine.url).seal("impostor-secret", "wasteflow-bridge")
        session.add(Device(id="wasteflow-bridge", kind="gps", sealed_secret=sealed, require_signature=False,
                           vehicle_id=world.ids["vehicle"]))
    auth = tmp_path / "auth"
    write_files(auth, all_accounts(engine, "wasteflow-bridge", BRIDGE_PASSWORD))
    lines = (auth / "passwords").read_text().splitlines()
    assert [line.split(":")[0] for line in lines].count("wasteflow-bridge") == 1
    broker = start_mosquitto(tmp_path / "broker", overrides={
        "allow_anonymous": "false", "password_file": str(auth / "passwords"), "acl_file": str(auth / "acl")})
    try:
        impostor, rc = connect(broker, "wasteflow-bridge", "impostor-secret", "impostor")
        impostor.loop_stop()
        assert rc.is_failure
        bridge, rc = connect(broker, "wasteflow-bridge", BRIDGE_PASSWORD, "real-bridge")
        assert not rc.is_failure
        bridge.disconnect()
        bridge.loop_stop()
    finally:
        broker.stop()


def test_without_impostors_keeps_services_and_first_claims():
    services = [Account("wasteflow-bridge", "b")]
    devices = [Account("wasteflow-bridge", "x"), Account("gps-1", "s"), Account("gps-1", "t"),
               Account("regulator-alerts", "y")]
    assert [(a.username, a.password) for a in without_impostors(services, devices)] == [
        ("wasteflow-bridge", "b"), ("gps-1", "s")]
