"""The JT/T 808 gateway end to end: simulated terminals over real TCP, the gateway, a real
Mosquitto on the shipped configuration, the bridge, and SQLite or PostgreSQL.

A terminal registers, authenticates and reports 0x0200 and 0x0704 (normal, blind-area,
subpackaged) fixes that appear in the manifest's track; a wrong code closes the connection; a
resent frame is stored once; nothing is acknowledged before the broker's PUBACK; a gateway
killed with SIGKILL in the middle of a burst and restarted loses nothing it acknowledged; who
may connect, idle terminals, and poisoned frames.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from mqtt_bridge.gateways.jt808 import messages as m
from mqtt_bridge.gateways.jt808.directory import TerminalDirectory
from mqtt_bridge.gateways.jt808.framing import V2019
from mqtt_bridge.gateways.jt808.server import Jt808Gateway
from mqtt_bridge.gateways.publisher import GatewayPublisher
from mqtt_bridge.worker import BridgeWorker
from simulators.jt808_terminal import Fix, Refused, Terminal
from tests.utils.brokers import REPO, free_port, start_mosquitto, table_count, wait_for_count, wait_port
from tests.utils.monitoring import CEMENT, Drive, along, base_time
from wasteflow.config import Settings
from wasteflow.database import get_engine
from wasteflow.tracks.models import GpsFix

pytestmark = pytest.mark.mosquitto

PHONE_2013 = "013912345678"
PHONE_2019 = "00000000013900000002"
LOAD_ITEM = {"id": 0x55, "bytes": 4, "unit_kg": 0.1}


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def broker(tmp_path):
    running = start_mosquitto(tmp_path)
    yield running
    running.kill()


@pytest.fixture
def bridge(db_url, broker):
    worker = BridgeWorker(Settings(database_url=db_url, mqtt_url=broker.url, bridge_batch_ms=50),
                          client_id=f"bridge-jt808-{time.monotonic_ns()}")
    worker.start()
    assert worker.wait_connected(10)
    yield worker
    worker.stop()


@pytest.fixture
def terminals(world):
    for device_id, phone, extra in (("jt-1", PHONE_2013, {"load_item": LOAD_ITEM}), ("jt-2", PHONE_2019, {})):
        response = world.post("/v1/devices", {"id": device_id, "kind": "gps", "vehicle_plate": "蒙B12345",
                                              "protocol": "jt808", "terminal_id": phone, **extra}, "transporter")
        assert response.status_code == 201, response.text
    return world


@asynccontextmanager
async def gateway(db_url: str, broker_url: str, **options):
    publisher = GatewayPublisher(broker_url, f"gw-test-{time.monotonic_ns()}")
    publisher.start()
    assert await asyncio.to_thread(publisher.wait_connected, 10)
    directory = TerminalDirectory(get_engine(db_url))
    await asyncio.to_thread(directory.load_all)
    running = Jt808Gateway(publisher, directory, **options)
    server = await running.start("127.0.0.1", 0)
    running.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        server.close()
        await running.close()
        publisher.stop()


def fixes(n: int, start: datetime, lat: float = 40.61, step_s: int = 10, **extra) -> list[Fix]:
    return [Fix(lat + i * 1e-4, 109.82 + i * 1e-4, start + timedelta(seconds=step_s * i), speed_kmh=40, direction=90,
                load_state=3, **extra) for i in range(n)]


async def stored(engine, table: str, expected: int, timeout: float = 30) -> int:
    return await asyncio.to_thread(wait_for_count, engine, table, expected, timeout, 0.3)


def quarantine_reasons(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT reason FROM quarantine ORDER BY id"))]


# --- the whole way into a manifest's track -------------------------------------------------------


def test_fixes_of_both_versions_reach_the_manifests_track(terminals, engine, db_url, broker, bridge):
    world = terminals
    now = datetime.now(UTC).replace(microsecond=0)
    no = world.file(at=(now - timedelta(minutes=40)).isoformat())
    assert world.post(f"/v1/manifests/{no}/dispatch", {"at": (now - timedelta(minutes=30)).isoformat()},
                      "generator").status_code == 200
    load = {0x55: (241800).to_bytes(4, "big")}

    async def scenario():
        async with gateway(db_url, broker.url) as running:
            old = await Terminal(PHONE_2013).login("127.0.0.1", running.port)
            for fix in fixes(5, now - timedelta(minutes=25), items=load):
                assert (await old.report(fix)).result == m.OK
            assert (await old.report_batch(fixes(3, now - timedelta(minutes=20), items=load))).result == m.OK
            tunnel = fixes(4, now - timedelta(minutes=15))
            assert (await old.report_batch(tunnel, blind_area=True)).result == m.OK
            assert (await old.report_batch(fixes(120, now - timedelta(minutes=10), step_s=2))).result == m.OK
            assert old.resend_requests == [], "a 120-fix batch went as 4 packages, all arrived"
            new = await Terminal(PHONE_2019, V2019).login("127.0.0.1", running.port)
            assert (await new.report(fixes(1, now - timedelta(minutes=5), lat=40.70)[0])).result == m.OK
            await old.close()
            await new.close()
            return running.counters

    counters = asyncio.run(scenario())
    assert counters.accepted == 9 and counters.publish_failures == 0
    assert wait_for_count(engine, "gps_fix", 5 + 3 + 4 + 120 + 1, timeout=30) == 133
    assert wait_for_count(engine, "load_reading", 8, timeout=10) == 8
    with Session(engine) as session:
        attrs = session.exec(select(GpsFix.attrs).where(GpsFix.device_id == "jt-1")).all()
    assert sum(1 for a in attrs if a.get("blind_area")) == 4
    assert {a["load_state"] for a in attrs} == {"full"} and {a["satellites"] for a in attrs} == {12}
    track = world.get(f"/v1/manifests/{no}/track", "transporter").json()
    points = [f["properties"] for f in track["features"] if f["properties"]["kind"] == "fix"]
    assert len(points) == 133
    assert {p["via"] for p in points} == {"jt808"} and not any(p["verified"] for p in points)
    assert {p["device_id"] for p in points} == {"jt-1", "jt-2"}
    trip = world.get(f"/v1/manifests/{no}", "transporter").json()["trip"]
    assert trip["fixes_via"] == {"jt808": 133} and trip["unverified_fixes"] == 133 and trip["load_readings"] == 8
    assert table_count(engine, "quarantine") == 0


# --- who may report --------------------------------------------------------------------------------


def test_a_wrong_code_closes_the_connection_and_is_quarantined(terminals, engine, db_url, broker, bridge):
    async def scenario():
        async with gateway(db_url, broker.url) as running:
            forger = await Terminal(PHONE_2013).connect("127.0.0.1", running.port)
            with pytest.raises(Refused, match="result 1"):
                await forger.authenticate("DEADBEEFDEADBEEF")
            await asyncio.sleep(0.2)
            assert not forger.connected, "the gateway closed the connection"
            stranger = await Terminal("013800000000").connect("127.0.0.1", running.port)
            with pytest.raises(Refused, match="result 4"):
                await stranger.register()
            refused = await stranger.report(fixes(1, datetime.now(UTC))[0])
            assert refused.result == m.FAILED and stranger.connected
            await stranger.close()

    asyncio.run(scenario())
    assert wait_for_count(engine, "quarantine", 3, timeout=15) == 3
    assert quarantine_reasons(engine) == ["bad_auth_code", "unknown_terminal", "unauthenticated"]
    assert table_count(engine, "gps_fix") == 0


def test_only_allowed_networks_connect_and_idle_terminals_are_dropped(terminals, db_url, broker):
    async def scenario():
        async with gateway(db_url, broker.url, allow="10.0.0.0/8") as running:
            outsider = await Terminal(PHONE_2013).connect("127.0.0.1", running.port)
            await asyncio.sleep(0.3)
            assert not outsider.connected and running.counters.refused == 1
        async with gateway(db_url, broker.url, allow="127.0.0.0/8", idle_s=1.0, tick_s=0.2) as running:
            quiet = await Terminal(PHONE_2013).login("127.0.0.1", running.port)
            assert quiet.connected
            await asyncio.sleep(2.0)
            assert not quiet.connected and running.counters.idle_closed == 1

    asyncio.run(scenario())


# --- once, and only after PUBACK -----------------------------------------------------------------------


def test_a_resent_frame_is_stored_once(terminals, engine, db_url, broker, bridge):
    async def scenario():
        async with gateway(db_url, broker.url) as running:
            terminal = await Terminal(PHONE_2013).login("127.0.0.1", running.port)
            frame = terminal.frame(m.LOCATION, fixes(1, datetime.now(UTC) - timedelta(minutes=1))[0].body())
            answers: list[int] = []
            terminal.on_answer = lambda serial, answer: answers.append(answer.result)
            terminal.write(frame)
            terminal.write(frame)  # no acknowledgement seen yet: a terminal sends it again
            for _ in range(100):
                if len(answers) == 2:
                    break
                await asyncio.sleep(0.05)
            assert answers == [m.OK, m.OK]
            await terminal.close()

    asyncio.run(scenario())
    assert wait_for_count(engine, "gps_fix", 1, timeout=15, settle_s=1.0) == 1


def test_nothing_is_acknowledged_before_the_broker_holds_it(terminals, engine, db_url, broker, bridge):
    async def scenario():
        async with gateway(db_url, broker.url) as running:
            terminal = await Terminal(PHONE_2013, timeout_s=1.5).login("127.0.0.1", running.port)
            broker.stop()
            await asyncio.sleep(0.5)
            fix = fixes(1, datetime.now(UTC) - timedelta(minutes=1))[0]
            with pytest.raises(Refused, match="no answer"):
                await terminal.report(fix)
            answered = asyncio.get_running_loop().create_future()
            terminal.on_answer = lambda serial, answer: answered.done() or answered.set_result(answer)
            broker.start()
            answer = await asyncio.wait_for(answered, 30)
            assert answer.result == m.OK
            await terminal.close()

    asyncio.run(scenario())
    assert wait_for_count(engine, "gps_fix", 1, timeout=30) == 1


# --- a gateway killed mid-burst -----------------------------------------------------------------------


def _start_gateway_process(db_url: str, broker_url: str, port: int, log_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASTEFLOW_") or k == "WASTEFLOW_SECRET_KEY"}
    env.update({"WASTEFLOW_DATABASE_URL": db_url, "WASTEFLOW_MQTT_URL": broker_url, "PYTHONUNBUFFERED": "1",
                "WASTEFLOW_JT808_LISTEN": f"127.0.0.1:{port}", "WASTEFLOW_LOG_LEVEL": "INFO"})
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "mqtt_bridge.gateways.jt808"], env=env, cwd=str(REPO),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_port(port, timeout=30)
    return proc


def test_sigkill_mid_burst_loses_nothing_acknowledged(terminals, engine, db_url, broker, bridge, tmp_path):
    port, log_path, total = free_port(), tmp_path / "gateway.log", 400
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    burst = fixes(total, start)
    acknowledged: dict[int, datetime] = {}
    processes = [_start_gateway_process(db_url, broker.url, port, log_path)]

    async def scenario():
        terminal = await Terminal(PHONE_2013).login("127.0.0.1", port)
        frames: dict[int, bytes] = {}
        when: dict[int, datetime] = {}
        for fix in burst:
            when[terminal.serial] = fix.when
            frames[terminal.serial] = terminal.frame(m.LOCATION, fix.body())
        terminal.on_answer = lambda serial, answer: answer.result == m.OK and acknowledged.setdefault(
            serial, when[serial]) if serial in when else None
        for raw in frames.values():
            terminal.write(raw)
        while len(acknowledged) < total // 4:
            await asyncio.sleep(0.005)
        processes[0].send_signal(signal.SIGKILL)  # mid-burst: no chance to clean up
        processes[0].wait()
        killed_at = len(acknowledged)
        await terminal.close()
        processes.append(_start_gateway_process(db_url, broker.url, port, log_path))
        again = Terminal(PHONE_2013, plate=terminal.plate)
        again.auth_code = terminal.auth_code  # a terminal keeps its code across reconnects
        again.on_answer = terminal.on_answer
        await again.login("127.0.0.1", port)
        for serial, raw in frames.items():  # a terminal sends again what was never acknowledged
            if serial not in acknowledged:
                again.write(raw)
        for _ in range(600):
            if len(acknowledged) == total:
                break
            await asyncio.sleep(0.05)
        await again.close()
        return killed_at

    try:
        killed_at = asyncio.run(scenario())
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
    assert total // 4 <= killed_at < total, "the kill did not land mid-burst"
    assert len(acknowledged) == total, log_path.read_text()[-3000:]
    assert wait_for_count(engine, "gps_fix", total, timeout=60, settle_s=1.0) == total
    with Session(engine) as session:
        rows = set(session.exec(select(GpsFix.seq, GpsFix.ts).where(GpsFix.device_id == "jt-1")).all())
    assert rows >= set(acknowledged.items()), "an acknowledged fix is missing"


# --- poisoned input ---------------------------------------------------------------------------------


def test_poisoned_frames_are_quarantined_and_the_connection_lives_on(terminals, engine, db_url, broker, bridge):
    async def scenario():
        async with gateway(db_url, broker.url) as running:
            terminal = await Terminal(PHONE_2013).login("127.0.0.1", running.port)
            good = terminal.frame(m.LOCATION, fixes(1, datetime.now(UTC) - timedelta(minutes=1))[0].body())
            bad_checksum = good[:-2] + bytes([good[-2] ^ 0x5A]) + b"\x7e"
            terminal.write(b"\x00\x01garbage" + bad_checksum + b"\x7e\x02\x00\x7d\x03\x7e" + good[:20])
            assert (await terminal.heartbeat()).result == m.OK  # the next frame is still read
            assert (await terminal.report(fixes(1, datetime.now(UTC) - timedelta(seconds=30))[0])).result == m.OK
            await terminal.close()
            return bad_checksum

    bad_checksum = asyncio.run(scenario())
    assert wait_for_count(engine, "quarantine", 4, timeout=15) == 4
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT reason, payload, device_id, topic FROM quarantine ORDER BY id")).all()
    assert [r.reason for r in rows] == ["truncated", "bad_checksum", "bad_escape", "truncated"]
    assert bytes(rows[1].payload) == bad_checksum and rows[1].device_id == "jt-1"
    assert {r.topic for r in rows} == {"wf/v1/quarantine/jt808"}
    assert wait_for_count(engine, "gps_fix", 1, timeout=15) == 1


# --- blind-area back-fill is late data ----------------------------------------------------------------


def test_a_blind_area_upload_after_receipt_re_reconciles_and_raises_a_finding_via_jt808(
        terminals, engine, db_url, broker, bridge):
    """A truck stops in a tunnel; its terminal, out of coverage, keeps the fixes and uploads them
    (0x0704 type 1) after the receipt is signed: the trip is reconciled again, and the stop it
    reveals is a finding whose evidence says the fixes came via jt808, unverified."""
    from wasteflow.wiring import attach_live_detection

    world = terminals
    detector = attach_live_detection(bridge)
    t0 = base_time()
    no = world.file(at=(t0 - timedelta(minutes=20)).isoformat())
    assert world.post(f"/v1/manifests/{no}/dispatch", {"at": t0.isoformat()}, "generator").status_code == 200
    drive = Drive(t0).fix().go(along(0.3))
    before_tunnel = drive.take()
    drive.go(along(0.4)).stay(720).go(along(0.45))
    in_tunnel = drive.take()
    drive.go(CEMENT).stay(60)
    after_tunnel = drive.take()

    def as_fixes(points):
        return [Fix(lat, lon, t, speed_kmh=40, direction=60, load_state=3) for t, lon, lat in points]

    async def report(points, blind_area=False):
        async with gateway(db_url, broker.url) as running:
            terminal = await Terminal(PHONE_2013).login("127.0.0.1", running.port)
            assert (await terminal.report_batch(as_fixes(points), blind_area=blind_area)).result == m.OK
            await terminal.close()

    try:
        asyncio.run(report(before_tunnel + after_tunnel))
        assert wait_for_count(engine, "gps_fix", len(before_tunnel) + len(after_tunnel), timeout=30) > 0
        time.sleep(1.5)  # live detection has seen them
        body = world.post(f"/v1/manifests/{no}/receive", {"accepted_kg": 30000,
                                                           "at": (drive.t + timedelta(minutes=2)).isoformat()},
                          "receiver").json()
        assert body["status"] == "reconciled"
        assert "GPS_GAP" in [f["code"] for f in body["findings"]]
        asyncio.run(report(in_tunnel, blind_area=True))
        deadline = time.monotonic() + 30
        stops: list = []
        while not stops and time.monotonic() < deadline:
            time.sleep(0.3)
            found = world.get("/v1/findings", "regulator", manifest_no=no).json()["items"]
            stops = [f for f in found if f["code"] == "UNAUTHORIZED_STOP"]
    finally:
        detector.stop()
    assert stops, "the back-filled stop was never found"
    (stop,) = stops
    assert stop["evidence"]["via"] == ["jt808"] and stop["verified"] is False
    gap = [f for f in world.get("/v1/findings", "regulator", manifest_no=no).json()["items"] if f["code"] == "GPS_GAP"]
    assert gap and gap[0]["status"] == "withdrawn", "the tunnel's gap is filled: the finding is withdrawn"
