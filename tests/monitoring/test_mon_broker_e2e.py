"""End to end through the real broker and bridge: signed gps / load / weigh messages published
with paho to Mosquitto, stored by an in-process ``BridgeWorker`` with ``attach_live_detection``;
each live finding is in the database within 5 s of publishing the reading that completes it, and
arrives on ``wf/v1/alerts/{severity}/{code}`` for a paho subscriber. Reconciliation codes appear
at receipt; ticket codes when the weigh message arrives.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest

from mqtt_bridge.signing import signed_payload
from mqtt_bridge.worker import BridgeWorker
from tests.utils.brokers import MOSQUITTO, Publisher, start_mosquitto, wait_bridge_ready
from tests.utils.monitoring import CEMENT, GPS, LOAD, PLATE, Drive, along, base_time, make_env, move
from wasteflow.config import Settings
from wasteflow.wiring import attach_live_detection

pytestmark = [
    pytest.mark.mosquitto,
    pytest.mark.skipif(shutil.which(MOSQUITTO) is None, reason=f"{MOSQUITTO} is not installed"),
]

LIVE_BUDGET_S = 5.0


class AlertListener:
    def __init__(self, url: str):
        from mqtt_bridge.worker import BrokerAddress

        address = BrokerAddress.parse(url)
        self.messages: list[tuple[str, dict, float]] = []
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"alerts-{time.monotonic_ns()}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *a: c.subscribe("wf/v1/alerts/#", qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = lambda c, u, m: self.messages.append(
            (m.topic, json.loads(m.payload), time.monotonic()))
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        assert self.ready.wait(10), "the alert subscriber could not subscribe"

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()

    def wait_for(self, code: str, since: float, timeout: float) -> tuple[str, dict, float]:
        deadline = since + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if message[1]["code"] == code and message[2] >= since:
                    return message
            time.sleep(0.02)
        raise AssertionError(f"no {code} alert within {timeout}s; got {[m[0] for m in self.messages]}")


@pytest.fixture
def wired(world, engine, db_url, tmp_path):
    broker = start_mosquitto(tmp_path)
    settings = Settings(database_url=db_url, mqtt_url=broker.url, bridge_batch_ms=50)
    worker = BridgeWorker(settings, client_id=f"bridge-{time.monotonic_ns()}")
    worker.start()
    assert worker.wait_connected(10)
    detector = attach_live_detection(worker)
    publisher = Publisher(broker.url).connect()
    listener = AlertListener(broker.url)
    wait_bridge_ready(engine, publisher, GPS)
    env = make_env(world, engine, settings)
    yield env, publisher, listener
    listener.close()
    publisher.close()
    detector.stop()
    worker.stop()
    broker.kill()


class Device:
    def __init__(self, world, device_id: str, kind: str):
        self.id, self.kind, self.secret = device_id, kind, world.secrets[device_id]
        self.seq = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def batch(self, items: list[dict]) -> tuple[str, bytes]:
        for item in items:
            item.setdefault("seq", self.next_seq())
        return f"wf/v1/dev/{self.id}/{self.kind}", signed_payload(self.id, self.secret, {"batch": items})

    def one(self, item: dict) -> tuple[str, bytes]:
        item.setdefault("seq", self.next_seq())
        return f"wf/v1/dev/{self.id}/{self.kind}", signed_payload(self.id, self.secret, item)


def gps_items(points):
    return [{"ts": t.isoformat(), "lat": round(lat, 7), "lon": round(lon, 7), "speed_kmh": 40.0}
            for t, lon, lat in points]


def weigh_item(ticket_no, net_kg, at, manifest_no, plate=PLATE):
    return {"ts": at.isoformat(), "ticket_no": ticket_no, "plate": plate, "gross_kg": net_kg + 15000,
            "tare_kg": 15000, "net_kg": net_kg, "gross_at": (at - timedelta(minutes=2)).isoformat(),
            "tare_at": at.isoformat(), "manifest_no": manifest_no}


def publish_and_wait(env, publisher, listener, message, no, code, severity, budget=LIVE_BUDGET_S):
    """Publish the completing message; the finding must be stored and announced within the budget."""
    started = time.monotonic()
    publisher.publish_one(*message)
    while time.monotonic() - started < budget:
        if env.findings(no, code):
            break
        time.sleep(0.05)
    stored_after = time.monotonic() - started
    assert env.findings(no, code), f"{code} not stored within {budget}s of publishing"
    topic, body, received = listener.wait_for(code, started, budget)
    assert topic == f"wf/v1/alerts/{severity}/{code}" and body["manifest_no"] == no
    assert received - started <= budget
    return stored_after


def test_every_live_code_through_the_broker(wired):
    env, publisher, listener = wired
    detour = move(along(0.5), north_m=1500)
    env.site("outsider", "Unlicensed pit", "landfill", detour)
    zone_centre = move(along(0.75), north_m=-2000)
    env.zone("Water source", "restricted", zone_centre, 500)
    gps, load = Device(env.world, GPS, "gps"), Device(env.world, LOAD, "load")
    t0 = base_time(3)
    route = {"type": "LineString", "coordinates": [list(along(0)), list(CEMENT)]}
    no = env.dispatch(t0, route=route, corridor_m=500)
    d = Drive(t0).fix()
    latencies = {}

    # IMPOSSIBLE_JUMP: a glitch 40 km east, completed by the glitch fix itself
    d.go(along(0.2))
    publisher.publish_one(*gps.batch(gps_items(d.take())))
    d.jump(move(along(0.2), east_m=40_000))
    latencies["IMPOSSIBLE_JUMP"] = publish_and_wait(env, publisher, listener, gps.batch(gps_items(d.take())),
                                                    no, "IMPOSSIBLE_JUMP", "warning")
    d.jump(along(0.21))
    # UNAUTHORIZED_STOP: 11 minutes standing on the road; the last fix completes it
    d.go(along(0.3)).stay(650)
    publisher.publish_one(*gps.batch(gps_items(d.points[:-1])))
    last = d.take()[-1:]
    latencies["UNAUTHORIZED_STOP"] = publish_and_wait(env, publisher, listener, gps.batch(gps_items(last)),
                                                      no, "UNAUTHORIZED_STOP", "warning")
    # LOAD_DROP: the load falls by 4 t over two readings while the truck crawls on
    drop_at = d.t
    d.go(along(0.33), kmh=20)
    publisher.publish_one(*gps.batch(gps_items(d.take())))
    readings = [{"ts": (t0 + timedelta(seconds=60 * k)).isoformat(), "load_kg": 30000}
                for k in range(int((drop_at - t0).total_seconds() // 60))]
    publisher.publish_one(*load.batch(readings + [{"ts": (drop_at + timedelta(seconds=30)).isoformat(),
                                                   "load_kg": 26000}]))
    latencies["LOAD_DROP"] = publish_and_wait(
        env, publisher, listener,
        load.batch([{"ts": (drop_at + timedelta(seconds=60)).isoformat(), "load_kg": 26000}]),
        no, "LOAD_DROP", "critical")
    # ROUTE_DEVIATION then DIVERSION: off to a pit 1.5 km from the route, six minutes inside
    d.go(along(0.45)).go(move(along(0.46), north_m=1500), kmh=15)
    publisher.publish_one(*gps.batch(gps_items(d.points[:-1])))
    last = d.take()[-1:]
    latencies["ROUTE_DEVIATION"] = publish_and_wait(env, publisher, listener, gps.batch(gps_items(last)),
                                                    no, "ROUTE_DEVIATION", "warning")
    d.go(detour, kmh=30).stay(310)
    publisher.publish_one(*gps.batch(gps_items(d.points[:-1])))
    last = d.take()[-1:]
    latencies["DIVERSION"] = publish_and_wait(env, publisher, listener, gps.batch(gps_items(last)),
                                              no, "DIVERSION", "critical")
    # RESTRICTED_ZONE_ENTRY: the first fix inside the zone completes it
    d.go(along(0.6)).go(move(zone_centre, north_m=700))
    publisher.publish_one(*gps.batch(gps_items(d.take())))
    d.go(move(zone_centre, north_m=400), kmh=120)  # one fix, 100 m inside the zone
    latencies["RESTRICTED_ZONE_ENTRY"] = publish_and_wait(env, publisher, listener,
                                                          gps.batch(gps_items(d.take()[:1])),
                                                          no, "RESTRICTED_ZONE_ENTRY", "critical")
    assert max(latencies.values()) < LIVE_BUDGET_S, latencies
    # more fixes of the same stop episode... none: each code is one finding, one alert
    time.sleep(1.0)
    for code in latencies:
        assert len(env.findings(no, code)) >= 1
        assert len([m for m in listener.messages if m[1]["code"] == code]) == len(env.findings(no, code))
    assert len(env.findings(no, "UNAUTHORIZED_STOP")) == 1 and len(env.findings(no, "DIVERSION")) == 1


def test_reconciliation_and_tickets_through_the_broker(wired):
    env, publisher, listener = wired
    gps, _load = Device(env.world, GPS, "gps"), Device(env.world, LOAD, "load")
    plant_wb, cement_wb = Device(env.world, "wb-plant", "weigh"), Device(env.world, "wb-cement", "weigh")
    t0 = base_time(3)
    no = env.dispatch(t0)
    publisher.publish_one(*plant_wb.one(weigh_item("P-0001", 30000, t0 - timedelta(minutes=5), no)))
    d = Drive(t0).fix().go(along(0.3))
    publisher.publish_one(*gps.batch(gps_items(d.take())))
    d.go(along(0.4)).stay(720).go(along(0.45))
    tunnel = d.take()
    d.go(CEMENT).stay(60)
    publisher.publish_one(*gps.batch(gps_items(d.take())))
    publisher.publish_one(*cement_wb.one(weigh_item("C-0001", 27000, d.t, no)))
    deadline = time.monotonic() + 10
    while env.status(no) != "arrived" or not env.manifest(no)["arrival_ticket"]:
        assert time.monotonic() < deadline, (env.status(no), env.manifest(no)["arrival_ticket"])
        time.sleep(0.1)
    body = env.receive(no, 27000, d.t + timedelta(minutes=3))
    assert body["status"] == "reconciled"
    codes = {f["code"] for f in body["findings"] if f["status"] == "open"}
    assert codes == {"GPS_GAP", "TONNAGE_SHORTFALL"}

    # the tunnel's buffered fixes arrive late: the gap is withdrawn, the stop in it raised
    started = time.monotonic()
    publisher.publish_one(*gps.batch(gps_items(tunnel)))
    listener.wait_for("UNAUTHORIZED_STOP", started, LIVE_BUDGET_S)
    deadline = time.monotonic() + LIVE_BUDGET_S
    while env.findings(no, "GPS_GAP")[0].status != "withdrawn":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    shortfall = env.findings(no, "TONNAGE_SHORTFALL")[0]
    deadline = time.monotonic() + LIVE_BUDGET_S
    while not shortfall.evidence.get("candidates"):
        assert time.monotonic() < deadline, shortfall.evidence
        time.sleep(0.1)
        shortfall = env.findings(no, "TONNAGE_SHORTFALL")[0]
    assert shortfall.evidence["candidates"][0]["kind"] == "unauthorized_stop"

    # tickets: another plate, then a ticket number already used
    other = env.dispatch(d.t + timedelta(minutes=10))
    publisher.publish_one(*cement_wb.one(weigh_item("C-0002", 29000, d.t + timedelta(minutes=40), other,
                                                    plate="蒙B99999")))
    publisher.publish_one(*plant_wb.one(weigh_item("P-0001", 30000, d.t + timedelta(minutes=5), other)))
    deadline = time.monotonic() + LIVE_BUDGET_S
    while {f.code for f in env.findings(other)} != {"PLATE_MISMATCH", "DUPLICATE_TICKET"}:
        assert time.monotonic() < deadline, [f.code for f in env.findings(other)]
        time.sleep(0.05)


def publish_during_receipt(env, publisher, message, no, accepted_kg, at, delay_s):
    """Sign the receipt; publish `message` `delay_s` after it starts (0: at the same instant)."""
    start = threading.Barrier(2)

    def later():
        start.wait()
        time.sleep(delay_s)
        publisher.publish_one(*message)

    thread = threading.Thread(target=later)
    thread.start()
    start.wait()
    env.receive(no, accepted_kg, at)
    thread.join(10)


def settled(env, no, expected: set[str], budget: float) -> dict:
    """Wait until the manifest's open findings are `expected` and it is reconciled; return it."""
    deadline = time.monotonic() + budget
    while True:
        body = env.manifest(no)
        found = {f["code"] for f in body["findings"] if f["status"] != "withdrawn"}
        if found == expected and body["status"] == "reconciled":
            return body
        assert time.monotonic() < deadline, (found, body["status"])
        time.sleep(0.05)


@pytest.mark.parametrize("delay_s", [0.0, 0.05, 0.5, 2.0])
def test_late_tickets_reconcile_again_through_the_bridge(wired, delay_s):
    """The weighbridges' tickets reach the bridge after the receipt (issue 17 item 3), at several
    delays: linked by plate and time to the received manifest that lacks them, they re-run its
    reconciliation — the stale MISSING_TICKET is withdrawn, and a shortfall they reveal raised."""
    env, publisher, listener = wired
    gps = Device(env.world, GPS, "gps")
    plant_wb, cement_wb = Device(env.world, "wb-plant", "weigh"), Device(env.world, "wb-cement", "weigh")
    cases = [  # (late tickets, arrival net, findings once they are in)
        ("arrival", 30000, set()),
        ("both", 27000, {"TONNAGE_SHORTFALL"}),
    ]
    for k, (late, arrival_net, expected) in enumerate(cases):
        t0 = base_time(6 - 2 * k)
        no = env.dispatch(t0)
        departure = plant_wb.one(weigh_item(f"P-{delay_s}-{k}", 30000, t0 - timedelta(minutes=5), None))
        if late == "arrival":
            publisher.publish_one(*departure)
        d = Drive(t0, every=30.0).fix().go(CEMENT, kmh=80).stay(300)
        publisher.publish_one(*gps.batch(gps_items(d.take())))
        deadline = time.monotonic() + 10
        while env.status(no) != "arrived" or (late == "arrival" and not env.manifest(no)["departure_ticket"]):
            assert time.monotonic() < deadline, env.status(no)
            time.sleep(0.05)
        arrival = cement_wb.one(weigh_item(f"C-{delay_s}-{k}", arrival_net, d.t - timedelta(minutes=1), None))
        publish_during_receipt(env, publisher, arrival, no, arrival_net, d.t + timedelta(minutes=2), delay_s)
        if late == "both":
            time.sleep(delay_s)
            publisher.publish_one(*departure)
        body = settled(env, no, expected, LIVE_BUDGET_S + delay_s)
        assert body["arrival_ticket"]["ticket_no"] == f"C-{delay_s}-{k}"
        assert body["departure_ticket"]["ticket_no"] == f"P-{delay_s}-{k}"
        missing = [f for f in body["findings"] if f["code"] == "MISSING_TICKET"]
        assert all(f["status"] == "withdrawn" for f in missing)
        if expected:
            [shortfall] = [f for f in body["findings"] if f["code"] == "TONNAGE_SHORTFALL"]
            assert shortfall["evidence"]["difference_kg"] == arrival_net - 30000
