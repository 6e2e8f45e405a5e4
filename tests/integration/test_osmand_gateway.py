"""The OsmAnd HTTP gateway end to end: real HTTP requests (each of the three shapes), the gateway
served by uvicorn, a real Mosquitto on the shipped configuration, the bridge, SQLite or PostgreSQL.

A fix of each shape lands in the store unverified via osmand; a resend is stored once; an unknown
phone and unreadable values are 400 (and quarantined); what the bridge refuses is quarantined by
it; a phone registered after the gateway started is known at its first request; and with the
broker down no request is answered 200 until the broker holds its fix.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlmodel import Session, select

from mqtt_bridge.gateways.osmand.directory import PhoneDirectory
from mqtt_bridge.gateways.osmand.server import OsmandGateway, QuarantineRate
from mqtt_bridge.gateways.publisher import GatewayPublisher
from mqtt_bridge.worker import BridgeWorker
from tests.utils.brokers import REPO, free_port, start_mosquitto, wait_for_count, wait_port
from wasteflow.config import Settings
from wasteflow.database import get_engine
from wasteflow.tracks.models import GpsFix

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def broker(tmp_path):
    running = start_mosquitto(tmp_path)
    yield running
    running.kill()


@pytest.fixture
def bridge(db_url, broker):
    worker = BridgeWorker(Settings(database_url=db_url, mqtt_url=broker.url, bridge_batch_ms=50),
                          client_id=f"bridge-osmand-{time.monotonic_ns()}")
    worker.start()
    assert worker.wait_connected(10)
    yield worker
    worker.stop()


@pytest.fixture
def phones(world):
    for device_id in ("osmand:123456", "osmand:driver.li"):
        response = world.post("/v1/devices", {"id": device_id, "kind": "gps", "vehicle_plate": "蒙B12345"},
                              "transporter")
        assert response.status_code == 201, response.text
        assert response.json()["protocol"] == "osmand" and response.json()["require_signature"] is False
    return world


@asynccontextmanager
async def gateway(db_url: str, broker_url: str, **options):
    """The gateway on a real socket, and an HTTP client pointed at it."""
    publisher = GatewayPublisher(broker_url, f"osmand-test-{time.monotonic_ns()}")
    publisher.start()
    assert await asyncio.to_thread(publisher.wait_connected, 10)
    directory = PhoneDirectory(get_engine(db_url))
    await asyncio.to_thread(directory.load_all)
    running = OsmandGateway(publisher, directory, **options)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(running, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield running, client
    finally:
        server.should_exit = True
        await task
        publisher.stop()


def epoch(minutes_ago: float) -> int:
    return int((datetime.now(UTC) - timedelta(minutes=minutes_ago)).timestamp())


def traccar_body(device_id: str, at: datetime, lat: float = 40.62) -> dict:
    return {"device_id": device_id,
            "location": {"timestamp": at.isoformat().replace("+00:00", "Z"), "is_moving": True,
                         "coords": {"latitude": lat, "longitude": 109.83, "speed": 10, "heading": 90,
                                    "accuracy": 5, "altitude": 1000},
                         "battery": {"level": 0.5, "is_charging": True}}}


def quarantined(engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT reason, device_id FROM quarantine ORDER BY id"))]


def test_each_shape_is_stored_once_unverified_via_osmand(phones, engine, db_url, broker, bridge):
    t_query, t_form = epoch(10), epoch(9)
    t_json = (datetime.now(UTC) - timedelta(minutes=8)).replace(microsecond=0)

    async def scenario():
        async with gateway(db_url, broker.url) as (running, client):
            get = await client.get("/", params={"id": "123456", "lat": "40.61", "lon": "109.82",
                                                "timestamp": t_query, "speed": "20", "bearing": "45", "batt": "80"})
            post = await client.post("/", data={"deviceid": "driver.li", "location": "40.615,109.825",
                                                "timestamp": t_form * 1000})
            body = traccar_body("123456", t_json)
            sent = await client.post("/", json=body)
            again = await client.post("/", json=body)  # not answered in time, as far as the phone knows
            assert [r.status_code for r in (get, post, sent, again)] == [200] * 4, [r.text for r in (get, post)]
            return running.counters

    counters = asyncio.run(scenario())
    assert counters.accepted == 4 and counters.fixes_published == 4
    assert wait_for_count(engine, "gps_fix", 3, timeout=30, settle_s=1.0) == 3, "the resend is stored once"
    with Session(engine) as session:
        fixes = {f.seq: f for f in session.exec(select(GpsFix)).all()}
    assert set(fixes) == {t_query, t_form, int(t_json.timestamp())}
    by_query = fixes[t_query]
    assert by_query.device_id == "osmand:123456" and by_query.via == "osmand" and by_query.verified is False
    assert by_query.speed_kmh == pytest.approx(37.04) and by_query.heading == 45
    assert by_query.attrs == {"battery_pct": 80.0}
    assert fixes[t_form].device_id == "osmand:driver.li" and (fixes[t_form].lat, fixes[t_form].lon) == (40.615, 109.825)
    by_json = fixes[int(t_json.timestamp())]
    assert by_json.speed_kmh == pytest.approx(36.0) and by_json.attrs["charging"] is True


def test_unreadable_requests_are_400_and_quarantined_and_the_bridge_judges_the_rest(phones, engine, db_url,
                                                                                       broker, bridge):
    async def scenario():
        async with gateway(db_url, broker.url, max_body_bytes=1024) as (running, client):
            answers = [await client.get("/", params=params) for params in (
                {"lat": "40", "lon": "109"},                                       # no id
                {"id": "999", "lat": "40", "lon": "109"},                          # unknown phone
                {"id": "123456", "lat": "forty", "lon": "109"},                    # a number that does not parse
                {"id": "123456", "lat": "95", "lon": "109"},                       # out of range
            )]
            bridge_refuses = await client.get("/", params={"id": "123456", "lat": "0", "lon": "0",
                                                           "timestamp": epoch(5)})
            too_old = await client.get("/", params={"id": "123456", "lat": "40.6", "lon": "109.8",
                                                    "timestamp": epoch(60 * 24 * 40)})
            too_large = await client.post("/", json={"device_id": "123456", "pad": "x" * 2000})
            assert too_large.status_code == 413 and too_large.text.startswith("too_large")
            return running.counters, answers, bridge_refuses, too_old

    counters, answers, bridge_refuses, too_old = asyncio.run(scenario())
    assert [a.status_code for a in answers] == [400] * 4
    assert [a.text.split(":")[0] for a in answers] == ["no_id", "unknown_device", "bad_number", "bad_latitude"]
    assert "osmand:999" in answers[1].text
    assert bridge_refuses.status_code == 200 and too_old.status_code == 200, "the bridge's to judge"
    assert dict(counters.unreadable) == {"no_id": 1, "unknown_device": 1, "bad_number": 1, "bad_latitude": 1,
                                         "too_large": 1}
    assert wait_for_count(engine, "quarantine", 7, timeout=30, settle_s=1.0) == 7
    reasons = sorted(quarantined(engine), key=repr)
    assert reasons == sorted([("no_id", None), ("unknown_device", "osmand:999"), ("bad_number", "osmand:123456"),
                              ("bad_latitude", "osmand:123456"), ("null_island", "osmand:123456"),
                              ("ts_too_old", "osmand:123456"), ("too_large", None)], key=repr)
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT payload FROM quarantine WHERE reason = 'bad_number'")).scalar_one()
    assert bytes(raw).startswith(b"GET /?id=123456&lat=forty"), "the request itself is kept"
    assert wait_for_count(engine, "gps_fix", 0, timeout=1) == 0


def test_quarantine_records_are_rated():
    """An open port's junk: past the rate a minute, refusals are answered and counted, not recorded."""
    now = [0.0]
    rate = QuarantineRate(3, clock=lambda: now[0])
    assert [rate.allow() for _ in range(5)] == [True, True, True, False, False]
    now[0] = 61.0
    assert rate.allow()


def test_a_phone_registered_after_start_is_known_at_once(phones, engine, db_url, broker, bridge):
    async def scenario():
        async with gateway(db_url, broker.url) as (_running, client):
            params = {"id": "late", "lat": "40.6", "lon": "109.8", "timestamp": epoch(3)}
            assert (await client.get("/", params=params)).status_code == 400
            response = await asyncio.to_thread(phones.post, "/v1/devices", {
                "id": "osmand:late", "kind": "gps", "vehicle_plate": "蒙B12345"}, "transporter")
            assert response.status_code == 201
            await asyncio.sleep(5.1)  # an unknown id is remembered as unknown for 5 s
            assert (await client.get("/", params=params)).status_code == 200

    asyncio.run(scenario())
    assert wait_for_count(engine, "gps_fix", 1, timeout=30) == 1


def test_no_200_while_the_broker_is_down(phones, engine, db_url, broker, bridge):
    """Broker down: 503 at once (the phone keeps the fix); back up: the resent fix is 200 and stored."""
    async def scenario():
        async with gateway(db_url, broker.url, publish_timeout_s=2.0) as (running, client):
            params = {"id": "123456", "lat": "40.63", "lon": "109.84", "timestamp": epoch(2)}
            broker.stop()
            await asyncio.sleep(0.5)
            down = await client.get("/", params=params)
            broker.start()
            for _ in range(100):
                if running.publisher.connected.is_set():
                    break
                await asyncio.sleep(0.2)
            back = await client.get("/", params=params)
            return down, back

    down, back = asyncio.run(scenario())
    assert down.status_code == 503 and "broker" in down.text
    assert back.status_code == 200
    assert wait_for_count(engine, "gps_fix", 1, timeout=30, settle_s=1.0) == 1


def test_no_200_when_the_broker_never_acknowledges(phones, db_url, broker):
    """Connected as far as the gateway knows, but the broker is frozen: the request times out as 503."""
    async def scenario():
        async with gateway(db_url, broker.url, publish_timeout_s=1.5) as (_running, client):
            broker.process.send_signal(19)  # SIGSTOP: the TCP connection stays up, no PUBACK comes
            try:
                return await client.get("/", params={"id": "123456", "lat": "40.6", "lon": "109.8",
                                                     "timestamp": epoch(1)})
            finally:
                broker.process.send_signal(18)  # SIGCONT

    answer = asyncio.run(scenario())
    assert answer.status_code == 503


def test_the_cli_serves_phones(phones, engine, db_url, broker, bridge, tmp_path):
    """``wasteflow gateway http`` as the service runs it: a JSON fix in, 200, stored."""
    port = free_port()
    env = {"WASTEFLOW_DATABASE_URL": db_url, "WASTEFLOW_MQTT_URL": broker.url, "PYTHONUNBUFFERED": "1",
           "WASTEFLOW_OSMAND_LISTEN": f"127.0.0.1:{port}", "PATH": "/usr/bin:/bin"}
    log_path = tmp_path / "gateway.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "wasteflow.cli", "gateway", "http"], env=env, cwd=str(REPO),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_port(port, timeout=30)
        at = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
        response = httpx.post(f"http://127.0.0.1:{port}/", content=json.dumps(traccar_body("driver.li", at)),
                              headers={"content-type": "application/json"}, timeout=30)
        assert response.status_code == 200, log_path.read_text()
    finally:
        proc.terminate()
        assert proc.wait(15) == 0, log_path.read_text()
    assert wait_for_count(engine, "gps_fix", 1, timeout=30) == 1
