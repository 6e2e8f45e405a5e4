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
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trips", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)

    import tempfile

    import paho.mqtt.client as mqtt
    from fastapi.testclient import TestClient

    from bench.databases import create_database, drop_database
    from mqtt_bridge.signing import signed_payload
    from mqtt_bridge.worker import BridgeWorker
    from tests.utils.brokers import Publisher, start_mosquitto, wait_bridge_ready
    from tests.utils.monitoring import CEMENT, GPS, MID, Drive, along, make_env, move
    from tests.utils.world import build_world
    from wasteflow.api.app import create_app
    from wasteflow.config import Settings
    from wasteflow.database import get_engine
    from wasteflow.live import attach_live_detection

    name, url = create_database()
    workdir = tempfile.mkdtemp(prefix="wf-live-latency-")
    broker = start_mosquitto(workdir)
    results: list[tuple[str, float, float]] = []
    try:
        settings = Settings(database_url=url, mqtt_url=broker.url, bridge_batch_ms=50)
        engine = get_engine(url)
        with TestClient(create_app(settings)) as client:
            world = build_world(client, engine)
            env = make_env(world, engine, settings)
            zone_centre = move(along(0.75), north_m=-2000)
            env.zone("Water source", "restricted", zone_centre, 500)

            worker = BridgeWorker(settings, client_id="bench-live-latency")
            worker.start()
            assert worker.wait_connected(10), "bridge did not connect"
            detector = attach_live_detection(worker)
            publisher = Publisher(broker.url).connect()
            wait_bridge_ready(engine, publisher, GPS)

            alerts: list[tuple[dict, float]] = []
            subscribed = threading.Event()
            sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-alerts", protocol=mqtt.MQTTv5)
            sub.on_connect = lambda c, *a: c.subscribe("wf/v1/alerts/#", qos=1)
            sub.on_subscribe = lambda *a: subscribed.set()
            sub.on_message = lambda c, u, m: alerts.append((json.loads(m.payload), time.monotonic()))
            sub.connect(broker.host, broker.port)
            sub.loop_start()
            assert subscribed.wait(10)

            secret, seq = world.secrets[GPS], [0]

            def message(points) -> tuple[str, bytes]:
                items = []
                for t, lon, lat in points:
                    seq[0] += 1
                    items.append({"seq": seq[0], "ts": t.isoformat(), "lat": round(lat, 7), "lon": round(lon, 7)})
                return f"wf/v1/dev/{GPS}/gps", signed_payload(GPS, secret, {"batch": items})

            kinds = ("UNAUTHORIZED_STOP", "RESTRICTED_ZONE_ENTRY", "IMPOSSIBLE_JUMP")
            now = datetime.now(UTC).replace(microsecond=0)
            t = now - timedelta(hours=1.5 * args.trips + 2)
            for k in range(args.trips):
                code = kinds[k % len(kinds)]
                no = env.dispatch(t)
                d = Drive(t).fix()
                if code == "UNAUTHORIZED_STOP":
                    d.go(along(0.4)).stay(600)
                    history, completing = d.points[:-1], d.points[-1:]
                elif code == "RESTRICTED_ZONE_ENTRY":
                    d.go(MID).go(move(zone_centre, north_m=700))
                    history = d.take()
                    d.go(move(zone_centre, north_m=400), kmh=120)
                    completing = d.points[:1]
                else:
                    d.go(along(0.3))
                    history = d.take()
                    d.jump(move(along(0.3), east_m=40_000))
                    completing = d.points
                publisher.publish_one(*message(history))
                runs_before = detector.runs
                deadline = time.monotonic() + 10
                while detector.runs == runs_before and time.monotonic() < deadline:
                    time.sleep(0.02)  # the history has been stored and examined
                time.sleep(0.1)
                started = time.monotonic()
                publisher.publish_one(*message(completing))
                db_s = alert_s = None
                deadline = started + 30
                while (db_s is None or alert_s is None) and time.monotonic() < deadline:
                    if db_s is None and any(f.code == code for f in env.findings(no, code)):
                        db_s = time.monotonic() - started
                    if alert_s is None:
                        got = [at for body, at in alerts if body["manifest_no"] == no and body["code"] == code]
                        if got:
                            alert_s = got[0] - started
                    time.sleep(0.02)
                results.append((code, db_s if db_s is not None else float("inf"),
                                alert_s if alert_s is not None else float("inf")))
                # finish the trip so the next one is the truck's only open manifest
                d.go(CEMENT, kmh=90)
                env.receive(no, 30000, d.t + timedelta(minutes=1))
                t = d.t + timedelta(minutes=30)
                print(f"trip {k + 1:3}/{args.trips} {code:22} db {results[-1][1]:6.2f}s alert {results[-1][2]:6.2f}s",
                      file=sys.stderr)
            sub.loop_stop()
            sub.disconnect()
            publisher.close()
            detector.stop()
            worker.stop()
        engine.dispose()
    finally:
        broker.kill()
        if not args.keep:
            drop_database(name)

    print()
    print(f"{'latency (s)':28} {'n':>4} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'missed':>7}")
    for label, column in (("publish -> finding in DB", 1), ("publish -> alert received", 2)):
        values = [r[column] for r in results]
        finite = [v for v in values if v != float("inf")]
        print(f"{label:28} {len(values):>4} {percentile(finite, 50):>7.2f} {percentile(finite, 90):>7.2f} "
              f"{percentile(finite, 99):>7.2f} {max(finite):>7.2f} {len(values) - len(finite):>7}")
    by_code = {}
    for code, db_s, _ in results:
        by_code.setdefault(code, []).append(db_s)
    for code, values in by_code.items():
        print(f"  {code:26} {len(values):>4} {statistics.median(values):>7.2f}")
    print("\n(target: p99 < 5 s; the detector runs every 0.5 s, the bridge batches for up to 50 ms)")
    finite = [r[1] for r in results if r[1] != float("inf")]
    return {"trips": len(results), "p50_s": percentile(finite, 50), "p99_s": percentile(finite, 99),
            "missed": len(results) - len(finite)}


if __name__ == "__main__":
    main()
