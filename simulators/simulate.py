"""``wasteflow simulate``: the demo's fleet against any API and broker (the production stack, a load test).

The region is registered through the API with the administrator's key (``variant`` makes
its names, plates and device ids unique when a copy is already registered). The day is
anchored so that it ends when the playback ends: at any speed-up every event time lies in
the past when it is published, as a real device's would. Devices publish over one MQTT
connection, or -- against a broker with per-device accounts (``wasteflow broker-config``:
username = device id, password = its secret) -- one connection per device.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from simulators.fleet import TZ, Plan, local_midnight, plan_day
from simulators.region import Region, build_region
from simulators.runner import Api, ApiError, Publisher, SimClock, Uplink, register_region


class DevicePublishers:
    """One MQTT connection per device, each logged in as that device (lazily connected)."""

    def __init__(self, url: str, protocol: str, secrets: dict[str, str]):
        from urllib.parse import urlparse

        parsed = urlparse(url)
        self.base = f"{parsed.scheme}://{parsed.hostname}:{parsed.port or 1883}"
        self.protocol = protocol
        self.secrets = secrets
        self.clients: dict[str, Publisher] = {}

    def _client(self, device_id: str) -> Publisher:
        if device_id not in self.clients:
            from urllib.parse import quote

            url = self.base.replace("://", f"://{quote(device_id, safe='')}:{quote(self.secrets[device_id], safe='')}@")
            pub = Publisher(url, self.protocol, client_id=f"sim-{device_id}")
            pub.connect()
            self.clients[device_id] = pub
        return self.clients[device_id]

    def publish(self, topic: str, payload: bytes) -> None:
        self._client(topic.split("/")[3]).publish(topic, payload)

    @property
    def sent(self) -> int:
        return sum(c.sent for c in self.clients.values())

    def wait_acked(self, timeout: float = 60.0) -> bool:
        return all(c.wait_acked(timeout) for c in self.clients.values())

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


def run_simulation(api_url: str, mqtt_url: str, api_key: str, trips: int = 300, seed: int = 7,
                   speedup: float = 1440.0, protocol: str = "5", variant: str = "", per_device: bool = False,
                   out_dir: Path | str = Path("wasteflow-simulate")) -> int:
    from rich.console import Console

    from simulators import report
    from simulators.demo import DemoResult, play_with_progress
    from simulators.outcome import collect

    console = Console()
    t0 = time.monotonic()
    region = build_region(variant)
    api = Api(api_url)
    try:
        registry = register_region(api, api_key, region)
    except ApiError as exc:
        console.print(f"[red]registering the region failed[/red]: {exc}")
        if exc.status in (409, 422):
            console.print("Is a copy of the region already registered? Run again with --variant X (a capital letter).")
        return 2
    console.print(f"registered the region through {api_url}: {len(region.sites)} sites, {len(region.vehicles)} trucks, "
                  f"{len(registry.secrets)} devices")
    plan = _plan_ending_now(region, trips, seed, speedup)
    uplink = _uplink(mqtt_url, protocol, variant, registry.secrets if per_device else None)

    def drain() -> None:
        uplink.wait_acked(60)
        time.sleep(1.0)  # the bridge stores what the broker acknowledged within its batch window

    span = plan.end - plan.start
    console.print(f"{len(plan.trips)} manifests, {plan.message_count:,} messages over "
                  f"{span / 3600:.1f} simulated hours at {speedup:,.0f}x ({span / speedup / 60:.1f} min)")
    try:
        stats = play_with_progress(plan, api, registry, uplink, SimClock(plan.start), speedup, drain, None, console,
                                   True)
    finally:
        uplink.close()
    time.sleep(2.0)
    outcome = collect(api, registry, plan)
    timings = {"total_s": time.monotonic() - t0}
    html, js = report.write(outcome, Path(out_dir), stats=stats, timings=timings)
    report.print_summary(DemoResult(plan, outcome, stats, registry, html, js, api_url, timings), console)
    console.print(f"regulator's API key for this region: [green]{registry.regulator_key}[/green]")
    api.close()
    return 0 if not stats.errors else 1


def _plan_ending_now(region: Region, trips: int, seed: int, speedup: float) -> Plan:
    """Today's plan, anchored so that it ends when the playback ends (no event time ever in the future)."""
    if speedup <= 0:
        raise ValueError("simulate needs a positive --speedup (event times must never lie in the future)")
    now = time.time()
    today = datetime.now(TZ).date()
    probe = plan_day(region, trips, seed, day=today)
    wanted_end = now + (probe.end - probe.start) / speedup - 5
    midnight = local_midnight(today) + (wanted_end - probe.end)
    return plan_day(region, trips, seed, day=today, start_at=midnight)


def _uplink(mqtt_url: str, protocol: str, variant: str, per_device_secrets: dict[str, str] | None) -> Uplink:
    """One connection per device when given their secrets, else one for the whole fleet."""
    if per_device_secrets is not None:
        return DevicePublishers(mqtt_url, protocol, per_device_secrets)
    publisher = Publisher(mqtt_url, protocol, client_id=f"wasteflow-simulator-{variant or 'fleet'}")
    publisher.connect()
    return publisher
