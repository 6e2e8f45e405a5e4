"""The scale gateway end to end: the indicator simulator streaming over TCP, ``wasteflow gateway
scale`` as a process, a real Mosquitto on the shipped configuration, the bridge, and SQLite or
PostgreSQL.

A truck weighed empty then loaded (or loaded then empty) makes exactly one signed ticket, stored
and linked to its manifest; a load held for less than the hold time, or in motion, makes none;
a gateway killed between the two weighings, or killed with a ticket the broker never
acknowledged, still makes the ticket, once, under one number.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from mqtt_bridge.gateways.scale.spool import Spool
from mqtt_bridge.worker import BridgeWorker
from simulators.scale_indicator import Indicator
from tests.utils.brokers import start_mosquitto, table_count, wait_for_count
from tests.utils.scale import ScaleGatewayProcess
from wasteflow.config import Settings
from wasteflow.tickets.models import WeighTicket

pytestmark = pytest.mark.mosquitto

PLATE = "蒙B12345"
HOLD_S = 1.0


@pytest.fixture
def broker(tmp_path):
    running = start_mosquitto(tmp_path)
    yield running
    running.kill()


@pytest.fixture
def bridge(db_url, broker):
    worker = BridgeWorker(Settings(database_url=db_url, mqtt_url=broker.url, bridge_batch_ms=50),
                          client_id=f"bridge-scale-{time.monotonic_ns()}")
    worker.start()
    assert worker.wait_connected(10)
    yield worker
    worker.stop()


@pytest.fixture(params=["xk3190-a9", "toledo"])
def indicator(request):
    running = Indicator(request.param, rate_hz=20, garbage=0.05).start()
    yield running
    running.close()


@pytest.fixture
def gateway(world, broker, indicator, tmp_path):
    process = ScaleGatewayProcess("wb-plant", world.secrets["wb-plant"], indicator.port, indicator.fmt,
                                  tmp_path / "spool.db", broker.url, tmp_path / "scale-gateway.log", hold_s=HOLD_S)
    process.start()
    yield process
    process.stop()
    print(process.log_path.read_text()[-6000:])  # shown when the test failed


def tickets(engine) -> list[WeighTicket]:
    with Session(engine) as session:
        return list(session.exec(select(WeighTicket).order_by(WeighTicket.id)).all())


def filed(world) -> str:
    return world.file(at=(datetime.now(UTC) - timedelta(minutes=30)).isoformat())


def test_empty_then_loaded_makes_one_ticket_linked_to_its_manifest(world, engine, bridge, indicator, gateway):
    no = filed(world)
    gateway.plate(PLATE, manifest_no=no)
    indicator.weigh(15080, hold_s=HOLD_S + 2.5, ramp_s=0.8)
    gateway.plate(PLATE)
    indicator.weigh(49260, hold_s=HOLD_S + 2.5, ramp_s=0.8)
    assert wait_for_count(engine, "weigh_ticket", 1, timeout=30, settle_s=1.0) == 1
    (ticket,) = tickets(engine)
    assert (ticket.plate, ticket.gross_kg, ticket.tare_kg, ticket.net_kg) == (PLATE, 49260, 15080, 34180)
    assert ticket.manifest_no == no and ticket.direction == "departure"
    assert ticket.verified and ticket.via == "scale" and ticket.seq == 1
    assert ticket.tare_at < ticket.gross_at == ticket.ts
    assert ticket.ticket_no.startswith("wb-plant-") and ticket.ticket_no.endswith("-00001")
    assert table_count(engine, "quarantine") == 0
    assert [w["kg"] for w in gateway.weighings()] == [15080, 49260]


def test_loaded_then_empty_with_the_plate_named_afterwards(world, engine, bridge, indicator, gateway):
    no = filed(world)
    gateway.plate(PLATE, manifest_no=no)
    indicator.weigh(49260, hold_s=HOLD_S + 2.5, ramp_s=0.8)
    indicator.weigh(15080, hold_s=HOLD_S + 2.5, ramp_s=0.8)  # the camera missed it
    (lonely,) = gateway.weighings(unassigned=True)
    assert lonely["kg"] == 15080
    status, refused = gateway.call("POST", "/plate", {"plate": "", "weighing_id": lonely["weighing_id"]})
    assert status == 400 and refused["reason"] == "bad_plate"
    status, unknown = gateway.call("POST", "/plate", {"plate": PLATE, "weighing_id": 999})
    assert status == 404 and unknown["reason"] == "unknown_weighing"
    answer = gateway.plate(PLATE, weighing_id=lonely["weighing_id"])
    assert answer["ticket_no"].endswith("-00001")
    assert wait_for_count(engine, "weigh_ticket", 1, timeout=30, settle_s=1.0) == 1
    (ticket,) = tickets(engine)
    assert (ticket.gross_kg, ticket.tare_kg) == (49260, 15080) and ticket.gross_at < ticket.tare_at
    assert ticket.manifest_no == no


def test_too_short_or_in_motion_makes_no_weighing(world, engine, bridge, indicator, gateway):
    gateway.plate(PLATE)
    indicator.drive_on(30000, ramp_s=0.5)
    time.sleep(0.5 + HOLD_S * 0.5)
    indicator.drive_off(0.5)
    time.sleep(1.0)
    indicator.drive_on(30000, ramp_s=0.5)
    indicator.rock(HOLD_S * 3)
    time.sleep(0.5 + HOLD_S * 2.5)
    indicator.drive_off(0.5)
    time.sleep(1.0)
    assert gateway.weighings() == []
    status, counters = gateway.call("GET", "/status")
    assert status == 200 and counters["pending_tickets"] == 0


def test_killed_between_the_weighings_still_makes_the_ticket_once(world, engine, bridge, indicator, gateway):
    no = filed(world)
    gateway.plate(PLATE, manifest_no=no)
    indicator.weigh(15080, hold_s=HOLD_S + 2.5, ramp_s=0.8)
    gateway.wait_weighings(1)
    gateway.kill()
    gateway.start()
    gateway.plate(PLATE)
    indicator.weigh(49260, hold_s=HOLD_S + 2.5, ramp_s=0.8)
    assert wait_for_count(engine, "weigh_ticket", 1, timeout=30, settle_s=2.0) == 1
    (ticket,) = tickets(engine)
    assert (ticket.gross_kg, ticket.tare_kg, ticket.manifest_no) == (49260, 15080, no)


@pytest.mark.xfail(reason="known defect, open on issue 11: in file order the ticket spooled during a broker "
                          "outage is sometimes never stored after the gateway restarts (passes alone)", strict=False)
def test_a_broker_outage_and_a_kill_lose_no_ticket_and_number_it_once(world, engine, bridge, broker, indicator,
                                                                       gateway):
    no = filed(world)
    broker.kill()
    gateway.plate(PLATE, manifest_no=no)
    indicator.weigh(15080, hold_s=HOLD_S + 2.5, ramp_s=0.8)
    gateway.plate(PLATE)
    indicator.weigh(49260, hold_s=HOLD_S + 2.5, ramp_s=0.8)
    gateway.wait_weighings(2)
    gateway.kill()  # the ticket is made and was never acknowledged
    spool = Spool(gateway.spool, "wb-plant", "unused")
    (pending,) = spool.pending()
    broker.start()
    gateway.start()
    # The bridge and the gateway both come back on their own backoff (the bridge's up to 16 s) after
    # an outage that grew it: the wait allows for both, the assertion stays "exactly one".
    assert wait_for_count(engine, "weigh_ticket", 1, timeout=90, settle_s=2.0) == 1
    (ticket,) = tickets(engine)
    assert ticket.ticket_no == pending.ticket_no and ticket.manifest_no == no
    deadline = time.monotonic() + 10
    while spool.pending() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert spool.pending() == [] and len(spool.tickets()) == 1
    spool.close()
