"""API latency under concurrency: filing and reading manifests, 50 clients, PostgreSQL.

    python -m bench.api [--clients 50] [--requests 2000] [--workers 2] [--runs 3]

Starts `wasteflow serve` (uvicorn, several worker processes) on a fresh PostgreSQL
database, registers a small world through the API, then drives it from a separate
process with N concurrent asyncio clients, each alternately filing a manifest
(POST /v1/manifests) and reading one back (GET /v1/manifests/{no}) — by default at a
user's pace (a pair a second each, 100 requests/s in all), or back to back with
``--pace 0`` to find the saturation throughput. Prints p50/p99 per operation and
requests/s, medians over the runs. Target: p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.databases import create_database, drop_database  # noqa: E402
from tests.utils.brokers import free_port, wait_port  # noqa: E402
from tests.utils.world import build_world  # noqa: E402
from wasteflow.database import get_engine  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def drive(base_url: str, key: str, body: dict, clients: int, requests: int,
                pace_s: float = 0.0) -> dict[str, list[float]]:
    """Each client files then reads, ``requests / clients / 2`` times; with ``pace_s`` > 0 a client
    starts a file-and-read pair every ``pace_s`` seconds (a user's pace), else back to back."""
    timings: dict[str, list[float]] = {"file": [], "read": []}
    per_client = max(1, requests // clients // 2)
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=30) as http:
        async def client(offset: float) -> None:
            await asyncio.sleep(offset)
            next_start = time.perf_counter()
            for _ in range(per_client):
                if pace_s:
                    await asyncio.sleep(max(0.0, next_start - time.perf_counter()))
                    next_start += pace_s
                t = time.perf_counter()
                response = await http.post("/v1/manifests", json=body)
                timings["file"].append((time.perf_counter() - t) * 1000)
                response.raise_for_status()
                number = response.json()["manifest_no"]
                t = time.perf_counter()
                (await http.get(f"/v1/manifests/{number}")).raise_for_status()
                timings["read"].append((time.perf_counter() - t) * 1000)

        await asyncio.gather(*(client(pace_s * i / clients) for i in range(clients)))
    return timings


def run_once(args) -> dict:
    name, url = create_database()
    server = None
    try:
        port = free_port()
        env = {**os.environ, "WASTEFLOW_DATABASE_URL": url, "WASTEFLOW_HTTP": f"127.0.0.1:{port}"}
        server = subprocess.Popen([sys.executable, "-m", "wasteflow.cli", "serve", "--no-migrate", "--workers",
                                   str(args.workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, 60)
        base_url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base_url, timeout=30) as http:
            world = build_world(http, get_engine(url))
        body = world.manifest_body()
        asyncio.run(drive(base_url, world.keys["generator"], body, args.clients, min(200, args.requests)))  # warm-up
        started = time.perf_counter()
        timings = asyncio.run(drive(base_url, world.keys["generator"], body, args.clients, args.requests,
                                    args.pace))
        elapsed = time.perf_counter() - started
        done = len(timings["file"]) + len(timings["read"])
        return {"rps": done / elapsed,
                **{f"{op}_{q}": percentile(timings[op], p) for op in ("file", "read")
                   for q, p in (("p50", 0.5), ("p99", 0.99))}}
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        get_engine(url).dispose()
        drop_database(name)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000, help="requests per run (half filings, half reads)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pace", type=float, default=1.0,
                        help="seconds between one client's file-and-read pairs (0: back to back, saturating)")
    args = parser.parse_args(argv)
    runs = []
    for i in range(args.runs):
        runs.append(run_once(args))
        print(f"  run {i + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in runs[-1].items()), file=sys.stderr, flush=True)
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    pace = f"each pairing a filing and a read every {args.pace:g} s" if args.pace else "back to back (saturation)"
    print(f"\nAPI under {args.clients} concurrent clients {pace}, {args.workers} uvicorn workers, PostgreSQL "
          f"(medians of {args.runs} runs)")
    print(f"{'operation':<28}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'file a manifest (POST)':<28}{median['file_p50']:>10.1f}{median['file_p99']:>10.1f}")
    print(f"{'read a manifest (GET)':<28}{median['read_p50']:>10.1f}{median['read_p99']:>10.1f}")
    print(f"requests/s: {median['rps']:.0f}")
    return median


if __name__ == "__main__":
    main()
