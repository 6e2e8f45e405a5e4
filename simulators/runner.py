"""Playing a plan against a real API and a real broker.

* :class:`Api` -- a small HTTP client (httpx) speaking the REST contract.
* :func:`register_region` -- the region's regulator, enterprises, sites with their permits,
  zones, vehicles and devices, registered through the API; returns every id, key and secret.
* :class:`Publisher` -- one MQTT connection (3.1.1 or 5) publishing every device's messages
  at QoS 1, each signed with its device's secret.
* :func:`play` -- the events in event-time order, paced at ``speedup`` x real time, with the
  simulated clock advanced as it goes. Before a receipt is signed the data published so far
  is given to the bridge (``drain``), so reconciliation at receipt sees the whole trip.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import httpx
import paho.mqtt.client as mqtt

from mqtt_bridge.signing import signed_payload
from simulators.fleet import Event, Plan, TripPlan, iso
from simulators.region import Region, credit_code


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: str):
        super().__init__(f"{method} {path} -> {status}: {body[:400]}")
        self.status = status
        self.body = body


class Api:
    def __init__(self, base_url: str, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def _check(self, method: str, path: str, response: httpx.Response) -> Any:
        if response.status_code >= 300:
            raise ApiError(method, path, response.status_code, response.text)
        return response.json() if response.content else {}

    def post(self, path: str, body: dict, key: str) -> dict:
        return self._check("POST", path, self.http.post(path, json=body, headers={"Authorization": f"Bearer {key}"}))

    def get(self, path: str, key: str, **params: Any) -> Any:
        """The response's JSON (an object or a list)."""
        params = {k: v for k, v in params.items() if v is not None}
        return self._check("GET", path, self.http.get(path, params=params, headers={"Authorization": f"Bearer {key}"}))

    def pages(self, path: str, key: str, **params: Any) -> list[dict]:
        items: list[dict] = []
        cursor = None
        while True:
            page = self.get(path, key, cursor=cursor, **params)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def close(self) -> None:
        self.http.close()


@dataclass
class Registry:
    regulator_id: int
    regulator_key: str
    enterprise_ids: dict[str, int] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # enterprise key -> API key
    site_ids: dict[str, int] = field(default_factory=dict)
    zone_ids: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # device id -> secret

    def site_key(self, site_id: int) -> str | None:
        return next((k for k, v in self.site_ids.items() if v == site_id), None)


def register_region(api: Api, admin_key: str, region: Region) -> Registry:
    """Register the whole region through the API (the administrator creates the regulator)."""
    reg_id = api.post("/v1/regulators", {"name": region.regulator_name, "regions": ["1502"]}, admin_key)["id"]
    reg_key = api.post(f"/v1/regulators/{reg_id}/keys", {}, admin_key)["key"]
    registry = Registry(reg_id, reg_key)
    for i, (key, ent) in enumerate(region.enterprises.items(), 1):
        body: dict[str, Any] = {"name": ent.name, "credit_code": credit_code(ent.region_code, i, region.variant),
                                "roles": list(ent.roles), "region_code": ent.region_code}
        registry.enterprise_ids[key] = api.post("/v1/enterprises", body, reg_key)["id"]
        registry.keys[key] = api.post(f"/v1/enterprises/{registry.enterprise_ids[key]}/keys", {}, reg_key)["key"]
    for key, site in region.sites.items():
        body = {"enterprise_id": registry.enterprise_ids[site.enterprise], "name": site.name, "kind": site.kind,
                "geofence": region.site_lonlat_polygon(key)}
        if site.permitted:
            body["permitted_codes"] = list(site.permitted)
        if site.capacity_kg:
            body["annual_capacity_kg"] = site.capacity_kg
        registry.site_ids[key] = api.post("/v1/sites", body, registry.keys[site.enterprise])["id"]
    for key, zone in region.zones.items():
        registry.zone_ids[key] = api.post("/v1/zones", {"name": zone.name, "kind": zone.kind,
                                                        "geofence": region.zone_lonlat_polygon(key)}, reg_key)["id"]
    for v in region.vehicles:
        tkey = registry.keys[v.transporter]
        api.post("/v1/vehicles", {"transporter_id": registry.enterprise_ids[v.transporter], "plate": v.plate,
                                  "tare_kg": v.tare_kg, "max_load_kg": v.max_load_kg}, tkey)
        for device, kind in ((v.gps_id, "gps"), (v.load_id, "load_cell")):
            issued = api.post("/v1/devices", {"id": device, "kind": kind, "vehicle_plate": v.plate,
                                              "require_signature": True}, tkey)
            registry.secrets[device] = issued["secret"]
    for key, site in region.sites.items():
        if site.kind == "parking":
            continue
        issued = api.post("/v1/devices", {"id": site.weighbridge_id, "kind": "weighbridge",
                                          "site_id": registry.site_ids[key], "require_signature": True},
                          registry.keys[site.enterprise])
        registry.secrets[site.weighbridge_id] = issued["secret"]
    return registry


class Publisher:
    """One MQTT connection for the whole simulated fleet (QoS 1; counts what the broker acknowledged)."""

    def __init__(self, url: str, protocol: str = "3.1.1", client_id: str = "wasteflow-simulator"):
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 1883
        v5 = protocol.strip() == "5"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
        if parsed.username:
            self.client.username_pw_set(unquote(parsed.username), unquote(parsed.password or ""))
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.on_publish = self._on_publish
        self.client.on_connect = self._on_connect
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self.sent = 0
        self.acked = 0
        self.bytes = 0

    def _on_connect(self, _client, _userdata, _flags, reason_code, _properties):
        if not reason_code.is_failure:
            self._connected.set()

    def _on_publish(self, _client, _userdata, _mid, _reason_code, _properties):
        with self._lock:
            self.acked += 1

    def connect(self, timeout: float = 10.0) -> None:
        self.client.connect(self.host, self.port, keepalive=60)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise RuntimeError(f"could not connect to the broker at {self.host}:{self.port}")

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1)
        self.sent += 1
        self.bytes += len(payload)

    def wait_acked(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.acked < self.sent:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Uplink(Protocol):
    """Where the fleet's device messages go: the broker directly (:class:`Publisher`) or a gateway.

    ``sent`` counts the messages the bridge will receive for what was published: the demo
    drains by waiting until the bridge has received that many.
    """

    @property
    def sent(self) -> int: ...

    def publish(self, topic: str, payload: bytes) -> None: ...

    def wait_acked(self, timeout: float = 60.0) -> bool: ...

    def close(self) -> None: ...


class UplinkByDevice:
    """Each device's messages through the uplink routed for it, every other device's through ``default``."""

    def __init__(self, default: Uplink):
        self.default = default
        self.routes: dict[str, Uplink] = {}

    def route(self, device_ids: Iterable[str], uplink: Uplink) -> None:
        for device_id in device_ids:
            self.routes[device_id] = uplink

    def _uplinks(self) -> list[Uplink]:
        out = [self.default]
        for uplink in self.routes.values():
            if all(uplink is not known for known in out):
                out.append(uplink)
        return out

    def publish(self, topic: str, payload: bytes) -> None:
        self.routes.get(topic.split("/")[3], self.default).publish(topic, payload)  # wf/v1/dev/{id}/{channel}

    @property
    def sent(self) -> int:
        return sum(uplink.sent for uplink in self._uplinks())

    def wait_acked(self, timeout: float = 60.0) -> bool:
        return all(uplink.wait_acked(timeout) for uplink in self._uplinks())

    def close(self) -> None:
        for uplink in self._uplinks():
            uplink.close()


class SimClock:
    """The simulated clock (event time): the overdue watchdog reads it."""

    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)


@dataclass
class PlayStats:
    published: int = 0
    api_calls: int = 0
    errors: list[str] = field(default_factory=list)
    filed: int = 0
    dispatched: int = 0
    received: int = 0
    drains: int = 0
    wall_s: float = 0.0


def manifest_body(plan: Plan, registry: Registry, trip: TripPlan) -> dict:
    r = plan.region
    return {"generator_site_id": registry.site_ids[trip.generator],
            "transporter_id": registry.enterprise_ids[trip.transporter],
            "vehicle_plate": trip.plate, "receiver_site_id": registry.site_ids[trip.receiver],
            "waste_code": trip.flow.waste_code, "declared_kg": trip.declared_kg,
            "planned_departure": iso(trip.planned_departure), "planned_arrival": iso(trip.planned_arrival),
            "route": r.frame.linestring(trip.route), "corridor_m": 500, "at": iso(trip.filed_at)}


def message_bytes(event: Event, plan: Plan, secrets: dict[str, str]) -> bytes:
    """A device event's payload as its device signs it, the trip placeholder replaced by the manifest number."""
    if event.device_id is None or event.payload is None:
        raise ValueError(f"not a device message: {event}")
    payload = event.payload
    if event.channel == "weigh" and "manifest_no" in payload:
        payload = dict(payload)
        trip = plan.trip(payload["manifest_no"].removeprefix("@trip:"))
        if trip.manifest_no:
            payload["manifest_no"] = trip.manifest_no
        else:
            del payload["manifest_no"]
    return signed_payload(event.device_id, secrets[event.device_id], payload)


def play(plan: Plan, api: Api, registry: Registry, publisher: Uplink, clock: SimClock, speedup: float,
         drain: Callable[[], None], progress: Callable[[Event, PlayStats], None] | None = None,
         tick: Callable[[], None] | None = None, tick_every_s: float = 1.0,
         receipt_window_s: float = 1800.0) -> PlayStats:
    """Play every event; ``speedup`` = simulated seconds per real second (0 = as fast as possible).

    Receipts are signed in batches: those falling in one ``receipt_window_s`` of event time
    are signed (each with its own ``at``) once the bridge has stored everything published up
    to the end of the window -- one ``drain`` per window rather than per receipt. ``tick``
    (optional) is called after each drain, before the receipts, and while waiting for the
    pacing (at most every ``tick_every_s`` real seconds): the demo drives live detection and
    the watchdog through it.
    """
    stats = PlayStats()
    started = time.monotonic()
    pending: list[TripPlan] = []
    window_start = 0.0  # event time of the first pending receipt
    last_progress = last_tick = 0.0

    def ticking() -> None:
        nonlocal last_tick
        if tick is not None and time.monotonic() - last_tick >= tick_every_s:
            tick()
            last_tick = time.monotonic()

    def flush() -> None:
        nonlocal last_tick
        if not pending:
            return
        drain()
        stats.drains += 1
        if tick is not None:
            tick()  # live detection over the data just stored, before the receipts close the trips
            last_tick = time.monotonic()
        for trip in pending:
            _call(stats, "receive", plan, api, registry, trip)
        pending.clear()

    for event in plan.events:
        if pending and event.t - window_start >= receipt_window_s:
            flush()
        if speedup > 0:
            ahead = (event.t - plan.start) / speedup - (time.monotonic() - started)
            while ahead > 0:
                time.sleep(min(ahead, 0.2))
                ticking()
                ahead = (event.t - plan.start) / speedup - (time.monotonic() - started)
        clock.t = max(clock.t, event.t)
        if event.kind == "publish":
            publisher.publish(event.topic, message_bytes(event, plan, registry.secrets))
            stats.published += 1
        elif event.kind == "receive":
            if not pending:
                window_start = event.t
            pending.append(_trip_of(plan, event))
        else:
            _call(stats, event.kind, plan, api, registry, _trip_of(plan, event))
        if progress is not None and time.monotonic() - last_progress > 0.1:
            progress(event, stats)
            last_progress = time.monotonic()
    flush()
    clock.t = max(clock.t, plan.end)
    drain()
    stats.wall_s = time.monotonic() - started
    if progress is not None and plan.events:
        progress(plan.events[-1], stats)
    return stats


def _trip_of(plan: Plan, event: Event) -> TripPlan:
    if event.trip is None:
        raise ValueError(f"a {event.kind} event names no trip")
    return plan.trip(event.trip)


# --- the paperwork: one signing function per kind of event -----------------------------------

Signature = Callable[[Plan, Api, Registry, TripPlan], None]


def _signer_key(plan: Plan, registry: Registry, site: str) -> str:
    return registry.keys[plan.region.sites[site].enterprise]


def _manifest_no(trip: TripPlan, kind: str) -> str:
    if trip.manifest_no is None:
        raise ApiError(kind, trip.key, 0, "the manifest was never filed")
    return trip.manifest_no


def file_manifest(plan: Plan, api: Api, registry: Registry, trip: TripPlan) -> None:
    body = manifest_body(plan, registry, trip)
    trip.manifest_no = api.post("/v1/manifests", body, _signer_key(plan, registry, trip.generator))["manifest_no"]


def sign_dispatch(plan: Plan, api: Api, registry: Registry, trip: TripPlan) -> None:
    body = {"at": iso(trip.dispatch_at)}
    if trip.named_departure_ticket:
        body["departure_ticket_no"] = trip.named_departure_ticket
    manifest_no = _manifest_no(trip, "dispatch")
    api.post(f"/v1/manifests/{manifest_no}/dispatch", body, _signer_key(plan, registry, trip.generator))


def sign_receipt(plan: Plan, api: Api, registry: Registry, trip: TripPlan) -> None:
    if trip.receive_at is None:
        raise ValueError(f"trip {trip.key} is never received")
    body: dict[str, Any] = {"accepted_kg": trip.accepted_kg, "at": iso(trip.receive_at)}
    if trip.arrival_ticket is not None:
        body["arrival_ticket_no"] = trip.arrival_ticket.ticket_no
    manifest_no = _manifest_no(trip, "receive")
    api.post(f"/v1/manifests/{manifest_no}/receive", body, _signer_key(plan, registry, trip.receiver))


SIGNATURES: dict[str, Signature] = {"file": file_manifest, "dispatch": sign_dispatch, "receive": sign_receipt}
"""What each kind of paperwork event does through the API; a new kind of event is a new row."""

COUNTED_AS = {"file": "filed", "dispatch": "dispatched", "receive": "received"}  # PlayStats fields


def _call(stats: PlayStats, kind: str, plan: Plan, api: Api, registry: Registry, trip: TripPlan) -> None:
    try:
        SIGNATURES[kind](plan, api, registry, trip)
    except ApiError as exc:
        stats.errors.append(f"{trip.key} {kind}: {exc}")
        return
    stats.api_calls += 1
    counter = COUNTED_AS.get(kind)
    if counter is not None:
        setattr(stats, counter, getattr(stats, counter) + 1)


def payload_digest(plan: Plan) -> list[tuple]:
    """The plan's messages and signatures as comparable tuples (determinism tests)."""
    return [(e.t, e.kind, e.trip, e.device_id, e.channel, json.dumps(e.payload, sort_keys=True, ensure_ascii=False))
            for e in plan.events]
