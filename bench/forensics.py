"""Dump-site forensics and hotspots over a month of a city's telemetry, on PostgreSQL.

    python -m bench forensics                      # 100 trucks, 30 days, a fix every 30 s (≈ 8.6 M fixes)
    python -m bench.forensics --trucks 20 --days 7 # smaller

A fresh database (``wf_bench_xxxxxxxx``, dropped afterwards) with the month's partitions: 20
generator sites and 5 receivers scattered over 40 × 30 km, trucks shuttling loaded from a
generator to a receiver and back empty (20 min at each site, 40 km/h on the road, parked at
night), a manifest per loaded leg, every fix stored through COPY. A few trucks stop at a planted
dump on their way. ``--findings`` stop, load-drop and diversion findings lie around the city,
some clustered at the dumps.

Measured through the API (``POST /v1/forensics/dump-site`` as the administrator: everything
visible, the worst case): the planted dump and points on the busiest roads, each asked
``--queries`` times in all; p50 and p99. ``GET /v1/hotspots`` over the month, ``--runs`` times.
"""

from __future__ import annotations

import argparse
import io
import math
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CENTRE = (109.85, 40.62)
M_LAT = 111_320.0
M_LON = M_LAT * math.cos(math.radians(CENTRE[1]))
EVERY_S = 30
KMH = 40.0
DWELL_S = 20 * 60


def point(east_m: float, north_m: float) -> tuple[float, float]:
    return CENTRE[0] + east_m / M_LON, CENTRE[1] + north_m / M_LAT


def square(lon: float, lat: float, half_m: float = 150.0) -> dict:
    dlon, dlat = half_m / M_LON, half_m / M_LAT
    ring = [[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat], [lon - dlon, lat + dlat],
            [lon - dlon, lat - dlat]]
    return {"type": "Polygon", "coordinates": [ring]}


class City:
    def __init__(self, rng: random.Random):
        self.generators = [point(rng.uniform(-20000, 20000), rng.uniform(-15000, 15000)) for _ in range(20)]
        self.receivers = [point(rng.uniform(-20000, 20000), rng.uniform(-15000, 15000)) for _ in range(5)]
        self.dumps = [point(rng.uniform(-15000, 15000), rng.uniform(-10000, 10000)) for _ in range(3)]


def drive(out: list, t: float, a: tuple[float, float], b: tuple[float, float], rng: random.Random,
          until: float) -> float:
    """Fixes from a to b at KMH with a few metres of jitter; the time of arrival."""
    dist = math.hypot((b[0] - a[0]) * M_LON, (b[1] - a[1]) * M_LAT)
    steps = max(1, int(dist / (KMH / 3.6 * EVERY_S)))
    for i in range(steps + 1):
        if t > until:
            return t
        f = i / steps
        out.append((t, a[0] + (b[0] - a[0]) * f + rng.gauss(0, 5) / M_LON,
                    a[1] + (b[1] - a[1]) * f + rng.gauss(0, 5) / M_LAT, KMH))
        t += EVERY_S
    return t


def dwell(out: list, t: float, at: tuple[float, float], seconds: float, rng: random.Random, until: float) -> float:
    end = min(t + seconds, until)
    while t <= end:
        out.append((t, at[0] + rng.gauss(0, 4) / M_LON, at[1] + rng.gauss(0, 4) / M_LAT, 0.0))
        t += EVERY_S
    return t


def truck_month(truck: int, city: City, t0: float, days: int, rng: random.Random, dumper: bool):
    """(fixes, trips): every 30 s for the whole period; trips are (generator, receiver, dispatched, received)."""
    fixes: list = []
    trips: list = []
    depot = city.generators[truck % len(city.generators)]
    for day in range(days):
        start, stop = t0 + day * 86400, t0 + day * 86400 + 86400
        work_end = start + 6 * 3600 + 12 * 3600
        t = dwell(fixes, start, depot, 6 * 3600, rng, stop)
        here = depot
        while t < work_end - 3 * 3600:
            g, r = rng.randrange(len(city.generators)), rng.randrange(len(city.receivers))
            t = drive(fixes, t, here, city.generators[g], rng, stop)
            t = dwell(fixes, t, city.generators[g], DWELL_S, rng, stop)
            dispatched = t
            if dumper and day % 5 == truck % 5:
                dump = city.dumps[truck % len(city.dumps)]
                t = drive(fixes, t, city.generators[g], dump, rng, stop)
                t = dwell(fixes, t, dump, 15 * 60, rng, stop)
                t = drive(fixes, t, dump, city.receivers[r], rng, stop)
            else:
                t = drive(fixes, t, city.generators[g], city.receivers[r], rng, stop)
            t = dwell(fixes, t, city.receivers[r], DWELL_S, rng, stop)
            trips.append((g, r, dispatched, t))
            here = city.receivers[r]
        t = drive(fixes, t, here, depot, rng, stop)
        dwell(fixes, t, depot, stop - t, rng, stop - 1)
    return fixes, trips


def register(engine, city: City, trucks: int):
    from sqlmodel import Session

    from bench.databases import sealed
    from wasteflow.auth.service import bootstrap_admin
    from wasteflow.registry.models import Device, Enterprise, Site, Vehicle

    with Session(engine) as session:
        admin = bootstrap_admin(session)
        firms = [Enterprise(name=n, credit_code=f"91150202MA000000{i}X"[:18], roles=[n], region_code="150202")
                 for i, n in enumerate(("generator", "transporter", "receiver"))]
        session.add_all(firms)
        session.flush()
        generator, transporter, receiver = (int(f.id or 0) for f in firms)
        gen_sites = [Site(enterprise_id=generator, name=f"plant {i}", kind="plant", geofence=square(*p))
                     for i, p in enumerate(city.generators)]
        rec_sites = [Site(enterprise_id=receiver, name=f"works {i}", kind="utilisation", geofence=square(*p),
                          permitted_codes=["SW02"]) for i, p in enumerate(city.receivers)]
        vehicles = [Vehicle(transporter_id=transporter, plate=f"蒙B{10000 + i}", tare_kg=15000, max_load_kg=35000)
                    for i in range(trucks)]
        session.add_all([*gen_sites, *rec_sites, *vehicles])
        session.flush()
        url = engine.url.render_as_string(hide_password=False)
        session.add_all([Device(id=f"gps-{i:04d}", kind="gps", vehicle_id=v.id,
                                sealed_secret=sealed(url, f"gps-{i:04d}", "x")) for i, v in enumerate(vehicles)])
        session.commit()
        return admin, [f.id for f in firms], [s.id for s in gen_sites], [s.id for s in rec_sites], \
            [(v.id, v.plate) for v in vehicles]


def copy_fixes(url: str, device: str, fixes: list) -> None:
    import psycopg

    from bench.databases import libpq_url

    buf = io.StringIO()
    for seq, (t, lon, lat, speed) in enumerate(fixes, 1):
        buf.write(f"{device}\t{datetime.fromtimestamp(t, UTC).isoformat()}\t{seq}\t{lat:.6f}\t{lon:.6f}\t{speed}\tt\t"
                  f"{datetime.fromtimestamp(t, UTC).isoformat()}\n")
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        with cur.copy("COPY gps_fix (device_id, ts, seq, lat, lon, speed_kmh, verified, received_at) FROM STDIN") as cp:
            cp.write(buf.getvalue())


def manifests_rows(truck: int, vehicle: tuple[int, str], trips: list, firms: list, gens: list, recs: list) -> list:
    rows = []
    for n, (g, r, dispatched, received) in enumerate(trips):
        d, rc = datetime.fromtimestamp(dispatched, UTC), datetime.fromtimestamp(received, UTC)
        rows.append({"manifest_no": f"B{truck:03d}{n:05d}", "status": "received", "region_code": "150202",
                     "generator_id": firms[0], "generator_site_id": gens[g], "transporter_id": firms[1],
                     "vehicle_id": vehicle[0], "vehicle_plate": vehicle[1], "receiver_id": firms[2],
                     "receiver_site_id": recs[r], "receiver_region_code": "150202", "waste_code": "SW02",
                     "declared_kg": 30000, "corridor_m": 500.0, "filed_at": d - timedelta(hours=1),
                     "dispatched_at": d, "received_at": rc, "last_signature_at": rc, "accepted_kg": 30000,
                     "current_leg": 1, "kind": "primary", "version": 1, "created_at": d, "updated_at": rc})
    return rows


def plant_findings(engine, city: City, t0: float, days: int, n: int, rng: random.Random) -> None:
    from sqlmodel import Session

    from wasteflow.findings.models import Finding

    codes = ("UNAUTHORIZED_STOP", "LOAD_DROP", "DIVERSION")
    rows = []
    for i in range(n):
        clustered = i % 10 == 0
        lon, lat = city.dumps[i % 3] if clustered else point(rng.uniform(-20000, 20000), rng.uniform(-15000, 15000))
        start = datetime.fromtimestamp(t0 + rng.uniform(0, days * 86400), UTC)
        rows.append(Finding(code=codes[i % 3], severity="critical", scope="manifest", episode_key=f"bench:{i}",
                            region_code="150202", plate=f"蒙B{10000 + i % 100}", window_start=start,
                            window_end=start + timedelta(minutes=15),
                            location={"type": "Point", "coordinates": [lon + rng.gauss(0, 30) / M_LON,
                                                                       lat + rng.gauss(0, 30) / M_LAT]}))
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()


def build(url: str, args) -> tuple[str, City, float]:
    from sqlalchemy import insert

    from wasteflow.database import get_engine
    from wasteflow.manifests.models import Manifest
    from wasteflow.tracks.partitions import maintain

    rng = random.Random(args.seed)
    city = City(rng)
    engine = get_engine(url)
    t0 = math.floor((datetime.now(UTC) - timedelta(days=args.days)).timestamp() / 86400) * 86400
    maintain(engine, months_ahead=2, today=datetime.fromtimestamp(t0, UTC).date())
    admin, firms, gens, recs, vehicles = register(engine, city, args.trucks)
    started, total, manifests = time.perf_counter(), 0, []
    for truck, vehicle in enumerate(vehicles):
        fixes, trips = truck_month(truck, city, t0, args.days, rng, dumper=truck % 10 == 0)
        copy_fixes(url, f"gps-{truck:04d}", fixes)
        manifests += manifests_rows(truck, vehicle, trips, firms, gens, recs)
        total += len(fixes)
    with engine.begin() as conn:
        conn.execute(insert(Manifest), manifests)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    plant_findings(engine, city, t0, args.days, args.findings, rng)
    print(f"loaded {total:,} fixes of {args.trucks} trucks over {args.days} days and {len(manifests):,} manifests "
          f"in {time.perf_counter() - started:.0f} s")
    return admin, city, total


def reused(url: str, args) -> tuple[str, City, int]:
    from sqlalchemy import text
    from sqlmodel import Session

    from wasteflow.auth.service import bootstrap_admin
    from wasteflow.database import get_engine

    with Session(get_engine(url)) as session:
        admin = bootstrap_admin(session)
        session.commit()
        total = session.execute(text("SELECT count(*) FROM gps_fix")).scalar_one()
    return admin, City(random.Random(args.seed)), total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(math.ceil(q * len(ordered))) - 1)]


def measure(url: str, admin: str, city: City, args) -> dict:
    from fastapi.testclient import TestClient

    from wasteflow.api.app import create_app
    from wasteflow.config import Settings

    rng = random.Random(args.seed + 1)
    targets = list(city.dumps)
    for _ in range(7):  # points on the roads: a generator-to-receiver line, somewhere along it
        g, r, f = rng.choice(city.generators), rng.choice(city.receivers), rng.uniform(0.2, 0.8)
        targets.append((g[0] + (r[0] - g[0]) * f, g[1] + (r[1] - g[1]) * f))
    headers = {"Authorization": f"Bearer {admin}"}
    dump_ms, passages, hot_ms = [], [], []
    with TestClient(create_app(Settings(database_url=url))) as client:
        for i in range(args.queries):
            lon, lat = targets[i % len(targets)]
            began = time.perf_counter()
            response = client.post("/v1/forensics/dump-site", headers=headers, json={
                "location": {"type": "Point", "coordinates": [lon, lat]}, "radius_m": 300})
            dump_ms.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.text
            passages.append(len(response.json()["passages"]))
        for _ in range(args.runs):
            began = time.perf_counter()
            response = client.get("/v1/hotspots", headers=headers)
            hot_ms.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.text
        hot = response.json()["items"]
    return {"dump_p50": statistics.median(dump_ms), "dump_p99": percentile(dump_ms, 0.99),
            "dump_max": max(dump_ms), "passages_median": statistics.median(passages), "passages_max": max(passages),
            "hot_p50": statistics.median(hot_ms), "hot_max": max(hot_ms), "hotspots": len(hot)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.forensics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trucks", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--findings", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    parser.add_argument("--reuse", metavar="NAME", help="measure a kept database again (same --seed)")
    args = parser.parse_args(argv)
    from bench.databases import ADMIN_URL, create_database, drop_database

    if args.reuse:
        name, url = args.reuse, ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + \
            f"/{args.reuse}"
        args.keep = True
    else:
        name, url = create_database()
    try:
        admin, city, total = reused(url, args) if args.reuse else build(url, args)
        result = measure(url, admin, city, args) | {"fixes": total}
    finally:
        if args.keep:
            print(f"kept {name}")
        else:
            drop_database(name)
    print(f"dump-site, {args.queries} queries: p50 {result['dump_p50']:.0f} ms, p99 {result['dump_p99']:.0f} ms, "
          f"max {result['dump_max']:.0f} ms; passages per answer median {result['passages_median']:.0f}, "
          f"max {result['passages_max']}")
    print(f"hotspots over {args.findings:,} findings, {args.runs} runs: p50 {result['hot_p50']:.0f} ms, "
          f"max {result['hot_max']:.0f} ms; {result['hotspots']} hotspots")
    return result


if __name__ == "__main__":
    main()
