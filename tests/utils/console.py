"""A trip worth looking at: a planned route and corridor, a detour out of it, a long stop, a short load.

Built through the API and the live monitor (so the findings are the project's own), on top of the flows
data set (tests/flows/flows_dataset.py), for the console's browser test and its screenshots.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlmodel import select

from tests.utils.flows import _ticket, build
from tests.utils.world import CEMENT, PLANT
from wasteflow.config import Settings
from wasteflow.database import session_scope
from wasteflow.manifests.models import Manifest
from wasteflow.monitoring.monitor import Monitor
from wasteflow.tracks.models import GpsFix

ROUTE = [list(PLANT), [109.88, 40.605], [109.92, 40.63], list(CEMENT)]
DISPATCHED = datetime.fromisoformat("2025-03-12T08:00:00+08:00")


def _along(route, fraction):
    """The point ``fraction`` of the way along ``route`` (planar, fine for a picture)."""
    legs = [math.dist(a, b) for a, b in zip(route, route[1:], strict=False)]
    target = fraction * sum(legs)
    for (a, b), leg in zip(zip(route, route[1:], strict=False), legs, strict=False):
        if target <= leg:
            t = target / leg if leg else 0
            return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
        target -= leg
    return list(route[-1])


def fixes() -> list[tuple[datetime, float, float, float]]:
    """(ts, lon, lat, speed): leave the plant, detour ~1.5 km north of the corridor, stop 14 min, arrive."""
    out, ts = [], DISPATCHED + timedelta(minutes=2)
    steps = 60
    for i in range(steps + 1):
        f = i / steps
        lon, lat = _along(ROUTE, f)
        if 0.30 <= f <= 0.42:  # the detour: out of the 500 m corridor for several minutes
            lat += 0.014 * math.sin(math.pi * (f - 0.30) / 0.12)
        out.append((ts, lon, lat, 42.0))
        ts += timedelta(seconds=40)
        if i == 38:  # the stop: 14 minutes within a few metres, far from any site
            for j in range(28):
                out.append((ts, lon + 0.00005 * math.sin(j), lat + 0.00004 * math.cos(j), 0.0))
                ts += timedelta(seconds=30)
    for j in range(8):  # inside the receiving site, at the weighbridge
        out.append((ts, CEMENT[0] + 0.0002 * math.sin(j), CEMENT[1], 3.0))
        ts += timedelta(seconds=30)
    return out


def build_console_world(world, engine, settings: Settings) -> dict:
    manifests = build(world, engine)
    response = world.post("/v1/manifests", world.manifest_body(
        route={"type": "LineString", "coordinates": ROUTE}, corridor_m=500,
        planned_departure=DISPATCHED.isoformat(), planned_arrival=(DISPATCHED + timedelta(hours=2)).isoformat(),
        at=(DISPATCHED - timedelta(hours=1)).isoformat()), "generator")
    assert response.status_code == 201, response.text
    no = response.json()["manifest_no"]
    assert world.post(f"/v1/manifests/{no}/dispatch", {"at": DISPATCHED.isoformat()}, "generator").status_code == 200
    _ticket(engine, world, no, "departure", 30000, DISPATCHED.isoformat())
    track = fixes()
    with session_scope(engine) as session:
        for seq, (ts, lon, lat, speed) in enumerate(track, 1):
            session.add(GpsFix(device_id="gps-0001", ts=ts, seq=seq, lon=round(lon, 6), lat=round(lat, 6),
                               speed_kmh=speed, verified=True))
    with session_scope(engine) as session:
        manifest = session.exec(select(Manifest).where(Manifest.manifest_no == no)).one()
        Monitor(settings).follow(session, manifest)
    received_at = track[-1][0] + timedelta(minutes=5)
    _ticket(engine, world, no, "arrival", 29100, received_at.isoformat())
    response = world.post(f"/v1/manifests/{no}/receive", {"accepted_kg": 29100, "at": received_at.isoformat()},
                          "receiver")
    assert response.status_code == 200, response.text
    manifests["trip"] = no
    manifests.update(workflow_data(world, engine))
    return manifests


def workflow_data(world, engine) -> dict:
    """The manifest workflow's data set (tests/utils/flows_workflow.py: two legs, a partial refusal with its
    follow-ups, a redirected rejection) and an applied revision of w2's refused kg."""
    from tests.utils.flows_workflow import build as build_workflow

    manifests = build_workflow(world, engine)
    response = world.post(f"/v1/manifests/{manifests['w2']}/revisions",
                          {"changes": {"refused_kg": 4100}, "reason": "the rubble was weighed again"}, "receiver")
    assert response.status_code == 201, response.text
    for who in ("generator", "transporter"):
        approved = world.post(f"/v1/revisions/{response.json()['id']}/approve", {"note": "agreed"}, who)
        assert approved.status_code == 200, approved.text
    return manifests
