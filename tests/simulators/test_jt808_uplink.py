"""The demo's JT/T 808 uplink: what the fleet would publish as JSON reaches the store through
terminals, the real gateway and the demo's embedded broker; a held-back batch is back-filled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from mqtt_bridge.embedded import EmbeddedBroker
from mqtt_bridge.worker import BridgeWorker
from simulators.jt808_uplink import Jt808Uplink, free_port, start_gateway, stop_gateway, terminal_ids
from tests.utils.brokers import wait_for_count
from wasteflow.config import Settings
from wasteflow.tracks.models import GpsFix


def test_the_fleets_messages_arrive_through_terminals_and_the_gateway(world, engine, db_url, tmp_path):
    ids = terminal_ids(["jt-a", "jt-b"])
    for device_id, terminal_id in ids.items():
        response = world.post("/v1/devices", {"id": device_id, "kind": "gps", "vehicle_plate": "蒙B12345",
                                              "protocol": "jt808", "terminal_id": terminal_id}, "transporter")
        assert response.status_code == 201, response.text
    now = datetime.now(UTC).replace(microsecond=0)

    def fix(seq: int, at: datetime) -> dict:
        return {"seq": seq, "ts": at.isoformat(), "lat": 40.61 + seq * 1e-4, "lon": 109.82, "speed_kmh": 35.0,
                "heading": 90, "sig": "dropped"}

    with EmbeddedBroker() as broker:
        worker = BridgeWorker(Settings(database_url=db_url, mqtt_url=broker.url, mqtt_protocol="3.1.1",
                                       bridge_batch_ms=50), client_id="uplink-test-bridge")
        worker.start()
        port = free_port()
        gateway = start_gateway(db_url, broker.url, port, tmp_path / "gateway.log", mqtt_protocol="3.1.1")
        uplink = Jt808Uplink(port, ids)
        try:
            assert worker.wait_connected(10)
            uplink.start()
            uplink.publish("wf/v1/dev/jt-a/gps", json.dumps(fix(1, now - timedelta(minutes=20))).encode())
            held = {"batch": [fix(10 + i, now - timedelta(minutes=15, seconds=-10 * i)) for i in range(30)]}
            uplink.publish("wf/v1/dev/jt-b/gps", json.dumps(held).encode())
            assert uplink.wait_acked(30) and uplink.errors == []
            assert uplink.sent == 2
            assert wait_for_count(engine, "gps_fix", 31, timeout=30) == 31
        finally:
            uplink.close()
            stop_gateway(gateway)
            worker.stop()
    with Session(engine) as session:
        rows = session.exec(select(GpsFix)).all()
    assert {r.via for r in rows} == {"jt808"} and {r.device_id for r in rows} == {"jt-a", "jt-b"}
    assert sum(1 for r in rows if (r.attrs or {}).get("blind_area")) == 30, "a 5-minute batch is a back-fill"
