"""``wasteflow demo``: the whole system in one process, a simulated day, a regulator's report.

1. a fresh SQLite file under ``./wasteflow-demo/`` (migrated), the embedded MQTT broker, one
   bridge worker with live detection (its overdue watchdog on the simulated clock), and the
   REST API (uvicorn) in a thread on a free port;
2. the region registered through the API over HTTP;
3. a day of transfers (yesterday, Asia/Shanghai) played in accelerated time: devices publish
   through the broker, generators file and dispatch, receivers sign receipts (reconciliation
   runs inside the receipt request);
4. the day read back through the API, judged against the scenarios' ground truth, written as
   ``./wasteflow-demo/report.html`` (+ ``report.json``) and summarised in the terminal;
5. the manifest workflow (``simulators/workflow.py``): a multi-leg transport, a partial refusal with
   its follow-up, a revision, and webhooks delivered by the webhook worker (in-process here).

The demo is :data:`STEPS`, a list of small functions run in order on the :class:`Demo` they
share: each starts a part of the system (and registers how to stop it), or plays, reads back
or reports a part of the day. Adding to the demo is adding a step at its place in the list
(docs/demo.md, "Adding to the demo").
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from simulators.fleet import Event, Plan, iso, plan_day
from simulators.outcome import Outcome, collect
from simulators.region import Region, build_region
from simulators.runner import (
    Api,
    PlayStats,
    Publisher,
    Registry,
    SimClock,
    Uplink,
    UplinkByDevice,
    play,
    register_region,
)
from simulators.workflow import WorkflowOutcome, play_workflow

if TYPE_CHECKING:
    from rich.console import Console

    from mqtt_bridge.embedded import EmbeddedBroker
    from mqtt_bridge.worker import BridgeWorker
    from simulators.jt808_uplink import Jt808Uplink
    from simulators.scale_uplink import ScaleUplink
    from wasteflow.config import Settings

DEFAULT_DIR = Path("wasteflow-demo")
DAY_IN_SECONDS = 60.0  # a simulated day takes about a minute
WATCHDOG_EVERY_S = 1.0  # the simulated clock runs fast: look for overdue manifests often


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
    workflow: WorkflowOutcome | None = None
    scale_tickets: dict[str, str | None] = field(default_factory=dict)
    """Tickets the scale gateway made from the indicator stream, with the manifest each was called with."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """uvicorn serving ``create_app(settings)`` in a daemon thread."""

    def __init__(self, settings: Settings, port: int):
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


class Detector(Protocol):
    """What the demo asks of live detection (``attach_live_detection``'s detector)."""

    def run_once(self) -> Any: ...

    def run_watchdog(self) -> Any: ...

    def stop(self) -> None: ...


@dataclass
class Demo:
    """What the steps share: the options, the running system, the day, and what came of it.

    The fields without a default are set by the step that creates them (see :data:`STEPS`);
    a step reads only what earlier steps have set.
    """

    trips: int
    seed: int
    out_dir: Path
    speedup: float  # simulated seconds per real second; 0 = as fast as possible
    keep_running: bool
    console: Console
    show_progress: bool
    started: float = field(default_factory=time.monotonic)
    timings: dict[str, float] = field(default_factory=dict)  # setup_s, play_s, collect_s, total_s
    stoppers: list[Callable[[], object]] = field(default_factory=list, repr=False)

    database_url: str = field(init=False, repr=False)
    admin_key: str = field(init=False, repr=False)
    broker: EmbeddedBroker = field(init=False, repr=False)
    settings: Settings = field(init=False, repr=False)
    port: int = field(init=False, repr=False)
    region: Region = field(init=False, repr=False)
    plan: Plan = field(init=False, repr=False)
    clock: SimClock = field(init=False, repr=False)
    worker: BridgeWorker = field(init=False, repr=False)
    detector: Detector = field(init=False, repr=False)
    server: ApiServer = field(init=False, repr=False)
    api: Api = field(init=False, repr=False)
    registry: Registry = field(init=False, repr=False)
    uplink: UplinkByDevice = field(init=False, repr=False)
    jt808: Jt808Uplink = field(init=False, repr=False)
    scale: ScaleUplink = field(init=False, repr=False)
    stats: PlayStats = field(init=False, repr=False)
    outcome: Outcome = field(init=False, repr=False)
    result: DemoResult = field(init=False, repr=False)
    _watchdog_at: float = field(default=0.0, repr=False)

    def on_shutdown(self, stop: Callable[[], object]) -> None:
        """Run ``stop`` when the demo ends (the latest registered first), even after an error."""
        self.stoppers.append(stop)

    def shut_down(self) -> None:
        for stop in reversed(self.stoppers):
            try:
                stop()
            except Exception:  # shutting down: keep going
                pass
        self.stoppers.clear()

    def drain(self) -> None:
        """Wait until the bridge has received everything published so far (before receipts)."""
        self.uplink.wait_acked(60)
        deadline = time.monotonic() + 60
        while self.worker.counters.received < self.uplink.sent and time.monotonic() < deadline:
            time.sleep(0.005)

    def tick(self) -> None:
        """Live detection over what was stored, and now and then the overdue watchdog.

        It runs in the demo's thread, not the detector's own: the detector's state advance
        races the receipt request (a lost update that reverts a reconciled manifest to
        "arrived"; see docs/demo.md). Serialised with the receipts, the race cannot happen.
        """
        self.detector.run_once()
        if time.monotonic() - self._watchdog_at > WATCHDOG_EVERY_S:
            self.detector.run_watchdog()
            self._watchdog_at = time.monotonic()


Step = Callable[[Demo], None]


# --- the system ------------------------------------------------------------------------------

def create_the_database(demo: Demo) -> None:
    from wasteflow.auth.service import bootstrap_admin
    from wasteflow.database import get_engine, session_scope
    from wasteflow.migrate import upgrade

    demo.database_url = fresh_database(demo.out_dir)
    demo.console.print(f"[bold]wasteflow demo[/bold]: database [cyan]{demo.out_dir / 'wasteflow-demo.db'}[/cyan] "
                       "(fresh)")
    upgrade(demo.database_url)
    with session_scope(get_engine(demo.database_url)) as session:
        demo.admin_key = bootstrap_admin(session)


def start_the_broker(demo: Demo) -> None:
    from mqtt_bridge.embedded import EmbeddedBroker

    demo.broker = EmbeddedBroker().start()
    demo.on_shutdown(demo.broker.stop)


def configure(demo: Demo) -> None:
    """The demo's settings, also in the environment for anything that reads them from there."""
    from wasteflow.config import Settings, get_settings

    demo.port = free_port()
    os.environ["WASTEFLOW_DATABASE_URL"] = demo.database_url
    os.environ["WASTEFLOW_MQTT_URL"] = demo.broker.url
    os.environ["WASTEFLOW_HTTP"] = f"127.0.0.1:{demo.port}"
    get_settings.cache_clear()
    demo.settings = Settings(database_url=demo.database_url, mqtt_url=demo.broker.url, mqtt_protocol="3.1.1",
                             http=f"127.0.0.1:{demo.port}", bridge_client_id="wasteflow-demo-bridge",
                             webhook_allow_private=True)  # the demo's webhook endpoint is on this machine


def plan_the_day(demo: Demo) -> None:
    demo.region = build_region()
    demo.plan = plan_day(demo.region, demo.trips, demo.seed)
    demo.clock = SimClock(demo.plan.start)


def start_the_bridge(demo: Demo) -> None:
    """One bridge worker; live detection on the simulated clock, driven by :meth:`Demo.tick`."""
    from mqtt_bridge.worker import BridgeWorker
    from wasteflow.wiring import attach_live_detection

    demo.worker = BridgeWorker(demo.settings)
    demo.detector = attach_live_detection(demo.worker, clock=demo.clock)
    demo.detector.stop()  # its own thread: the demo's tick drives it instead
    demo.on_shutdown(demo.detector.stop)
    demo.worker.start()
    demo.on_shutdown(demo.worker.stop)
    if not demo.worker.wait_connected(15):
        raise RuntimeError("the bridge could not connect to the embedded broker")


def start_the_api(demo: Demo) -> None:
    demo.server = ApiServer(demo.settings, demo.port)
    demo.server.start()
    demo.on_shutdown(demo.server.stop)
    demo.api = Api(demo.server.url)
    demo.on_shutdown(demo.api.close)


def register_the_region(demo: Demo) -> None:
    region = demo.region
    demo.console.print(f"broker {demo.broker.url}, API {demo.server.url}; registering the region through the API...")
    demo.registry = register_region(demo.api, demo.admin_key, region)
    demo.timings["setup_s"] = time.monotonic() - demo.started
    demo.console.print(f"registered {len(region.enterprises)} enterprises, {len(region.sites)} sites, "
                       f"{len(region.zones)} zones, {len(region.vehicles)} trucks, "
                       f"{len(demo.registry.secrets)} devices [dim]({demo.timings['setup_s']:.1f} s)[/dim]")


JT808_TRANSPORTER = "t_shunda"
"""The transporter whose trucks report as trucks in the field do: JT/T 808 terminals over TCP."""
OSMAND_TRANSPORTER = "t_mengtai"
"""The transporter whose trucks report as small hauliers' do: the drivers' phones (Traccar Client)."""


def connect_the_fleet(demo: Demo) -> None:
    """Every device publishes through one MQTT connection, unless a later step routes some elsewhere."""
    publisher = Publisher(demo.broker.url, "3.1.1", client_id="wasteflow-demo-fleet")
    publisher.connect()
    demo.uplink = UplinkByDevice(publisher)
    demo.on_shutdown(demo.uplink.close)


def route_a_transporter_through_jt808(demo: Demo) -> None:
    """One transporter's trucks report through JT/T 808 terminals and the real gateway.

    Each of its trucks gets a terminal registered through the API (``"protocol": "jt808"``, its
    phone number as ``terminal_id``); the truck's MQTT gps device stays registered, silent.
    ``wasteflow gateway jt808`` runs as a process of its own, as in the stack (log:
    ``jt808-gateway.log`` beside the report); the terminals run in a thread
    (:class:`simulators.jt808_uplink.Jt808Uplink`), and what the fleet would publish for
    those trucks goes to their terminals instead.
    """
    from simulators.jt808_uplink import Jt808Uplink, free_port, start_gateway, stop_gateway, terminal_ids

    trucks = {v.gps_id: v for v in demo.region.vehicles if v.transporter == JT808_TRANSPORTER}
    phones = terminal_ids(list(trucks))
    key = demo.registry.keys[JT808_TRANSPORTER]
    for gps_id, terminal_id in phones.items():
        demo.api.post("/v1/devices", {"id": f"jt808-{gps_id}", "kind": "gps", "vehicle_plate": trucks[gps_id].plate,
                                      "protocol": "jt808", "terminal_id": terminal_id}, key)
    port = free_port()
    gateway = start_gateway(demo.database_url, demo.broker.url, port, demo.out_dir / "jt808-gateway.log",
                            mqtt_protocol="3.1.1")
    demo.on_shutdown(lambda: stop_gateway(gateway))
    demo.jt808 = Jt808Uplink(port, phones).start()
    demo.on_shutdown(demo.jt808.close)
    demo.uplink.route(list(phones), demo.jt808)
    name = demo.region.enterprises[JT808_TRANSPORTER].name
    demo.console.print(f"{len(phones)} trucks of {name} report through JT/T 808 terminals "
                       f"(wasteflow gateway jt808 on 127.0.0.1:{port})")


def route_a_transporter_through_phones(demo: Demo) -> None:
    """One transporter's trucks report through their drivers' phones and the real HTTP gateway.

    Each of its trucks gets a phone registered through the API (``osmand:phone-{gps id}``); the
    truck's MQTT gps device stays registered, silent. ``wasteflow gateway http`` runs as a process
    of its own (log: ``osmand-gateway.log`` beside the report, and ``osmand-phones.log`` the
    phones' side); the phones' requests go out from a thread
    (:class:`simulators.osmand_uplink.OsmandUplink`): what the fleet would publish for those
    trucks is sent as OsmAnd requests and Traccar Client JSON instead.
    """
    from simulators.jt808_uplink import free_port, stop_gateway
    from simulators.osmand_uplink import OsmandUplink, phone_ids, start_gateway

    trucks = {v.gps_id: v for v in demo.region.vehicles if v.transporter == OSMAND_TRANSPORTER}
    phones = phone_ids(list(trucks))
    key = demo.registry.keys[OSMAND_TRANSPORTER]
    for gps_id, phone_id in phones.items():
        demo.api.post("/v1/devices", {"id": f"osmand:{phone_id}", "kind": "gps",
                                      "vehicle_plate": trucks[gps_id].plate}, key)
    port = free_port()
    gateway = start_gateway(demo.database_url, demo.broker.url, port, demo.out_dir / "osmand-gateway.log",
                            mqtt_protocol="3.1.1")
    demo.on_shutdown(lambda: stop_gateway(gateway))
    uplink = OsmandUplink(port, phones).start()
    demo.on_shutdown(lambda: (demo.out_dir / "osmand-phones.log").write_text(uplink.summary() + "\n"))
    demo.on_shutdown(uplink.close)
    demo.uplink.route(list(phones), uplink)
    name = demo.region.enterprises[OSMAND_TRANSPORTER].name
    demo.console.print(f"{len(phones)} trucks of {name} report through their drivers' phones "
                       f"(wasteflow gateway http on 127.0.0.1:{port})")


SCALE_TICKETS = 6
"""Arrival tickets weighed through the indicator simulator and the scale gateway (a few seconds each)."""


def weigh_at_a_weighbridge_through_the_scale_gateway(demo: Demo) -> None:
    """The busiest receiver's weighbridge weighs its first trucks as a real one does: an indicator
    streaming Toledo frames, the plate called over HTTP, the scale gateway making and signing the
    ticket (:class:`simulators.scale_uplink.ScaleUplink`); its other tickets go as before."""
    from simulators.scale_uplink import ScaleUplink

    arrivals: dict[str, int] = {}
    for trip in demo.plan.trips:
        if trip.arrival_ticket is not None:
            site = demo.region.sites[trip.arrival_ticket.site]
            arrivals[site.weighbridge_id] = arrivals.get(site.weighbridge_id, 0) + 1
    if not arrivals:
        return
    device_id = max(arrivals, key=lambda d: (arrivals[d], d))
    demo.scale = ScaleUplink(device_id, demo.registry.secrets[device_id], demo.broker.url, demo.plan,
                             demo.uplink.default, demo.out_dir, budget=SCALE_TICKETS)
    demo.on_shutdown(demo.scale.close)
    demo.uplink.route([device_id], demo.scale)
    demo.console.print(f"weighbridge {device_id} weighs its first {SCALE_TICKETS} trucks through an indicator "
                       f"stream and the scale gateway (plates on 127.0.0.1:{demo.scale.plate_port})")


def report_the_scale_tickets(demo: Demo) -> None:
    scale = getattr(demo, "scale", None)
    if scale is None:
        return
    demo.result.scale_tickets = dict(scale.manifests)
    demo.console.print(f"scale gateway: {scale.weighed} weighings from the indicator stream made "
                       f"{len(scale.made)} tickets ({', '.join(scale.made) or 'none'}); faults on the line: "
                       f"{dict(scale.gateway.counters.faults) or 'none'}")


# --- the day ---------------------------------------------------------------------------------

def play_the_day(demo: Demo) -> None:
    plan = demo.plan
    pace = "as fast as possible" if not demo.speedup else f"{demo.speedup:,.0f}x real time"
    demo.console.print(f"simulating {plan.day.isoformat()} (Asia/Shanghai): {len(plan.trips)} manifests, "
                       f"{len(plan.violations)} with an injected violation, {plan.message_count:,} MQTT messages, "
                       f"{pace}")
    started = time.monotonic()
    demo.stats = play_with_progress(plan, demo.api, demo.registry, demo.uplink, demo.clock, demo.speedup,
                                    demo.drain, demo.tick, demo.console, demo.show_progress)
    demo.timings["play_s"] = time.monotonic() - started


def play_with_progress(plan: Plan, api: Api, registry: Registry, uplink: Uplink, clock: SimClock, speedup: float,
                       drain: Callable[[], None], tick: Callable[[], None] | None, console: Console,
                       show: bool) -> PlayStats:
    """:func:`simulators.runner.play`, with a progress bar on the simulated clock when ``show``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if not show:
        return play(plan, api, registry, uplink, clock, speedup, drain, tick=tick)
    span = plan.end - plan.start
    with Progress(TextColumn("[bold blue]{task.fields[clock]}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("day", total=span, clock="", detail="")

        def progress(event: Event, stats: PlayStats) -> None:
            bar.update(task, completed=min(span, event.t - plan.start), clock=iso(event.t)[11:16],
                       detail=f"{stats.published:,} msgs · {stats.dispatched} dispatched · {stats.received} received")

        stats = play(plan, api, registry, uplink, clock, speedup, drain, progress, tick=tick)
        bar.update(task, completed=span, clock="24:00")
    return stats


# --- after the day ---------------------------------------------------------------------------

def read_back_the_day(demo: Demo) -> None:
    """Last detection and watchdog runs, then everything read back through the API and judged."""
    started = time.monotonic()
    demo.detector.run_once()
    demo.detector.run_watchdog()
    demo.outcome = collect(demo.api, demo.registry, demo.plan)
    demo.timings["collect_s"] = time.monotonic() - started


def write_the_report(demo: Demo) -> None:
    from simulators import report

    demo.timings["total_s"] = time.monotonic() - demo.started
    html, js = report.write(demo.outcome, demo.out_dir, stats=demo.stats, timings=demo.timings)
    demo.result = DemoResult(demo.plan, demo.outcome, demo.stats, demo.registry, html, js, demo.server.url,
                             demo.timings)
    report.print_summary(demo.result, demo.console)


def play_the_workflow(demo: Demo) -> None:
    """The manifest workflow after the day, its webhooks delivered by an in-process worker (docs/webhooks.md)."""
    from wasteflow.database import get_engine
    from wasteflow.webhooks.worker import WebhookWorker

    worker = WebhookWorker(get_engine(demo.settings.database_url), demo.settings)

    def deliver() -> None:
        while worker.run_once():
            pass

    try:
        done = play_workflow(demo.api, demo.registry, demo.region, deliver)
    finally:
        worker.close()
    signed = sum(1 for d in done.deliveries if d["signature_ok"])
    demo.console.print(f"workflow: multi-leg {done.multi_leg}, partial refusal {done.partial_refusal} with its "
                       f"return {done.follow_up}, revision #{done.revision_id} {done.revision_status}; webhooks: "
                       f"{len(done.deliveries)} deliveries, {signed} with a valid signature")
    demo.result.workflow = done


def keep_running_if_asked(demo: Demo) -> None:
    if not demo.keep_running:
        return
    url, key = demo.server.url, demo.registry.regulator_key
    demo.console.print(f"\n[bold]The API stays up[/bold] at [cyan]{url}[/cyan] (OpenAPI: {url}/docs)")
    demo.console.print(f"regulator's API key: [green]{key}[/green]")
    demo.console.print(f"try: curl -H 'Authorization: Bearer {key}' {url}/v1/findings")
    demo.console.print("Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


STEPS: list[Step] = [
    create_the_database,
    start_the_broker,
    configure,
    plan_the_day,
    start_the_bridge,
    start_the_api,
    register_the_region,
    connect_the_fleet,
    route_a_transporter_through_jt808,
    route_a_transporter_through_phones,
    weigh_at_a_weighbridge_through_the_scale_gateway,
    play_the_day,
    read_back_the_day,
    write_the_report,
    report_the_scale_tickets,
    play_the_workflow,
    keep_running_if_asked,
]
"""The demo, in order. Steps up to ``register_the_region`` count as setup in the timings."""


def _quiet_libraries() -> None:
    logging.getLogger("wasteflow").setLevel(logging.ERROR)
    logging.getLogger("amqtt").setLevel(logging.CRITICAL)
    logging.getLogger("transitions").setLevel(logging.CRITICAL)


def run(trips: int = 300, seed: int = 7, out_dir: Path | str = DEFAULT_DIR, speedup: float | None = None,
        keep_running: bool = False, console: Console | None = None, show_progress: bool = True,
        steps: Sequence[Step] | None = None) -> DemoResult:
    """Run the demo (``steps``, default :data:`STEPS`); ``speedup`` defaults to a day in a minute."""
    from rich.console import Console

    demo = Demo(trips, seed, Path(out_dir), 86_400 / DAY_IN_SECONDS if speedup is None else speedup, keep_running,
                console or Console(), show_progress)
    _quiet_libraries()
    try:
        for step in STEPS if steps is None else steps:
            step(demo)
        return demo.result
    finally:
        demo.shut_down()


def run_demo(trips: int = 300, seed: int = 7, keep_running: bool = False) -> int:
    """The ``wasteflow demo`` command: 0 when every injected violation was found and no clean trip flagged."""
    from rich.console import Console

    console = Console()
    try:
        result = run(trips=trips, seed=seed, keep_running=keep_running, console=console)
    except KeyboardInterrupt:
        return 130
    workflow_ok = result.workflow is not None and result.workflow.ok
    return 0 if result.outcome.all_found and result.outcome.clean_ok and not result.stats.errors and workflow_ok else 1
