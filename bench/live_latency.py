"""Live-finding latency: publish the reading that completes a violation -> the finding is visible.

    python -m bench.live_latency               # 50 trips on PostgreSQL
    python -m bench.live_latency --trips 100

Path measured: paho publisher (QoS 1) -> Mosquitto (shipped config, free port) -> in-process
``BridgeWorker`` (parse, store in one transaction, acknowledge) -> ``attach_live_detection``'s
``LiveDetector`` (coalesces, runs every 0.5 s: load the trip, run the live rules, record,
commit) -> alert published on ``wf/v1/alerts/{severity}/{code}`` -> a paho subscriber.

For each trip (one after another, the World's truck, a fresh PostgreSQL database) the trip's
history is published first (drive out, the violation almost complete), the bench waits until
it is stored and examined, then publishes the single completing message and times:

* ``db``: until the finding's row is visible to a poller (every 20 ms),
* ``alert``: until the subscriber receives the alert.

Violations rotate over UNAUTHORIZED_STOP (the fix that makes the stop 10 minutes long),
RESTRICTED_ZONE_ENTRY (the first fix inside the zone) and IMPOSSIBLE_JUMP (the glitch fix).
Target (findings.md): p99 < 5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


@dataclass
class Latency:
    code: str
    db_s: float  # inf when the finding never became visible
    alert_s: float  # inf when the alert never arrived


@dataclass
class Rig:
    """The system under measurement, and how to publish a batch of the World's GPS fixes to it."""

    env: Any
    detector: Any
    publisher: Any
    alerts: list[tuple[dict, float]]  # (alert body, monotonic time received)
    zone_centre: tuple[float, float]
    secret: str
    seq: int = 0

    def publish(self, points: list[tuple[datetime, float, float]]) -> None:
        from mqtt_bridge.signing import signed_payload
        from tests.utils.monitoring import GPS

        items = []
        for t, lon, lat in points:
            self.seq += 1
            items.append({"seq": self.seq, "ts": t.isoformat(), "lat": round(lat, 7), "lon": round(lon, 7)})
        self.publisher.publish_one(f"wf/v1/dev/{GPS}/gps", signed_payload(GPS, self.secret, {"batch": items}))


Points = list[tuple[datetime, float, float]]


def _stop_for_ten_minutes(d: Any, rig: Rig) -> tuple[Points, Points]:
    from tests.utils.monitoring import along

    d.go(along(0.4)).stay(600)
    return d.points[:-1], d.points[-1:]


def _enter_the_zone(d: Any, rig: Rig) -> tuple[Points, Points]:
    from tests.utils.monitoring import MID, move

    d.go(MID).go(move(rig.zone_centre, north_m=700))
    history = d.take()
    d.go(move(rig.zone_centre, north_m=400), kmh=120)
    return history, d.points[:1]


def _jump_forty_km(d: Any, rig: Rig) -> tuple[Points, Points]:
    from tests.utils.monitoring import along, move

    d.go(along(0.3))
    history = d.take()
    d.jump(move(along(0.3), east_m=40_000))
    return history, d.points


VIOLATIONS: dict[str, Callable[[Any, Rig], tuple[Points, Points]]] = {
    "UNAUTHORIZED_STOP": _stop_for_ten_minutes,
    "RESTRICTED_ZONE_ENTRY": _enter_the_zone,
    "IMPOSSIBLE_JUMP": _jump_forty_km,
}
"""Each violation's drive: (the history, almost the violation; the one completing fix or fixes)."""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trips", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)

    import tempfile

    from bench.databases import create_database, drop_database
    from tests.utils.brokers import start_mosquitto

    name, url = create_database()
    broker = start_mosquitto(tempfile.mkdtemp(prefix="wf-live-latency-"))
    try:
        results = _measure(url, broker, args.trips)
    finally:
        broker.kill()
        if not args.keep:
            drop_database(name)
    _print_table(results)
    finite = [r.db_s for r in results if r.db_s != float("inf")]
    return {"trips": len(results), "p50_s": percentile(finite, 50), "p99_s": percentile(finite, 99),
            "missed": len(results) - len(finite)}


def _measure(url: str, broker: Any, trips: int) -> list[Latency]:
    from fastapi.testclient import TestClient

    from wasteflow.api.app import create_app
    from wasteflow.config import Settings
    from wasteflow.database import get_engine

    settings = Settings(database_url=url, mqtt_url=broker.url, bridge_batch_ms=50)
    engine = get_engine(url)
    with TestClient(create_app(settings)) as client, ExitStack() as running:
        rig = _start_rig(client, engine, settings, broker, running)
        t = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1.5 * trips + 2)
        results = []
        for k in range(trips):
            code = list(VIOLATIONS)[k % len(VIOLATIONS)]
            latency, t = _one_trip(rig, code, t)
            results.append(latency)
            print(f"trip {k + 1:3}/{trips} {code:22} db {latency.db_s:6.2f}s alert {latency.alert_s:6.2f}s",
                  file=sys.stderr)
    engine.dispose()
    return results


def _start_rig(client: Any, engine: Any, settings: Any, broker: Any, running: ExitStack) -> Rig:
    """The World with a restricted zone, a bridge with live detection, and an alert subscriber."""
    from mqtt_bridge.worker import BridgeWorker
    from tests.utils.brokers import Publisher, wait_bridge_ready
    from tests.utils.monitoring import GPS, along, make_env, move
    from tests.utils.world import build_world
    from wasteflow.wiring import attach_live_detection

    world = build_world(client, engine)
    env = make_env(world, engine, settings)
    zone_centre = move(along(0.75), north_m=-2000)
    env.zone("Water source", "restricted", zone_centre, 500)
    worker = BridgeWorker(settings, client_id="bench-live-latency")
    worker.start()
    running.callback(worker.stop)
    assert worker.wait_connected(10), "bridge did not connect"
    detector = attach_live_detection(worker)
    running.callback(detector.stop)
    publisher = Publisher(broker.url).connect()
    running.callback(publisher.close)
    wait_bridge_ready(engine, publisher, GPS)
    alerts: list[tuple[dict, float]] = []
    _subscribe_to_alerts(broker, alerts, running)
    return Rig(env, detector, publisher, alerts, zone_centre, world.secrets[GPS])


def _subscribe_to_alerts(broker: Any, alerts: list[tuple[dict, float]], running: ExitStack) -> None:
    import paho.mqtt.client as mqtt

    subscribed = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-alerts", protocol=mqtt.MQTTv5)
    sub.on_connect = lambda c, *a: c.subscribe("wf/v1/alerts/#", qos=1)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = lambda c, u, m: alerts.append((json.loads(m.payload), time.monotonic()))
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    running.callback(sub.disconnect)
    running.callback(sub.loop_stop)
    assert subscribed.wait(10)


def _one_trip(rig: Rig, code: str, t: datetime) -> tuple[Latency, datetime]:
    """Dispatch, publish the history, then time the completing fix; returns when the next trip may start."""
    from tests.utils.monitoring import CEMENT, Drive

    no = rig.env.dispatch(t)
    d = Drive(t).fix()
    history, completing = VIOLATIONS[code](d, rig)
    rig.publish(history)
    runs_before = rig.detector.runs
    deadline = time.monotonic() + 10
    while rig.detector.runs == runs_before and time.monotonic() < deadline:
        time.sleep(0.02)  # the history has been stored and examined
    time.sleep(0.1)
    started = time.monotonic()
    rig.publish(completing)
    latency = _wait_for_finding(rig, no, code, started)
    # finish the trip so the next one is the truck's only open manifest
    d.go(CEMENT, kmh=90)
    rig.env.receive(no, 30000, d.t + timedelta(minutes=1))
    return latency, d.t + timedelta(minutes=30)


def _wait_for_finding(rig: Rig, no: str, code: str, started: float, timeout_s: float = 30.0) -> Latency:
    db_s = alert_s = None
    deadline = started + timeout_s
    while (db_s is None or alert_s is None) and time.monotonic() < deadline:
        if db_s is None and any(f.code == code for f in rig.env.findings(no, code)):
            db_s = time.monotonic() - started
        if alert_s is None:
            got = [at for body, at in rig.alerts if body["manifest_no"] == no and body["code"] == code]
            if got:
                alert_s = got[0] - started
        time.sleep(0.02)
    return Latency(code, db_s if db_s is not None else float("inf"), alert_s if alert_s is not None else float("inf"))


def _print_table(results: list[Latency]) -> None:
    print()
    print(f"{'latency (s)':28} {'n':>4} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'missed':>7}")
    for label, values in (("publish -> finding in DB", [r.db_s for r in results]),
                          ("publish -> alert received", [r.alert_s for r in results])):
        finite = [v for v in values if v != float("inf")]
        print(f"{label:28} {len(values):>4} {percentile(finite, 50):>7.2f} {percentile(finite, 90):>7.2f} "
              f"{percentile(finite, 99):>7.2f} {max(finite):>7.2f} {len(values) - len(finite):>7}")
    by_code: dict[str, list[float]] = {}
    for r in results:
        by_code.setdefault(r.code, []).append(r.db_s)
    for code, db_values in by_code.items():
        print(f"  {code:26} {len(db_values):>4} {statistics.median(db_values):>7.2f}")
    print("\n(target: p99 < 5 s; the detector runs every 0.5 s, the bridge batches for up to 50 ms)")


if __name__ == "__main__":
    main()
