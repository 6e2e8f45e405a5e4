"""Reconciliation benchmark: finished trips of ~500 fixes against 1,000 sites and 100 zones.

    python -m bench.reconcile                 # pure pipeline + Monitor.reconcile on PostgreSQL
    python -m bench.reconcile --no-db         # pure pipeline only
    python -m bench.reconcile --trips 200 --runs 5 --db-trips 40

Pure: ``wasteflow.detection.pipeline.reconcile`` over realistic trips (the detection tests'
``clean_scenario``: 15 s fixes, 15-30 m GPS noise and spikes, red lights, a 30-minute
rest-area break, a tunnel, a queue at the receiver's gate; every fourth trip carries an
injected unauthorized stop and a load drop), against a ``PlaceIndex`` of 1,000 sites and
100 zones scattered over 100 x 100 km plus the trip's own places: in one process, and as
independent jobs in one worker process per core (``--processes``), the way reconciliation
scales. Trips/s is the median over ``--runs`` runs over all trips.

DB: the same code path the receipt hook and the live detector take, ``Monitor.reconcile_many``
(load the manifests' trips -- fixes, load readings, tickets, sites -- from PostgreSQL, run the
pipeline, upsert findings, withdraw, ledger), on a fresh database (``wf_bench_xxxxxxxx``,
dropped afterwards) with 1,000 sites and 100 zones registered and ``--db-trips`` received
trips of ~500 fixes. Two rows: every trip locked and reconciled in its own transaction (what a
receipt costs), and ``--db-batch`` trips locked and reconciled per transaction (re-reconciling
received manifests in bulk).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


# --- pure ---------------------------------------------------------------------------------------


def pure_trips(n: int, interval_s: float = 15.0):
    """n finished trips of ~500 fixes (a few distinct scenarios, shifted in time)."""
    from tests.utils.detection import clean_scenario, load_series

    def violations(b):
        b.wait(720)  # an unauthorized stop on the road

    base = []
    for seed in range(8):
        events = {0.3: violations} if seed % 4 == 3 else None
        scenario = clean_scenario(seed=seed, interval_s=interval_s, events=events)
        trip = scenario.trip()
        if events:
            loads = [(t, kg if t < 3000 else kg - 3000) for t, kg in scenario.loads]
            trip = dataclasses.replace(trip, loads=tuple(load_series(loads)))
        base.append(trip)
    trips = []
    for k in range(n):
        trip = base[k % len(base)]
        trips.append(dataclasses.replace(trip, manifest_no=f"WF-150200-20261123-{k:06d}"))
    return trips


def pure_places():
    from tests.utils.detection import ALL_PLACES, random_places
    from wasteflow.detection import PlaceIndex

    return PlaceIndex(ALL_PLACES + random_places(1000, 100))


def bench_pure(n_trips: int, runs: int) -> dict:
    from wasteflow.detection import reconcile

    trips = pure_trips(n_trips)
    places = pure_places()
    for trip in trips[:20]:  # warm caches (prepared geometries, imports)
        reconcile(trip, places)
    rates, cpu_rates, findings = [], [], 0
    for _ in range(runs):
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        findings = sum(len(reconcile(trip, places)) for trip in trips)
        rates.append(len(trips) / (time.perf_counter() - started))
        cpu_rates.append(len(trips) / (time.process_time() - cpu))
    return {"trips": len(trips), "fixes/trip": round(statistics.mean(len(t.fixes) for t in trips)),
            "places": len(places), "rates": rates, "cpu_rates": cpu_rates, "findings/run": findings}


def _worker_run(n_trips: int, barrier, results) -> None:
    """One reconciliation worker: build its own trips and index, start with the others, time itself."""
    from wasteflow.detection import reconcile

    trips = pure_trips(n_trips)
    places = pure_places()
    for trip in trips[:20]:
        reconcile(trip, places)
    gc.collect()
    barrier.wait()
    started = time.perf_counter()
    for trip in trips:
        reconcile(trip, places)
    results.put((started, time.perf_counter(), len(trips)))


def bench_parallel(n_trips: int, runs: int, processes: int) -> dict:
    """Reconciliation as independent jobs on every core: trips/s across ``processes`` workers.

    Each worker builds its own trips and place index (nothing is pickled across), all start
    together on a barrier, and throughput is all trips over the span from the first start to
    the last finish (perf_counter is system-wide on Linux).
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    rates = []
    for _ in range(runs):
        barrier, results = ctx.Barrier(processes), ctx.Queue()
        workers = [ctx.Process(target=_worker_run, args=(n_trips // processes, barrier, results))
                   for _ in range(processes)]
        for worker in workers:
            worker.start()
        spans = [results.get(timeout=600) for _ in workers]
        for worker in workers:
            worker.join()
        total = sum(n for _, _, n in spans)
        rates.append(total / (max(end for _, end, _ in spans) - min(start for start, _, _ in spans)))
    sample = pure_trips(8)
    return {"trips": n_trips, "fixes/trip": round(statistics.mean(len(t.fixes) for t in sample)),
            "places": len(pure_places()), "rates": rates, "cpu_rates": [r / processes for r in rates]}


# --- PostgreSQL through Monitor.reconcile ---------------------------------------------------------


def _square(lon: float, lat: float, half_m: float) -> dict:
    from tests.utils.world import square

    return square(lon, lat, half_m)


def bench_db(n_trips: int, runs: int, keep: bool = False, batch: int = 20) -> dict:
    import numpy as np
    from fastapi.testclient import TestClient
    from sqlmodel import Session, col, select

    from bench.databases import create_database, drop_database
    from tests.utils.monitoring import CEMENT, Drive, along, gps_records, load_records, make_env
    from tests.utils.world import build_world
    from wasteflow.api.app import create_app
    from wasteflow.config import Settings
    from wasteflow.database import get_engine, session_scope
    from wasteflow.manifests.models import Manifest
    from wasteflow.monitoring.monitor import Monitor
    from wasteflow.registry.models import Site, Zone

    name, url = create_database()
    try:
        settings = Settings(database_url=url)
        engine = get_engine(url)
        with TestClient(create_app(settings)) as client:
            world = build_world(client, engine)
            rng = np.random.default_rng(7)
            with session_scope(engine) as session:
                for i in range(1000):
                    c = (109.4 + rng.random() * 1.2, 40.2 + rng.random() * 0.9)
                    session.add(Site(enterprise_id=world.ids["outsider"], name=f"site {i}",
                                     kind=("plant", "storage", "landfill", "parking")[i % 4],
                                     geofence=_square(*c, 50 + rng.random() * 200)))
                for i in range(100):
                    c = (109.4 + rng.random() * 1.2, 40.2 + rng.random() * 0.9)
                    session.add(Zone(name=f"zone {i}", kind=("rest_area", "restricted")[i % 2],
                                     geofence=_square(*c, 50 + rng.random() * 200)))
            env = make_env(world, engine, settings)
            now = datetime.now(UTC).replace(microsecond=0)
            t = now - timedelta(hours=3 * n_trips + 6)
            fixes_per_trip = []
            for k in range(n_trips):
                no = env.dispatch(t)
                env.ticket("wb-plant", f"P-{k}", 30000, t - timedelta(minutes=5), manifest_no=no)
                d = Drive(t).fix().go(along(0.5), kmh=15)
                if k % 4 == 3:
                    d.stay(720)
                else:
                    d.stay(120)
                d.go(CEMENT, kmh=15).stay(600)
                fixes_per_trip.append(len(d.points))
                env.write("gps", "gps-0001", gps_records(d.take()), notify=False)
                env.write("load", "load-0001", load_records(
                    [(t + timedelta(minutes=m), 30000) for m in range(0, int((d.t - t).total_seconds() // 60))]),
                    notify=False)
                env.ticket("wb-cement", f"C-{k}", 29960 if k % 4 else 27000, d.t, manifest_no=no)
                env.receive(no, 29960, d.t + timedelta(minutes=2))
                t = d.t + timedelta(hours=1)
            monitor = Monitor(settings)
            with Session(engine) as session:
                ids = [i for i in session.exec(select(Manifest.id).order_by(col(Manifest.id))).all() if i is not None]
            with Session(engine) as session:
                monitor.places.refresh(session)
            single = _timed_runs(runs, len(ids), lambda: _reconcile_batches(engine, monitor, ids, 1))
            batched = _timed_runs(runs, len(ids), lambda: _reconcile_batches(engine, monitor, ids, batch))
            places = len(monitor.places.index)
        engine.dispose()
        common = {"trips": len(ids), "fixes/trip": round(statistics.mean(fixes_per_trip)), "places": places}
        return {"single": {**common, **single}, "batched": {**common, **batched}}
    finally:
        if not keep:
            drop_database(name)


def _reconcile_batches(engine, monitor, ids: list[int], batch: int) -> None:
    """Each batch of ``batch`` manifests locked together and reconciled in one transaction."""
    from sqlmodel import col

    from wasteflow.database import session_scope
    from wasteflow.manifests import locks
    from wasteflow.manifests.models import Manifest

    for start in range(0, len(ids), batch):
        with session_scope(engine) as session:
            manifests = locks.locked(session, col(Manifest.id).in_(ids[start:start + batch]))
            monitor.reconcile_many(session, manifests)


def _timed_runs(runs: int, n: int, work) -> dict:
    rates, cpu_rates = [], []
    for _ in range(runs):
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        work()
        rates.append(n / (time.perf_counter() - started))
        cpu_rates.append(n / (time.process_time() - cpu))
    return {"rates": rates, "cpu_rates": cpu_rates}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trips", type=int, default=400, help="pure: trips per run")
    parser.add_argument("--db-trips", type=int, default=40, help="PostgreSQL: trips per run")
    parser.add_argument("--db-batch", type=int, default=20, help="PostgreSQL: manifests per batch")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="also measure this many reconciliation workers side by side (default: one per core)")
    parser.add_argument("--no-db", action="store_true", help="skip the PostgreSQL measurement")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)

    rows = []
    pure = bench_pure(args.trips, args.runs)
    rows.append(("pure pipeline.reconcile", pure))
    if args.processes > 1:
        rows.append((f"pure, {args.processes} worker processes", bench_parallel(args.trips, args.runs, args.processes)))
    if not args.no_db:
        db = bench_db(args.db_trips, args.runs, args.keep, args.db_batch)
        rows.append(("Monitor.reconcile, PostgreSQL", db["single"]))
        rows.append((f"reconcile_many x{args.db_batch}, PostgreSQL", db["batched"]))
    print()
    print(f"{'what':32} {'trips':>6} {'fixes/trip':>10} {'places':>7} {'trips/s median':>15} {'min':>7} "
          f"{'max':>7} {'per CPU-s':>10}")
    for label, r in rows:
        rates = r["rates"]
        print(f"{label:32} {r['trips']:>6} {r['fixes/trip']:>10} {r['places']:>7} "
              f"{statistics.median(rates):>15.0f} {min(rates):>7.0f} {max(rates):>7.0f} "
              f"{statistics.median(r['cpu_rates']):>10.0f}")
    print(f"\n(wall-clock trips/s, median of {args.runs} runs, one process; 'per CPU-s' divides by this process's"
          f"\n CPU time instead -- steadier on a shared machine; for the DB row it excludes PostgreSQL's own work."
          f"\n Target: >= 1,000 trips/s for the pure pipeline.)")
    return {label: {"trips_s": statistics.median(r["rates"]), "per_cpu_s": statistics.median(r["cpu_rates"]),
                    "fixes_per_trip": r["fixes/trip"], "places": r["places"]} for label, r in rows}


if __name__ == "__main__":
    main()
