"""Findings as cases: GET /v1/findings/stats on a hand-built history, both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from tests.utils.world import auth
from wasteflow.database import session_scope
from wasteflow.detection.model import FindingDraft
from wasteflow.findings import service as findings
from wasteflow.findings.models import Finding, FindingEvent

H = 3600


def t(value: str) -> datetime:
    return datetime.fromisoformat(value)


def raise_finding(world, engine, key: str, region: str = "150202") -> int:
    start = t("2025-01-01T00:00:00+08:00")
    draft = FindingDraft(code="CAPACITY_EXCEEDED", severity="warning", manifest_no=None, plate=None,
                         window_start=start, window_end=start, location=None, evidence={}, verified=True,
                         episode_key=key)
    with session_scope(engine) as session:
        finding, _ = findings.record(session, draft, region_code=region, site_id=world.ids["cement"])
        return finding.id


def move(world, finding_id: int, *statuses: str) -> None:
    for status in statuses:
        response = world.client.patch(f"/v1/findings/{finding_id}", json={"status": status, "note": f"to {status}"},
                                      headers=auth(world.regulator))
        assert response.status_code == 200, response.text


def retime(engine, finding_id: int, raised: str, *offsets_h: float) -> None:
    """Put the history on a hand-chosen clock: raised at ``raised``, each later event ``offsets_h`` hours on."""
    with session_scope(engine) as session:
        finding = session.get(Finding, finding_id)
        finding.raised_at = t(raised)
        session.add(finding)
        events = session.exec(select(FindingEvent).where(FindingEvent.finding_id == finding_id)
                              .order_by(FindingEvent.id)).all()
        assert len(events) == len(offsets_h) + 1
        for event, hours in zip(events, (0, *offsets_h), strict=False):
            event.at = t(raised) + timedelta(hours=hours)
            session.add(event)


def build_history(world, engine) -> dict[str, int]:
    ids = {name: raise_finding(world, engine, name, "150205" if name == "f7" else "150202")
           for name in ("f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8")}
    move(world, ids["f1"], "acknowledged", "resolved")
    retime(engine, ids["f1"], "2025-01-05T10:00:00+08:00", 2, 24)
    move(world, ids["f2"], "dismissed")
    retime(engine, ids["f2"], "2025-01-20T10:00:00+08:00", 2)
    move(world, ids["f3"], "acknowledged")
    retime(engine, ids["f3"], "2025-01-31T23:00:00+08:00", 1)  # local January, 15:00Z
    with session_scope(engine) as session:
        findings.set_status(session, session.get(Finding, ids["f4"]), "withdrawn", "system", "late data")
    retime(engine, ids["f4"], "2025-01-10T10:00:00+08:00", 1)
    move(world, ids["f5"], "acknowledged", "investigating", "resolved")
    retime(engine, ids["f5"], "2025-02-03T08:00:00+08:00", 1, 2, 10)
    retime(engine, ids["f6"], "2025-02-01T00:30:00+08:00")  # local February, though still 31 January in UTC
    move(world, ids["f7"], "investigating", "resolved")
    retime(engine, ids["f7"], "2025-01-15T08:00:00+08:00", 1, 4)
    move(world, ids["f8"], "acknowledged", "resolved", "investigating", "resolved")  # reopened, closed again
    retime(engine, ids["f8"], "2025-01-08T00:00:00+08:00", 0.5, 1, 20, 48)
    return ids


def stats(world, who="regulator", **params) -> list[dict]:
    response = world.get("/v1/findings/stats", who, **params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_case_figures_by_month_and_region(world, engine):
    build_history(world, engine)
    items = {(i["period"], i["region_code"]): i for i in stats(world, period="month")}
    assert set(items) == {("2025-01", "150202"), ("2025-02", "150202"), ("2025-01", "150205")}
    jan = items["2025-01", "150202"]  # f1, f2, f3, f8 (f4 was withdrawn: never counts)
    assert {k: jan[k] for k in ("raised", "acknowledged", "resolved", "dismissed", "open")} == {
        "raised": 4, "acknowledged": 4, "resolved": 2, "dismissed": 1, "open": 1}
    assert jan["share_closed"] == 0.75
    assert jan["median_time_to_close_s"] == 24 * H  # of 2 h (f2), 24 h (f1), 48 h (f8's last close)
    feb = items["2025-02", "150202"]  # f5 and f6
    assert (feb["raised"], feb["acknowledged"], feb["resolved"], feb["dismissed"]) == (2, 1, 1, 0)
    assert feb["share_closed"] == 0.5 and feb["median_time_to_close_s"] == 10 * H
    district = items["2025-01", "150205"]
    assert (district["raised"], district["resolved"], district["share_closed"],
            district["median_time_to_close_s"]) == (1, 1, 1.0, 4 * H)


def test_case_figures_by_year_window_and_scope(world, engine):
    build_history(world, engine)
    (year,) = stats(world, period="year", region="150202")
    assert (year["period"], year["raised"], year["resolved"], year["dismissed"]) == ("2025", 6, 3, 1)
    assert year["median_time_to_close_s"] == (10 * H + 24 * H) / 2  # of 2, 10, 24, 48 hours
    feb = stats(world, period="month", **{"from": "2025-02-01", "to": "2025-02-28"})
    assert [(i["period"], i["raised"]) for i in feb] == [("2025-02", 2)]
    days = stats(world, period="day", **{"from": "2025-01-31", "to": "2025-01-31"})
    assert [(i["period"], i["raised"], i["acknowledged"]) for i in days] == [("2025-01-31", 1, 1)]
    created = world.post("/v1/regulators", {"name": "district", "regions": ["150205"]}, "admin").json()
    world.keys["district"] = world.post(f"/v1/regulators/{created['id']}/keys", {}, "admin").json()["key"]
    assert [(i["region_code"], i["raised"]) for i in stats(world, "district", period="year")] == [("150205", 1)]
    assert world.get("/v1/findings/stats", "generator").status_code == 403
    assert world.get("/v1/findings/stats", "regulator", period="week").status_code == 422
    assert stats(world, "admin", period="year", region="11") == []
