"""A small known data set for flows, exports and the console, built through the API.

Local time is Asia/Shanghai (UTC+8). Day 1 is 2025-03-10, day 2 is 2025-03-11.

(kg in question in brackets)

| manifest | generator | code | declared | departed | received | accepted | what happens |
| --- | --- | --- | --- | --- | --- | --- | --- |
| m1 | generator | SW02 | 30000 | 30000 | 29960 | 29960 | received day 1 10:00 |
| m2 | generator | SW02 | 28000 | 28100 | 28000 | 28000 | received day 1 14:00 |
| m8 | outsider  | SW02 | 12000 | 12000 | 12000 | 11990 | received day 1 16:00 |
| m3 | generator | SW03 | 25000 | 25000 | 24900 | 24900 | received day 2 09:00 |
| m4 | generator | SW02 | 30000 | 30000 | 28000 | 28000 | received day 2 11:00: TONNAGE_SHORTFALL (2000 kg) |
| m9 | generator | SW03 | 20000 | 20000 | 20000 | 19000 | received day 2 15:00: ACCEPTANCE_MISMATCH (1000 kg) |
| m7 | generator | SW02 | 10000 | 10000 | 10000 | 10000 | received 2025-03-12 00:30 local (still 03-11 in UTC) |
| m5 | generator | SW02 | 20000 | 20500 |   —   |   —   | dispatched day 2 12:00, in transit |
| m6 | generator | SW03 | 15000 |   —   |   —   |   —   | dispatched day 2 07:00, rejected day 2 10:00 (no ticket) |
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from wasteflow.database import session_scope
from wasteflow.tickets.models import WeighTicket

_seq = count(1)


def local(day: int, hour: int, minute: int = 0) -> str:
    return f"2025-03-{day:02d}T{hour:02d}:{minute:02d}:00+08:00"


def _ticket(engine, world, manifest_no: str, direction: str, net: int, at: str) -> None:
    ts = datetime.fromisoformat(at)
    site = world.ids["cement"] if direction == "arrival" else None
    with session_scope(engine) as session:
        from sqlmodel import select

        from wasteflow.manifests.models import Manifest
        manifest = session.exec(select(Manifest).where(Manifest.manifest_no == manifest_no)).one()
        site = site or manifest.generator_site_id
        seq = next(_seq)
        session.add(WeighTicket(device_id="wb-cement" if direction == "arrival" else "wb-plant", seq=seq, ts=ts,
                                site_id=site, ticket_no=f"T-{direction[:3].upper()}-{seq}", plate="蒙B12345",
                                gross_kg=15000 + net, tare_kg=15000, net_kg=net, gross_at=ts,
                                tare_at=ts + timedelta(minutes=5), claimed_manifest_no=manifest_no,
                                manifest_no=manifest_no, direction=direction, verified=True))


def trip(world, engine, *, who: str = "generator", site: str = "plant", code: str, declared: int,
         departed: int | None, dispatched: str, received: int | None = None, accepted: int | None = None,
         received_at: str | None = None, rejected_at: str | None = None) -> str:
    filed_at = (datetime.fromisoformat(dispatched) - timedelta(hours=1)).isoformat()
    response = world.post("/v1/manifests", world.manifest_body(generator_site_id=world.ids[site], waste_code=code,
                                                               declared_kg=declared, at=filed_at), who)
    assert response.status_code == 201, response.text
    no = response.json()["manifest_no"]
    response = world.post(f"/v1/manifests/{no}/dispatch", {"at": dispatched}, who)
    assert response.status_code == 200, response.text
    if departed is not None:
        _ticket(engine, world, no, "departure", departed, dispatched)
    if received_at is not None:
        _ticket(engine, world, no, "arrival", received, received_at)
        response = world.post(f"/v1/manifests/{no}/receive", {"accepted_kg": accepted, "at": received_at}, "receiver")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "reconciled", response.json()["status"]
    if rejected_at is not None:
        response = world.post(f"/v1/manifests/{no}/reject", {"reason": "wrong waste", "at": rejected_at}, "receiver")
        assert response.status_code == 200, response.text
    return no


def allow_a_historical_data_set(world) -> None:
    """The data sets are a past month (March 2025), filed as an archive import would be: this
    deployment lifts the bound on backdated filings (filing_max_age_h, 72 h by default)."""
    world.client.app.state.settings.filing_max_age_h = 1e8


def build(world, engine) -> dict[str, str]:
    allow_a_historical_data_set(world)
    m = {}
    m["m1"] = trip(world, engine, code="SW02", declared=30000, departed=30000, dispatched=local(10, 8),
                   received=29960, accepted=29960, received_at=local(10, 10))
    m["m2"] = trip(world, engine, code="SW02", declared=28000, departed=28100, dispatched=local(10, 12),
                   received=28000, accepted=28000, received_at=local(10, 14))
    m["m8"] = trip(world, engine, who="outsider", site="outsider_plant", code="SW02", declared=12000,
                   departed=12000, dispatched=local(10, 15), received=12000, accepted=11990,
                   received_at=local(10, 16))
    m["m6"] = trip(world, engine, code="SW03", declared=15000, departed=None, dispatched=local(11, 7),
                   rejected_at=local(11, 10))
    m["m3"] = trip(world, engine, code="SW03", declared=25000, departed=25000, dispatched=local(11, 7),
                   received=24900, accepted=24900, received_at=local(11, 9))
    m["m4"] = trip(world, engine, code="SW02", declared=30000, departed=30000, dispatched=local(11, 9),
                   received=28000, accepted=28000, received_at=local(11, 11))
    m["m5"] = trip(world, engine, code="SW02", declared=20000, departed=20500, dispatched=local(11, 12))
    m["m9"] = trip(world, engine, code="SW03", declared=20000, departed=20000, dispatched=local(11, 13),
                   received=20000, accepted=19000, received_at=local(11, 15))
    m["m7"] = trip(world, engine, code="SW02", declared=10000, departed=10000, dispatched=local(11, 22),
                   received=10000, accepted=10000, received_at=local(12, 0, 30))
    return m
