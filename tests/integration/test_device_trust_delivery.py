"""Through a real Mosquitto and the bridge: a disabled device's fix lands in quarantine as
``device_disabled``, and after a rotation fixes signed with the old secret (within its grace
period) and with the new one are both stored as verified."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from mqtt_bridge.worker import BridgeWorker
from tests.utils.brokers import Publisher, gps_topic, signed_fix, start_mosquitto, wait_bridge_ready, wait_for_count
from wasteflow.config import Settings

pytestmark = pytest.mark.mosquitto

GPS, PROBE = "gps-0001", "load-0001"


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
def bridge(db_url, broker):
    worker = BridgeWorker(Settings(database_url=db_url, mqtt_url=broker.url, bridge_batch_ms=50),
                          client_id="bridge-trust")
    worker.start()
    assert worker.wait_connected(10)
    yield worker
    worker.stop()


def test_a_disabled_devices_fix_is_quarantined_with_its_reason(world, engine, publisher, bridge):
    assert world.post(f"/v1/devices/{GPS}/disable", {}, "transporter").status_code == 200
    wait_bridge_ready(engine, publisher, PROBE)
    fix = signed_fix(GPS, world.secrets[GPS], 1)
    publisher.publish_one(gps_topic(GPS), fix)
    assert wait_for_count(engine, "quarantine", 1, timeout=15) == 1
    with engine.connect() as conn:
        row = conn.execute(text("SELECT reason, device_id, payload FROM quarantine")).one()
    assert (row.reason, row.device_id, bytes(row.payload)) == ("device_disabled", GPS, fix)
    assert wait_for_count(engine, "gps_fix", 1, timeout=1) == 0


def test_after_a_rotation_both_secrets_sign_within_grace(world, engine, publisher, bridge):
    old = world.secrets[GPS]
    new = world.post(f"/v1/devices/{GPS}/secret", {}, "transporter").json()["secret"]
    wait_bridge_ready(engine, publisher, PROBE)
    publisher.publish_all([(gps_topic(GPS), signed_fix(GPS, old, 1)), (gps_topic(GPS), signed_fix(GPS, new, 2)),
                           (gps_topic(GPS), signed_fix(GPS, "guessed", 3))])
    assert wait_for_count(engine, "gps_fix", 2, timeout=15) == 2
    assert wait_for_count(engine, "quarantine", 1, timeout=15) == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM gps_fix WHERE verified")).scalar_one() == 2
        assert conn.execute(text("SELECT reason FROM quarantine")).scalar_one() == "bad_signature"
