"""A ticket counts for a manifest only when its weighbridge weighs for it (issue 12 item 4): the
generator's or receiver's site, or a handover site of one of its legs. A weighbridge elsewhere
claiming the manifest's number is quarantined as ``foreign_weighbridge`` and raises nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from tests.utils.monitoring import base_time
from wasteflow.quarantine.models import QuarantinedMessage
from wasteflow.tickets.models import WeighTicket


def _register_weighbridge(env, owner: str, device_id: str, site_id: int) -> None:
    r = env.world.post("/v1/devices", {"id": device_id, "kind": "weighbridge", "site_id": site_id}, owner)
    assert r.status_code == 201, r.text


def _tickets(env) -> list[WeighTicket]:
    with Session(env.engine) as session:
        return list(session.exec(select(WeighTicket)).all())


def _quarantined(env) -> list[QuarantinedMessage]:
    with Session(env.engine) as session:
        return list(session.exec(select(QuarantinedMessage)).all())


def test_a_foreign_weighbridge_claiming_a_manifest_is_quarantined_and_raises_nothing(env):
    _register_weighbridge(env, "outsider", "wb-outsider", env.world.ids["outsider_plant"])
    t0 = base_time(hours_ago=3)
    no = env.dispatch(t0)
    # another plate and a short net weight: were it trusted, PLATE_MISMATCH and a shortfall would follow
    env.ticket("wb-outsider", "X-1", 1000, t0 + timedelta(hours=1), manifest_no=no, plate="蒙B99999")
    assert env.findings(no) == []
    assert _tickets(env) == []
    [held] = _quarantined(env)
    assert held.reason == "foreign_weighbridge" and held.device_id == "wb-outsider"
    assert no in held.detail and b"X-1" in held.payload
    listed = env.world.get("/v1/quarantine", "regulator", reason="foreign_weighbridge").json()["items"]
    assert [item["reason"] for item in listed] == ["foreign_weighbridge"]
    # the manifest's own weighbridges still count: the receiver's, with the wrong plate, raises
    env.ticket("wb-cement", "C-1", 29900, t0 + timedelta(hours=1), manifest_no=no, plate="蒙B99999")
    assert [f.code for f in env.findings(no)] == ["PLATE_MISMATCH"]
    assert [t.ticket_no for t in _tickets(env)] == ["C-1"]


def test_the_generators_weighbridge_links_its_departure_ticket(env):
    t0 = base_time(hours_ago=3)
    no = env.dispatch(t0)
    env.ticket("wb-plant", "P-1", 30000, t0 - timedelta(minutes=5), manifest_no=no)
    [ticket] = _tickets(env)
    assert ticket.manifest_no == no and ticket.direction == "departure"
    assert _quarantined(env) == []
