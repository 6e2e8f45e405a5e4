"""Helpers for the monitoring tests: drive the World's truck, store its telemetry the way the
bridge does (``TelemetryStore.write``), run the live detector, read findings back.

Geography (tests/support.py): the power plant at (109.80, 40.60), the cement works at
(109.95, 40.65), 300 m squares, ~13.9 km apart. A straight road joins them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyproj
from sqlmodel import Session, select

from mqtt_bridge.parsing import Accepted, GpsRecord, LoadRecord, TicketRecord
from mqtt_bridge.store import StoredBatch, TelemetryStore
from tests.utils.world import CEMENT, PLANT, square
from wasteflow.findings.models import Finding, FindingEvent
from wasteflow.manifests.models import Manifest
from wasteflow.monitoring.live_detector import LiveDetector
from wasteflow.monitoring.monitor import Monitor

GEOD = pyproj.Geod(ellps="WGS84")
GPS, LOAD = "gps-0001", "load-0001"
PLATE = "蒙B12345"
MID = ((PLANT[0] + CEMENT[0]) / 2, (PLANT[1] + CEMENT[1]) / 2)
_seq = itertools.count(1)


def move(point: tuple[float, float], east_m: float = 0.0, north_m: float = 0.0) -> tuple[float, float]:
    dist = math.hypot(east_m, north_m)
    if dist == 0:
        return point
    lon, lat, _ = GEOD.fwd(point[0], point[1], math.degrees(math.atan2(east_m, north_m)), dist)
    return lon, lat


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def along(frac: float) -> tuple[float, float]:
    """The point ``frac`` of the way from the plant to the cement works."""
    return PLANT[0] + (CEMENT[0] - PLANT[0]) * frac, PLANT[1] + (CEMENT[1] - PLANT[1]) * frac


def base_time(hours_ago: float = 6.0) -> datetime:
    now = datetime.now(UTC).replace(microsecond=0)
    return now - timedelta(hours=hours_ago)


@dataclass
class Drive:
    """A truck's positions, one fix every ``every`` seconds, in event time."""

    t: datetime
    pos: tuple[float, float] = PLANT
    every: float = 10.0
    points: list[tuple[datetime, float, float]] = field(default_factory=list)

    def fix(self) -> Drive:
        self.points.append((self.t, self.pos[0], self.pos[1]))
        return self

    def tick(self) -> None:
        self.t += timedelta(seconds=self.every)

    def go(self, to: tuple[float, float], kmh: float = 60.0) -> Drive:
        dist = distance_m(self.pos, to)
        steps = max(1, math.ceil(dist / (kmh / 3.6 * self.every)))
        start = self.pos
        for k in range(1, steps + 1):
            self.tick()
            f = k / steps
            self.pos = (start[0] + (to[0] - start[0]) * f, start[1] + (to[1] - start[1]) * f)
            self.fix()
        return self

    def stay(self, seconds: float) -> Drive:
        for _ in range(int(seconds // self.every)):
            self.tick()
            self.fix()
        return self

    def jump(self, to: tuple[float, float]) -> Drive:
        self.tick()
        self.pos = to
        return self.fix()

    def wait(self, seconds: float) -> Drive:
        """Time passes without fixes (a tunnel, a dead terminal)."""
        self.t += timedelta(seconds=seconds)
        return self

    def take(self) -> list[tuple[datetime, float, float]]:
        """The points so far, emptied: the next batch starts after them."""
        out, self.points = self.points, []
        return out


def gps_records(points, device_id: str = GPS, verified: bool = True) -> tuple[GpsRecord, ...]:
    return tuple(GpsRecord(device_id=device_id, seq=next(_seq), ts=t, lat=lat, lon=lon, speed_kmh=None,
                           heading=None, hdop=None, verified=verified) for t, lon, lat in points)


def load_records(readings, device_id: str = LOAD) -> tuple[LoadRecord, ...]:
    return tuple(LoadRecord(device_id=device_id, seq=next(_seq), ts=t, load_kg=kg, verified=True)
                 for t, kg in readings)


def ticket_record(device_id: str, ticket_no: str, net_kg: int, at: datetime, manifest_no: str | None = None,
                  plate: str = PLATE, tare_kg: int = 15000) -> TicketRecord:
    return TicketRecord(device_id=device_id, seq=next(_seq), ts=at, ticket_no=ticket_no, plate=plate,
                        gross_kg=net_kg + tare_kg, tare_kg=tare_kg, net_kg=net_kg,
                        gross_at=at - timedelta(minutes=2), tare_at=at, manifest_no=manifest_no, verified=True)


@dataclass
class Env:
    """One test's world plus the bridge's store and a live detector with a fake publisher."""

    world: object
    engine: object
    settings: object
    store: TelemetryStore
    monitor: Monitor
    detector: LiveDetector
    published: list[tuple[str, dict]]

    # --- paperwork through the API ------------------------------------------------------------

    def dispatch(self, t0: datetime, **manifest) -> str:
        no = self.world.file(at=(t0 - timedelta(minutes=20)).isoformat(), **manifest)
        r = self.world.post(f"/v1/manifests/{no}/dispatch", {"at": t0.isoformat()}, "generator")
        assert r.status_code == 200, r.text
        return no

    def receive(self, no: str, accepted_kg: int, at: datetime, **extra) -> dict:
        r = self.world.post(f"/v1/manifests/{no}/receive", {"accepted_kg": accepted_kg, "at": at.isoformat(),
                                                             **extra}, "receiver")
        assert r.status_code == 200, r.text
        return r.json()

    def manifest(self, no: str, who: str = "regulator") -> dict:
        r = self.world.get(f"/v1/manifests/{no}", who)
        assert r.status_code == 200, r.text
        return r.json()

    def zone(self, name: str, kind: str, centre: tuple[float, float], half_m: float) -> int:
        r = self.world.post("/v1/zones", {"name": name, "kind": kind, "geofence": square(*centre, half_m)},
                            "regulator")
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def site(self, owner: str, name: str, kind: str, centre: tuple[float, float], half_m: float = 150.0,
             **extra) -> int:
        body = {"enterprise_id": self.world.ids[owner], "name": name, "kind": kind,
                "geofence": square(*centre, half_m), **extra}
        r = self.world.post("/v1/sites", body, owner)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    # --- telemetry as the bridge stores it ------------------------------------------------------

    def write(self, kind: str, device_id: str, records: tuple, notify: bool = True) -> StoredBatch:
        stored = self.store.write([Accepted(topic=f"wf/v1/dev/{device_id}/{kind}", kind=kind,
                                            device_id=device_id, records=records)])
        if notify:
            self.detector.after_store(stored)
        return stored

    def fixes(self, points, **kw) -> StoredBatch:
        return self.write("gps", GPS, gps_records(points), **kw)

    def loads(self, readings, **kw) -> StoredBatch:
        return self.write("load", LOAD, load_records(readings), **kw)

    def ticket(self, device_id: str, ticket_no: str, net_kg: int, at: datetime, manifest_no: str | None = None,
               **kw) -> StoredBatch:
        return self.write("weigh", device_id, (ticket_record(device_id, ticket_no, net_kg, at, manifest_no, **kw),))

    def run(self) -> list[Finding]:
        return self.detector.run_once()

    # --- reading back ---------------------------------------------------------------------------

    def findings(self, no: str | None = None, code: str | None = None) -> list[Finding]:
        with Session(self.engine) as session:
            query = select(Finding).order_by(Finding.id)
            if no is not None:
                query = query.where(Finding.manifest_no == no)
            if code is not None:
                query = query.where(Finding.code == code)
            return list(session.exec(query).all())

    def history(self, finding_id: int) -> list[FindingEvent]:
        with Session(self.engine) as session:
            return list(session.exec(select(FindingEvent).where(FindingEvent.finding_id == finding_id)
                                     .order_by(FindingEvent.id)).all())

    def status(self, no: str) -> str:
        with Session(self.engine) as session:
            return session.exec(select(Manifest.status).where(Manifest.manifest_no == no)).one()

    def ledger_kinds(self, no: str | None = None) -> list[str]:
        import json

        r = self.world.client.get("/v1/ledger/export", headers={"Authorization": f"Bearer {self.world.regulator}"})
        assert r.status_code == 200, r.text
        entries = [json.loads(line) for line in r.text.splitlines() if line.strip()]
        return [e["kind"] for e in entries if no is None or e["manifest_no"] == no]

    def alerts(self, code: str | None = None) -> list[tuple[str, dict]]:
        return [(topic, body) for topic, body in self.published if code is None or body["code"] == code]


def make_env(world, engine, settings, clock=None) -> Env:
    import json

    published: list[tuple[str, dict]] = []
    monitor = Monitor(settings, clock=clock) if clock else Monitor(settings)
    detector = LiveDetector(engine, monitor, publish=lambda topic, body: published.append((topic, json.loads(body))))
    return Env(world=world, engine=engine, settings=settings, store=TelemetryStore(engine), monitor=monitor,
               detector=detector, published=published)


def window(finding: Finding) -> tuple[datetime, datetime]:
    return _aware(finding.window_start), _aware(finding.window_end)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
