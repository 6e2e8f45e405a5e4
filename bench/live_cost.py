"""Live detection's cost with 1,000 trucks on the road: runs/s and CPU per run.

    python -m bench.live_cost                       # 1,000 trucks, 6 h of history each, 3 runs
    python -m bench.live_cost --vehicles 200 --runs 1

On a fresh PostgreSQL database (dropped afterwards): ``--vehicles`` trucks, each with its GPS
device and a manifest in transit, each with ``--history-hours`` of fixes every 60 s already
stored. Each run stores one new fix per truck (the way the bridge does, one batch), tells the
``LiveDetector`` (as the bridge's writer does) and times one ``run_once``: every truck's trip is
claimed (advisory lock), locked, read, run through the live rules and recorded, one transaction
each. The trucks drive on (18 km/h, one fix a minute), so no rule fires.

Runs/s is trips examined per wall-clock second; CPU per run is this process's CPU time per
trip examined (PostgreSQL's own work is not in it). Two rows: the default recent window
(``live_lookback_s``) and, for comparison, a lookback covering the whole history.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _write(store, fleet, fixes_of) -> dict:
    """One stored batch of GPS fixes per 100 trucks; returns the devices' event-time spans."""
    from mqtt_bridge.parsing import Accepted
    from tests.utils.monitoring import gps_records

    spans: dict = {}
    for start in range(0, len(fleet), 100):
        batch = [Accepted(topic=f"wf/v1/dev/{t.gps}/gps", kind="gps", device_id=t.gps,
                          records=gps_records(fixes_of(k), device_id=t.gps))
                 for k, t in enumerate(fleet[start:start + 100], start)]
        spans.update(store.write(batch).spans)
    return spans


def _fix(k: int, t0: datetime, minute: int) -> tuple:
    """Truck ``k``'s fix ``minute`` minutes after ``t0``: driving east from the generator's site
    at 18 km/h in its own lane, one fix a minute."""
    from tests.utils.monitoring import PLANT, move

    return (t0 + timedelta(minutes=minute), *move(PLANT, east_m=400 + 300 * minute, north_m=3 * k))


def measure(vehicles: int, history_h: float, runs: int, lookbacks: list[float]) -> list[dict]:
    from fastapi.testclient import TestClient
    from sqlalchemy import update
    from sqlmodel import col

    from bench.databases import create_database, drop_database
    from mqtt_bridge.store import TelemetryStore
    from tests.utils.fleet import clone_trucks
    from tests.utils.world import build_world
    from wasteflow.api.app import create_app
    from wasteflow.config import Settings
    from wasteflow.database import get_engine, session_scope
    from wasteflow.manifests.models import Manifest
    from wasteflow.monitoring.live_detector import LiveDetector
    from wasteflow.monitoring.monitor import Monitor

    name, url = create_database()
    try:
        settings = Settings(database_url=url)
        engine = get_engine(url)
        minutes = int(history_h * 60)
        t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes + 10)
        with TestClient(create_app(settings)) as client:
            world = build_world(client, engine)
            template = world.file(at=(t0 - timedelta(minutes=10)).isoformat())
            assert world.post(f"/v1/manifests/{template}/dispatch", {"at": t0.isoformat()},
                              "generator").status_code == 200
            fleet = clone_trucks(engine, template, vehicles)
            with session_scope(engine) as session:
                session.execute(update(Manifest).where(col(Manifest.manifest_no).in_([t.manifest_no for t in fleet]))
                                .values(status="in_transit", in_transit_at=t0 + timedelta(minutes=1)))
            store = TelemetryStore(engine)
            _write(store, fleet, lambda k: [_fix(k, t0, m) for m in range(minutes)])
            out = []
            step = 0
            for lookback in lookbacks:
                detector = LiveDetector(engine, Monitor(settings.model_copy(update={"live_lookback_s": lookback})))
                rates, cpu = [], []
                for _ in range(runs + 1):  # the first run warms the place cache and the connections
                    step += 1
                    spans = _write(store, fleet, lambda k, m=minutes + step: [_fix(k, t0, m)])
                    detector.notify(spans)
                    gc.collect()
                    started, cpu_started = time.perf_counter(), time.process_time()
                    detector.run_once()
                    wall, used = time.perf_counter() - started, time.process_time() - cpu_started
                    assert not detector.pending, "every truck examined in the run"
                    rates.append(vehicles / wall)
                    cpu.append(used / vehicles)
                out.append({"lookback_s": lookback, "rates": rates[1:], "cpu_s": cpu[1:],
                            "fixes_read": min(minutes, int(lookback // 60)) + step})
        engine.dispose()
        return out
    finally:
        drop_database(name)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--history-hours", type=float, default=6.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    from wasteflow.config import Settings

    default = Settings.model_fields["live_lookback_s"].default
    rows = measure(args.vehicles, args.history_hours, args.runs, [default, 48 * 3600.0])
    print(f"\n{'lookback':>10} {'trucks':>7} {'history':>8} {'runs/s median':>14} {'min':>7} {'max':>7} "
          f"{'CPU ms/run':>11}")
    for row in rows:
        print(f"{row['lookback_s'] / 3600:>9.0f}h {args.vehicles:>7} {args.history_hours:>7.0f}h "
              f"{statistics.median(row['rates']):>14.0f} {min(row['rates']):>7.0f} {max(row['rates']):>7.0f} "
              f"{statistics.median(row['cpu_s']) * 1000:>11.2f}")
    print(f"\n(one LiveDetector.run_once over every truck, median of {args.runs} runs; CPU is this process's"
          f"\n time per trip examined, PostgreSQL's excluded)")
    first = rows[0]
    return {"vehicles": args.vehicles, "runs_s": statistics.median(first["rates"]),
            "cpu_ms": statistics.median(first["cpu_s"]) * 1000,
            "whole_runs_s": statistics.median(rows[1]["rates"]),
            "whole_cpu_ms": statistics.median(rows[1]["cpu_s"]) * 1000, "history_h": args.history_hours}


if __name__ == "__main__":
    main()
