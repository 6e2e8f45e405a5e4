"""Partial refusal and follow-up manifests through the API (domain.md), on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from tests.utils.api import ago, ledger_entries, problem, violation
from tests.utils.workflow import dispatched, extend, follow_up_body, ok, received
from wasteflow.database import session_scope
from wasteflow.manifests.models import Manifest
from wasteflow.tickets.models import WeighTicket


def arrival_ticket(engine, world, manifest_no: str, net_kg: int) -> None:
    at = ago(minutes=30)
    with session_scope(engine) as session:
        session.add(WeighTicket(device_id="wb-cement", seq=next_seq(), ts=at, site_id=world.ids["cement"],
                                ticket_no=f"A-{manifest_no}", plate="蒙B12345", gross_kg=15000 + net_kg, tare_kg=15000,
                                net_kg=net_kg, gross_at=at, tare_at=at + timedelta(minutes=5),
                                manifest_no=manifest_no, direction="arrival", verified=True))


_seq = iter(range(1, 10_000))


def next_seq() -> int:
    return next(_seq)


def codes(world, manifest_no: str) -> list[str]:
    return sorted(f["code"] for f in ok(world.get("/v1/findings", "regulator", manifest_no=manifest_no))["items"]
                  if f["status"] != "withdrawn")


def test_a_partial_refusal_is_signed_with_its_reason_and_kept(world):
    manifest_no = received(world, accepted_kg=26000, refused_kg=4000)
    body = ok(world.get(f"/v1/manifests/{manifest_no}", "generator"))
    assert (body["accepted_kg"], body["refused_kg"], body["refusal_reason"]) == (26000, 4000,
                                                                                 "wet and mixed with rubble")
    entries = ok(world.get(f"/v1/manifests/{manifest_no}/ledger", "regulator"))["entries"]
    receipt = next(e for e in entries if e["kind"] == "manifest.received")
    assert receipt["body"]["refused_kg"] == 4000 and receipt["body"]["accepted_kg"] == 26000


def test_a_refusal_needs_its_reason_and_a_failed_receipt_changes_nothing(world):
    manifest_no = dispatched(world)
    before = ledger_entries(world)
    violation(world.post(f"/v1/manifests/{manifest_no}/receive", {"accepted_kg": 26000, "refused_kg": 4000},
                         "receiver"), "refusal_reason_required", "refusal_reason")
    violation(world.post(f"/v1/manifests/{manifest_no}/receive",
                         {"accepted_kg": 26000, "refusal_reason": "why"}, "receiver"),
              "refusal_without_refused_kg", "refused_kg")
    assert ok(world.get(f"/v1/manifests/{manifest_no}", "receiver"))["status"] == "dispatched"
    assert ledger_entries(world) == before


def test_acceptance_mismatch_weighs_accepted_plus_refused_against_the_arrival_net(world, engine):
    matching = dispatched(world)
    arrival_ticket(engine, world, matching, 30000)
    ok(world.post(f"/v1/manifests/{matching}/receive",
                  {"accepted_kg": 26000, "refused_kg": 4000, "refusal_reason": "rubble"}, "receiver"))
    assert "ACCEPTANCE_MISMATCH" not in codes(world, matching)

    short = dispatched(world)
    arrival_ticket(engine, world, short, 30000)
    ok(world.post(f"/v1/manifests/{short}/receive",
                  {"accepted_kg": 26000, "refused_kg": 2000, "refusal_reason": "rubble"}, "receiver"))
    assert "ACCEPTANCE_MISMATCH" in codes(world, short)
    finding = next(f for f in ok(world.get("/v1/findings", "regulator", manifest_no=short))["items"]
                   if f["code"] == "ACCEPTANCE_MISMATCH")
    assert finding["evidence"]["refused_kg"] == 2000 and finding["evidence"]["difference_kg"] == -2000


def test_a_return_goes_back_to_the_generator_who_signs_its_receipt(world):
    extend(world)
    parent = received(world, accepted_kg=26000, refused_kg=4000)
    response = world.post("/v1/manifests", follow_up_body(world, parent, "return", 3000), "receiver")
    follow_up = ok(response, 201)["manifest_no"]
    body = ok(world.get(f"/v1/manifests/{follow_up}", "generator"))
    assert (body["kind"], body["parent_manifest_no"], body["receiver_id"], body["generator_id"]) == (
        "return", parent, world.ids["generator"], world.ids["receiver"])
    listed = ok(world.get(f"/v1/manifests/{parent}", "receiver"))["follow_ups"]
    assert [(f["manifest_no"], f["kind"], f["declared_kg"]) for f in listed] == [(follow_up, "return", 3000)]
    ok(world.post(f"/v1/manifests/{follow_up}/dispatch", {}, "receiver"))
    problem(world.post(f"/v1/manifests/{follow_up}/receive", {"accepted_kg": 3000}, "receiver"), 403)
    assert ok(world.post(f"/v1/manifests/{follow_up}/receive", {"accepted_kg": 3000}, "generator"))["status"] in (
        "received", "reconciled")


def test_follow_ups_together_may_not_exceed_what_was_refused(world):
    extend(world)
    parent = received(world, accepted_kg=26000, refused_kg=4000)
    ok(world.post("/v1/manifests", follow_up_body(world, parent, "return", 3000), "receiver"), 201)
    before = ledger_entries(world)
    violation(world.post("/v1/manifests", follow_up_body(world, parent, "redirect", 1500), "receiver"),
              "follow_up_over_refused", "declared_kg")
    assert ledger_entries(world) == before
    redirect = ok(world.post("/v1/manifests", follow_up_body(world, parent, "redirect", 1000), "receiver"), 201)
    ok(world.post(f"/v1/manifests/{redirect['manifest_no']}/cancel", {}, "receiver"))  # a cancelled one frees its kg
    ok(world.post("/v1/manifests", follow_up_body(world, parent, "redirect", 1000), "receiver"), 201)


def test_follow_up_rules(world):
    extend(world)
    parent = received(world, accepted_kg=26000, refused_kg=4000)
    whole = received(world, accepted_kg=30000)
    post = lambda body, who="receiver": world.post("/v1/manifests", body, who)  # noqa: E731
    violation(post(follow_up_body(world, whole, "return", 1000)), "parent_not_refused", "parent_manifest_no")
    violation(post(follow_up_body(world, parent, "return", 1000, receiver_site_id=world.ids["landfill"])),
              "return_not_to_generator", "receiver_site_id")
    violation(post(follow_up_body(world, parent, "redirect", 1000, receiver_site_id=world.ids["cement"])),
              "redirect_to_same_receiver", "receiver_site_id")
    violation(post(follow_up_body(world, parent, "redirect", 1000, generator_site_id=world.ids["landfill"])),
              "follow_up_not_from_receiving_site", "generator_site_id")
    violation(post(follow_up_body(world, parent, "redirect", 1000, waste_code="SW03")),
              "follow_up_waste_code", "waste_code")
    violation(post({**follow_up_body(world, parent, "redirect", 1000), "kind": None}), "follow_up_incomplete", "kind")
    problem(post(follow_up_body(world, parent, "return", 1000), "generator"), 403)
    violation(post(follow_up_body(world, parent, "return", 1000), "outsider"), "unknown_parent_manifest",
              "parent_manifest_no")
    problem(post(follow_up_body(world, parent, "return", 1000), "regulator"), 403)


def test_a_rejected_load_leaves_whole_on_follow_ups(world, engine):
    extend(world)
    parent = dispatched(world)
    ok(world.post(f"/v1/manifests/{parent}/reject", {"reason": "not fly ash"}, "receiver"))
    violation(world.post("/v1/manifests", follow_up_body(world, parent, "redirect", 30001), "receiver"),
              "follow_up_over_refused", "declared_kg")
    ok(world.post("/v1/manifests", follow_up_body(world, parent, "redirect", 30000), "receiver"), 201)
    with session_scope(engine) as session:
        rows = session.exec(select(Manifest).where(Manifest.parent_manifest_no == parent)).all()
        assert [(m.kind, m.declared_kg, m.generator_site_id) for m in rows] == [
            ("redirect", 30000, world.ids["cement"])]
