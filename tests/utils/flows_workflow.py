"""A known data set for flows across the manifest workflow, built through the API (tests/utils/workflow.py's
world). Local time Asia/Shanghai; every event on 2025-03-20.

| manifest | kind | code | declared | departed | received | accepted | refused | what happens |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
| w1 | primary | SW02 | 30000 | 30000 | 29900 | 29900 | — | two legs: handed over to haulier2 at the transfer station 09:00, received 11:00 |
| w2 | primary | SW03 | 30000 | 30000 | 30000 | 26000 | 4000 | received 12:00 with a partial refusal |
| w3 | return of w2 | SW03 | 2500 | 2500 | 2500 | 2500 | — | back to the power plant, received by the generator 15:00 |
| w4 | redirect of w2 | SW03 | 1000 | — | — | — | — | to the landfill, dispatched 13:00, on the road |
| w5 | primary | SW03 | 20000 | — | — | — | — | rejected 10:00, never weighed |
| w6 | redirect of w5 | SW03 | 12000 | 12000 | 12000 | 12000 | — | to the landfill, received 16:00 |

Refused and not yet on a follow-up: w2's 4000 − 2500 − 1000 = 500. Rejected and not on a follow-up
(disputed): w5's 20000 − 12000 = 8000.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from sqlmodel import select

from tests.utils.flows import allow_a_historical_data_set
from tests.utils.workflow import PLATES, extend, follow_up_body, leg, ok
from wasteflow.database import session_scope
from wasteflow.manifests.models import Manifest
from wasteflow.tickets.models import WeighTicket

_seq = count(1)


def at(hour: int, minute: int = 0) -> str:
    return f"2025-03-20T{hour:02d}:{minute:02d}:00+08:00"


def ticket(engine, manifest_no: str, direction: str, net: int, when: str, plate: str = PLATES["transporter"]) -> None:
    ts = datetime.fromisoformat(when)
    with session_scope(engine) as session:
        manifest = session.exec(select(Manifest).where(Manifest.manifest_no == manifest_no)).one()
        site = manifest.generator_site_id if direction == "departure" else manifest.receiver_site_id
        seq = next(_seq)
        session.add(WeighTicket(device_id=f"wb-{site}", seq=seq, ts=ts, site_id=site, ticket_no=f"W-{seq}",
                                plate=plate, gross_kg=15000 + net, tare_kg=15000, net_kg=net, gross_at=ts,
                                tare_at=ts + timedelta(minutes=5), manifest_no=manifest_no, direction=direction,
                                verified=True))


def _file(world, who: str, body: dict, dispatched: str) -> str:
    filed = (datetime.fromisoformat(dispatched) - timedelta(hours=1)).isoformat()
    manifest_no = ok(world.post("/v1/manifests", {**body, "at": filed}, who), 201)["manifest_no"]
    ok(world.post(f"/v1/manifests/{manifest_no}/dispatch", {"at": dispatched}, who))
    return manifest_no


def _receive(world, engine, manifest_no: str, who: str, net: int, when: str, **signature) -> None:
    ticket(engine, manifest_no, "arrival", net, when)
    body = {"accepted_kg": signature.pop("accepted_kg", net), "at": when, **signature}
    assert ok(world.post(f"/v1/manifests/{manifest_no}/receive", body, who))["status"] == "reconciled"


def build(world, engine) -> dict[str, str]:
    allow_a_historical_data_set(world)
    extend(world)
    m: dict[str, str] = {}
    m["w1"] = _file(world, "generator", world.manifest_body(legs=[leg(world, "haulier2")]), at(8))
    ticket(engine, m["w1"], "departure", 30000, at(8))
    ok(world.post(f"/v1/manifests/{m['w1']}/handover", {"leg": 2, "at": at(9), "site_id": world.ids["transfer"]},
                  "haulier2"))
    _receive(world, engine, m["w1"], "receiver", 29900, at(11))

    m["w2"] = _file(world, "generator", world.manifest_body(waste_code="SW03"), at(9))
    ticket(engine, m["w2"], "departure", 30000, at(9))
    _receive(world, engine, m["w2"], "receiver", 30000, at(12), accepted_kg=26000, refused_kg=4000,
             refusal_reason="mixed with rubble")

    m["w3"] = _file(world, "receiver", follow_up_body(world, m["w2"], "return", 2500, waste_code="SW03"), at(13))
    ticket(engine, m["w3"], "departure", 2500, at(13))
    _receive(world, engine, m["w3"], "generator", 2500, at(15))

    m["w4"] = _file(world, "receiver", follow_up_body(world, m["w2"], "redirect", 1000, waste_code="SW03"), at(13))

    m["w5"] = _file(world, "generator", world.manifest_body(waste_code="SW03", declared_kg=20000), at(8))
    ok(world.post(f"/v1/manifests/{m['w5']}/reject", {"reason": "not furnace slag", "at": at(10)}, "receiver"))
    m["w6"] = _file(world, "receiver", follow_up_body(world, m["w5"], "redirect", 12000, waste_code="SW03"), at(14))
    ticket(engine, m["w6"], "departure", 12000, at(14))
    _receive(world, engine, m["w6"], "receiver2", 12000, at(16))
    return m
