"""``wasteflow demo``: the whole system in one process, a simulated day, a regulator's report.

1. a fresh SQLite file under ``./wasteflow-demo/`` (migrated), the embedded MQTT broker, one
   bridge worker with live detection (its overdue watchdog on the simulated clock), and the
   REST API (uvicorn) in a thread on a free port;
2. the region registered through the API over HTTP;
3. a day of transfers (yesterday, Asia/Shanghai) played in accelerated time: devices publish
   through the broker, generators file and dispatch, receivers sign receipts (reconciliation
   runs inside the receipt request);
4. the day read back through the API, judged against the scenarios' ground truth, written as
   ``./wasteflow-demo/report.html`` (+ ``report.json``) and summarised in the terminal.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from simulators.fleet import Plan, plan_day
from simulators.outcome import Outcome, collect
from simulators.region import build_region
from simulators.runner import Api, PlayStats, Publisher, Registry, SimClock, play, register_region

DEFAULT_DIR = Path("wasteflow-demo")
DAY_IN_SECONDS = 60.0  # a simulated day takes about a minute


@dataclass
class DemoResult:
    plan: Plan
    outcome: Outcome
    stats: PlayStats
    registry: Registry
    report_html: Path
    report_json: Path
    api_url: str
    timings: dict[str, float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """uvicorn serving ``create_app(settings)`` in a daemon thread."""

    def __init__(self, settings, port: int):
        import uvicorn

        from wasteflow.api.app import create_app

        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="demo-api", daemon=True)

    def start(self, timeout: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def fresh_database(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "wasteflow-demo.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{db.resolve()}"


def run(trips: int = 300, seed: int = 7, out_dir: Path | str = DEFAULT_DIR, speedup: float | None = None,
        keep_running: bool = False, console=None, show_progress: bool = True) -> DemoResult:
    """Run the demo; returns everything it produced. ``speedup`` defaults to a day in a minute."""
    from rich.console import Console

    from simulators import report

    console = console or Console()
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    out_dir = Path(out_dir)
    url = fresh_database(out_dir)
    broker = worker = detector = server = publisher = api = None
    logging.getLogger("wasteflow").setLevel(logging.ERROR)
    logging.getLogger("amqtt").setLevel(logging.CRITICAL)
    logging.getLogger("transitions").setLevel(logging.CRITICAL)
    try:
        from mqtt_bridge.embedded import EmbeddedBroker
        from mqtt_bridge.worker import BridgeWorker
        from wasteflow.auth.service import bootstrap_admin
        from wasteflow.config import Settings, get_settings
        from wasteflow.database import get_engine, session_scope
        from wasteflow.live import attach_live_detection
        from wasteflow.migrate import upgrade

        console.print(f"[bold]wasteflow demo[/bold]: database [cyan]{out_dir / 'wasteflow-demo.db'}[/cyan] (fresh)")
        upgrade(url)
        with session_scope(get_engine(url)) as session:
            admin_key = bootstrap_admin(session)
        broker = EmbeddedBroker().start()
        port = free_port()
        # Anything that reads the settings from the environment sees the demo's.
        os.environ["WASTEFLOW_DATABASE_URL"] = url
        os.environ["WASTEFLOW_MQTT_URL"] = broker.url
        os.environ["WASTEFLOW_HTTP"] = f"127.0.0.1:{port}"
        get_settings.cache_clear()
        settings = Settings(database_url=url, mqtt_url=broker.url, mqtt_protocol="3.1.1", http=f"127.0.0.1:{port}",
                            bridge_client_id="wasteflow-demo-bridge")
        region = build_region()
        plan = plan_day(region, trips, seed)
        clock = SimClock(plan.start)
        worker = BridgeWorker(settings)
        detector = attach_live_detection(worker, clock=clock)
        # Live detection runs in this thread (tick / drain below), not in its own: the detector's
        # state advance races the receipt request (a lost update that reverts a reconciled manifest
        # to "arrived"; see docs/demo.md). Serialised with the receipts, the race cannot happen.
        detector.stop()
        worker.start()
        if not worker.wait_connected(15):
            raise RuntimeError("the bridge could not connect to the embedded broker")
        server = ApiServer(settings, port)
        server.start()
        api = Api(server.url)
        console.print(f"broker {broker.url}, API {server.url}; registering the region through the API...")
        registry = register_region(api, admin_key, region)
        timings["setup_s"] = time.monotonic() - t0
        console.print(f"registered {len(region.enterprises)} enterprises, {len(region.sites)} sites, "
                      f"{len(region.zones)} zones, {len(region.vehicles)} trucks, {len(registry.secrets)} devices "
                      f"[dim]({timings['setup_s']:.1f} s)[/dim]")
        publisher = Publisher(broker.url, "3.1.1", client_id="wasteflow-demo-fleet")
        publisher.connect()

        watchdog_at = [0.0]

        def drain() -> None:
            publisher.wait_acked(60)
            deadline = time.monotonic() + 60
            while worker.counters.received < publisher.sent and time.monotonic() < deadline:
                time.sleep(0.005)

        def tick() -> None:
            detector.run_once()
            if time.monotonic() - watchdog_at[0] > 1.0:  # the simulated clock runs fast: look often
                detector.run_watchdog()
                watchdog_at[0] = time.monotonic()

        span = plan.end - plan.start
        if speedup is None:
            speedup = 86_400 / DAY_IN_SECONDS
        console.print(f"simulating {plan.day.isoformat()} (Asia/Shanghai): {len(plan.trips)} manifests, "
                      f"{len(plan.violations)} with an injected violation, {plan.message_count:,} MQTT messages, "
                      f"{'as fast as possible' if not speedup else f'{speedup:,.0f}x real time'}")
        t1 = time.monotonic()
        stats = _play_with_progress(plan, api, registry, publisher, clock, speedup, drain, tick, console,
                                    show_progress, span)
        timings["play_s"] = time.monotonic() - t1
        t2 = time.monotonic()
        detector.run_once()
        detector.run_watchdog()
        outcome = collect(api, registry, plan)
        timings["collect_s"] = time.monotonic() - t2
        timings["total_s"] = time.monotonic() - t0
        html, js = report.write(outcome, out_dir, stats=stats, timings=timings)
        result = DemoResult(plan, outcome, stats, registry, html, js, server.url, timings)
        report.print_summary(result, console)
        if keep_running:
            console.print(f"\n[bold]The API stays up[/bold] at [cyan]{server.url}[/cyan] (OpenAPI: {server.url}/docs)")
            console.print(f"regulator's API key: [green]{registry.regulator_key}[/green]")
            console.print(f"try: curl -H 'Authorization: Bearer {registry.regulator_key}' {server.url}/v1/findings")
            console.print("Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return result
    finally:
        for stop in (lambda: publisher and publisher.close(), lambda: api and api.close(),
                     lambda: detector and detector.stop(), lambda: worker and worker.stop(),
                     lambda: server and server.stop(), lambda: broker and broker.stop()):
            try:
                stop()
            except Exception:  # shutting down: keep going
                pass


def _play_with_progress(plan, api, registry, publisher, clock, speedup, drain, tick, console, show,
                        span) -> PlayStats:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from simulators.fleet import iso

    if not show:
        return play(plan, api, registry, publisher, clock, speedup, drain, tick=tick)
    with Progress(TextColumn("[bold blue]{task.fields[clock]}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("day", total=span, clock="", detail="")

        def progress(event, stats: PlayStats) -> None:
            bar.update(task, completed=min(span, event.t - plan.start), clock=iso(event.t)[11:16],
                       detail=f"{stats.published:,} msgs · {stats.dispatched} dispatched · {stats.received} received")

        stats = play(plan, api, registry, publisher, clock, speedup, drain, progress, tick=tick)
        bar.update(task, completed=span, clock="24:00")
    return stats


def run_demo(trips: int = 300, seed: int = 7, keep_running: bool = False) -> int:
    """The ``wasteflow demo`` command: 0 when every injected violation was found and no clean trip flagged."""
    from rich.console import Console

    console = Console()
    try:
        result = run(trips=trips, seed=seed, keep_running=keep_running, console=console)
    except KeyboardInterrupt:
        return 130
    return 0 if result.outcome.all_found and result.outcome.clean_ok and not result.stats.errors else 1
