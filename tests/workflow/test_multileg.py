"""Multi-leg transport through the API (domain.md "Multi-leg transport"), on both databases."""

from __future__ import annotations

from datetime import timedelta

from tests.utils.api import ago, conflict_state, iso, ledger_entries, problem, violation
from tests.utils.workflow import PLATES, dispatched, extend, leg, ok
from wasteflow.database import session_scope
from wasteflow.tickets.models import WeighTicket


def kinds(world, manifest_no: str, who: str = "regulator") -> list[str]:
    return [e["kind"] for e in ok(world.get(f"/v1/manifests/{manifest_no}/ledger", who))["entries"]]


def test_legs_named_at_filing_are_shown_and_every_legs_transporter_sees_the_manifest(world):
    extend(world)
    manifest_no = world.file(legs=[leg(world, "haulier2"), leg(world, "haulier3")])
    body = ok(world.get(f"/v1/manifests/{manifest_no}", "haulier3"))
    assert [(g["leg"], g["vehicle_plate"], g["status"]) for g in body["legs"]] == [
        (1, PLATES["transporter"], "planned"), (2, PLATES["haulier2"], "planned"), (3, PLATES["haulier3"], "planned")]
    assert body["current_leg"] == 1
    assert ok(world.get(f"/v1/manifests/{manifest_no}", "haulier2"))["manifest_no"] == manifest_no
    listed = ok(world.get("/v1/manifests", "haulier3"))["items"]
    assert [m["manifest_no"] for m in listed] == [manifest_no]
    problem(world.get(f"/v1/manifests/{manifest_no}", "outsider"), 404)


def test_a_sixth_leg_is_refused_at_filing_and_when_added(world):
    extend(world)
    six = [leg(world, "haulier2"), leg(world, "haulier3")] * 2 + [leg(world, "haulier2")]
    before = ledger_entries(world)
    violation(world.post("/v1/manifests", world.manifest_body(legs=six), "generator"), "too_many_legs", "legs")
    assert ledger_entries(world) == before
    manifest_no = world.file(legs=[leg(world, "haulier2"), leg(world, "haulier3"), leg(world, "haulier2")])
    ok(world.post(f"/v1/manifests/{manifest_no}/legs", leg(world, "haulier3"), "generator"))
    assert len(ok(world.get(f"/v1/manifests/{manifest_no}", "generator"))["legs"]) == 5
    before = ledger_entries(world)
    violation(world.post(f"/v1/manifests/{manifest_no}/legs", leg(world, "haulier2"), "generator"),
              "too_many_legs", "transporter_id")
    assert ledger_entries(world) == before


def test_a_leg_is_added_by_the_generator_or_the_carrying_transporter_only(world):
    extend(world)
    manifest_no = dispatched(world, legs=[leg(world, "haulier2")])
    problem(world.post(f"/v1/manifests/{manifest_no}/legs", leg(world, "haulier3"), "outsider"), 404)
    problem(world.post(f"/v1/manifests/{manifest_no}/legs", leg(world, "haulier3"), "haulier3"), 404)
    problem(world.post(f"/v1/manifests/{manifest_no}/legs", leg(world, "haulier3"), "haulier2"), 403)
    problem(world.post(f"/v1/manifests/{manifest_no}/legs", leg(world, "haulier3"), "receiver"), 403)
    violation(world.post(f"/v1/manifests/{manifest_no}/legs",
                         {"transporter_id": world.ids["haulier3"], "vehicle_plate": PLATES["haulier2"]}, "generator"),
              "vehicle_not_transporters", "vehicle_plate")
    violation(world.post(f"/v1/manifests/{manifest_no}/legs",
                         {"transporter_id": world.ids["receiver"], "vehicle_plate": PLATES["haulier2"]}, "generator"),
              "not_a_transporter", "transporter_id")
    body = ok(world.post(f"/v1/manifests/{manifest_no}/legs", leg(world, "transporter"), "transporter"))
    assert [g["leg"] for g in body["legs"]] == [1, 2, 3]
    assert "manifest.leg_added" in kinds(world, manifest_no)


def test_the_handover_is_signed_by_the_next_legs_transporter(world):
    extend(world)
    dispatched_at = ago(hours=3)
    manifest_no = dispatched(world, at=iso(dispatched_at), legs=[leg(world, "haulier2"), leg(world, "haulier3")])
    handover = {"leg": 2, "at": iso(dispatched_at + timedelta(hours=1)), "site_id": world.ids["transfer"]}
    before = ledger_entries(world)
    problem(world.post(f"/v1/manifests/{manifest_no}/handover", handover, "haulier3"), 403)
    problem(world.post(f"/v1/manifests/{manifest_no}/handover", handover, "transporter"), 403)
    problem(world.post(f"/v1/manifests/{manifest_no}/handover", handover, "outsider"), 404)
    assert ledger_entries(world) == before
    body = ok(world.post(f"/v1/manifests/{manifest_no}/handover", handover, "haulier2"))
    assert body["current_leg"] == 2 and body["status"] == "dispatched"
    assert [(g["leg"], g["status"], g["handover_site_id"]) for g in body["legs"]] == [
        (1, "done", None), (2, "current", world.ids["transfer"]), (3, "planned", None)]
    assert body["legs"][1]["started_at"].startswith(handover["at"][:16])
    assert "manifest.handover" in kinds(world, manifest_no)
    # now haulier2 carries the load: it may add a leg, the first transporter no longer can
    problem(world.post(f"/v1/manifests/{manifest_no}/legs", leg(world, "haulier3"), "transporter"), 403)
    ok(world.post(f"/v1/manifests/{manifest_no}/legs", leg(world, "transporter"), "haulier2"))


def test_handover_rules(world):
    extend(world)
    filed = world.file(legs=[leg(world, "haulier2"), leg(world, "haulier3")])
    conflict_state(world.post(f"/v1/manifests/{filed}/handover", {"leg": 2}, "haulier2"), "filed")
    manifest_no = dispatched(world, at=iso(ago(hours=2)), legs=[leg(world, "haulier2"), leg(world, "haulier3")])
    url = f"/v1/manifests/{manifest_no}/handover"
    violation(world.post(url, {"leg": 3}, "haulier3"), "handover_out_of_order", "leg")
    violation(world.post(url, {"leg": 4}, "haulier3"), "unknown_leg", "leg")
    violation(world.post(url, {"leg": 2, "site_id": world.ids["plant"]}, "haulier2"), "not_a_transfer_site", "site_id")
    violation(world.post(url, {"leg": 2, "ticket_no": "T-1"}, "haulier2"), "ticket_without_site", "ticket_no")
    violation(world.post(url, {"leg": 2, "at": iso(ago(hours=3))}, "haulier2"), "at_before_previous", "at")
    violation(world.post(url, {"leg": 2, "at": iso(ago(hours=-1))}, "haulier2"), "at_in_future", "at")
    ok(world.post(url, {"leg": 2}, "haulier2"))
    ok(world.post(url, {"leg": 3}, "haulier3"))
    ok(world.post(f"/v1/manifests/{manifest_no}/receive", {"accepted_kg": 30000}, "receiver"))
    conflict_state(world.post(f"/v1/manifests/{manifest_no}/legs", leg(world, "haulier2"), "generator"), "reconciled")


def _transfer_ticket(engine, world, ticket_no: str, plate: str) -> None:
    at = ago(hours=1)
    with session_scope(engine) as session:
        session.add(WeighTicket(device_id="wb-transfer", seq=1, ts=at, site_id=world.ids["transfer"],
                                ticket_no=ticket_no, plate=plate, gross_kg=44000, tare_kg=14000, net_kg=30000,
                                gross_at=at, tare_at=at - timedelta(minutes=10), verified=True))


def test_the_handover_ticket_is_linked_and_checked_against_the_next_legs_vehicle(world, engine):
    extend(world)
    _transfer_ticket(engine, world, "TS-1", PLATES["haulier2"])
    good = dispatched(world, at=iso(ago(hours=2)), legs=[leg(world, "haulier2")])
    ok(world.post(f"/v1/manifests/{good}/handover",
                  {"leg": 2, "site_id": world.ids["transfer"], "ticket_no": "TS-1"}, "haulier2"))
    assert "ticket.linked" in kinds(world, good)
    assert ok(world.get("/v1/findings", "regulator", manifest_no=good))["items"] == []

    _transfer_ticket(engine, world, "TS-2", PLATES["haulier3"])
    swapped = dispatched(world, at=iso(ago(hours=2)), legs=[leg(world, "haulier2")])
    ok(world.post(f"/v1/manifests/{swapped}/handover",
                  {"leg": 2, "site_id": world.ids["transfer"], "ticket_no": "TS-2"}, "haulier2"))
    found = ok(world.get("/v1/findings", "haulier2", manifest_no=swapped))["items"]
    assert [(f["code"], f["plate"], f["evidence"]["ticket_plate"]) for f in found] == [
        ("PLATE_MISMATCH", PLATES["haulier2"], PLATES["haulier3"])]


def test_each_started_leg_has_its_own_span_for_its_trip_window(world, engine):
    """What per-leg detection builds each leg's trip window from (findings.md "a trip's telemetry")."""
    from sqlmodel import Session, select

    from wasteflow.manifests.legs import leg_spans
    from wasteflow.manifests.models import Manifest

    extend(world)
    dispatched_at = ago(hours=4)
    manifest_no = dispatched(world, at=iso(dispatched_at), legs=[leg(world, "haulier2"), leg(world, "haulier3")])
    handed_over = dispatched_at + timedelta(hours=1)
    ok(world.post(f"/v1/manifests/{manifest_no}/handover", {"leg": 2, "at": iso(handed_over)}, "haulier2"))
    with Session(engine) as session:
        manifest = session.exec(select(Manifest).where(Manifest.manifest_no == manifest_no)).one()
        spans = leg_spans(session, manifest)
    assert [(s.leg, s.plate, s.start, s.end) for s in spans] == [
        (1, PLATES["transporter"], dispatched_at, handed_over), (2, PLATES["haulier2"], handed_over, None)]
    received_at = handed_over + timedelta(hours=1)
    ok(world.post(f"/v1/manifests/{manifest_no}/receive", {"accepted_kg": 30000, "at": iso(received_at)}, "receiver"))
    with Session(engine) as session:
        manifest = session.exec(select(Manifest).where(Manifest.manifest_no == manifest_no)).one()
        assert [(s.leg, s.end) for s in leg_spans(session, manifest)] == [(1, handed_over), (2, received_at)]
