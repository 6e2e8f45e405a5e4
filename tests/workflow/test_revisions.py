"""Corrections as revisions through the API (domain.md), on both databases."""

from __future__ import annotations

from tests.utils.api import conflict_state, ledger_entries, problem, violation
from tests.utils.workflow import dispatched, extend, leg, ok, received
from tests.workflow.test_refusal_followups import arrival_ticket


def propose(world, manifest_no: str, changes: dict, who: str = "receiver"):
    return world.post(f"/v1/manifests/{manifest_no}/revisions", {"changes": changes, "reason": "weighbridge re-read"},
                      who)


def test_a_revision_approved_by_every_other_party_is_applied_as_a_new_version(world):
    extend(world)
    manifest_no = received(world, accepted_kg=29000, legs=[leg(world, "haulier2")])
    revision = ok(propose(world, manifest_no, {"accepted_kg": 29500}), 201)
    assert revision["status"] == "pending" and revision["previous"] == {"accepted_kg": 29000}
    assert sorted((a["enterprise_id"], a["decision"]) for a in revision["approvals"]) == sorted(
        [(world.ids["generator"], "pending"), (world.ids["transporter"], "pending"),
         (world.ids["haulier2"], "pending")])
    rid = revision["id"]
    ok(world.post(f"/v1/revisions/{rid}/approve", {"note": "agreed"}, "generator"))
    ok(world.post(f"/v1/revisions/{rid}/approve", {}, "transporter"))
    assert ok(world.get(f"/v1/manifests/{manifest_no}", "generator"))["accepted_kg"] == 29000  # not yet
    applied = ok(world.post(f"/v1/revisions/{rid}/approve", None, "haulier2"))
    assert applied["status"] == "applied" and applied["applied_version"] == 2
    manifest = ok(world.get(f"/v1/manifests/{manifest_no}", "generator"))
    assert (manifest["accepted_kg"], manifest["version"], manifest["status"]) == (29500, 2, "reconciled")
    versions = ok(world.get(f"/v1/manifests/{manifest_no}/versions", "regulator"))
    assert versions["version"] == 2
    assert [(v["version"], v["values"]["accepted_kg"], v["revision_id"]) for v in versions["items"]] == [
        (1, 29000, rid)]
    entries = [e["kind"] for e in ok(world.get(f"/v1/manifests/{manifest_no}/ledger", "regulator"))["entries"]]
    assert entries.count("revision.approved") == 3 and "revision.proposed" in entries
    assert entries.index("manifest.revised") < entries.index("manifest.re_reconciled")  # reconciliation re-ran


def test_one_refusal_closes_a_revision_and_nothing_changes(world):
    manifest_no = received(world, accepted_kg=29000)
    rid = ok(propose(world, manifest_no, {"declared_kg": 29000}, "generator"), 201)["id"]
    refused = ok(world.post(f"/v1/revisions/{rid}/refuse", {"note": "the ticket says 30 t"}, "receiver"))
    assert refused["status"] == "refused"
    conflict_state(world.post(f"/v1/revisions/{rid}/approve", {}, "transporter"), "refused")
    manifest = ok(world.get(f"/v1/manifests/{manifest_no}", "generator"))
    assert (manifest["declared_kg"], manifest["version"]) == (30000, 1)
    assert ok(world.get(f"/v1/manifests/{manifest_no}/versions", "generator"))["items"] == []


def test_who_may_propose_and_decide(world):
    manifest_no = received(world, accepted_kg=29000)
    problem(propose(world, manifest_no, {"accepted_kg": 1}, "outsider"), 404)
    problem(propose(world, manifest_no, {"accepted_kg": 1}, "regulator"), 403)
    rid = ok(propose(world, manifest_no, {"accepted_kg": 28000}), 201)["id"]
    before = ledger_entries(world)
    problem(world.post(f"/v1/revisions/{rid}/approve", {}, "outsider"), 404)
    problem(world.get(f"/v1/revisions/{rid}", "outsider"), 404)
    problem(world.post(f"/v1/revisions/{rid}/approve", {}, "receiver"), 403)  # the proposer does not approve
    problem(world.post(f"/v1/revisions/{rid}/approve", {}, "regulator"), 403)
    assert ledger_entries(world) == before
    ok(world.post(f"/v1/revisions/{rid}/approve", {}, "generator"))
    problem(world.post(f"/v1/revisions/{rid}/approve", {}, "generator"), 409)
    assert ok(world.get(f"/v1/revisions/{rid}", "regulator"))["status"] == "pending"
    assert [r["id"] for r in ok(world.get("/v1/revisions", "regulator", manifest_no=manifest_no))["items"]] == [rid]
    assert ok(world.get("/v1/revisions", "outsider"))["items"] == []
    problem(propose(world, manifest_no, {"waste_code": "SW03"}), 409)  # one pending revision at a time


def test_revision_rules(world, engine):
    extend(world)
    cancelled = world.file()
    ok(world.post(f"/v1/manifests/{cancelled}/cancel", {}, "generator"))
    conflict_state(propose(world, cancelled, {"declared_kg": 20000}, "generator"), "cancelled")
    on_road = dispatched(world)
    violation(propose(world, on_road, {"accepted_kg": 1}, "generator"), "not_received", "changes.accepted_kg")
    violation(propose(world, on_road, {}, "generator"), "no_changes", "changes")
    violation(propose(world, on_road, {"declared_kg": 30000}, "generator"), "no_change", "changes.declared_kg")
    violation(propose(world, on_road, {"declared_kg": 36000}, "generator"), "declared_kg_over_max_load",
              "changes.declared_kg")
    violation(propose(world, on_road, {"waste_code": "SW01"}, "generator"), "receiver_not_permitted",
              "changes.waste_code")
    violation(propose(world, on_road, {"receiver_site_id": world.ids["plant"]}, "generator"), "not_a_receiver",
              "changes.receiver_site_id")
    done = received(world, accepted_kg=30000)
    violation(propose(world, done, {"receiver_site_id": world.ids["landfill"]}, "generator"),
              "receiver_after_arrival", "changes.receiver_site_id")


def test_a_new_receiver_before_arrival_must_approve_too(world):
    extend(world)
    manifest_no = dispatched(world)
    revision = ok(propose(world, manifest_no, {"receiver_site_id": world.ids["landfill"]}, "generator"), 201)
    assert {a["enterprise_id"] for a in revision["approvals"]} == {
        world.ids["transporter"], world.ids["receiver"], world.ids["receiver2"]}
    for who in ("transporter", "receiver", "receiver2"):
        ok(world.post(f"/v1/revisions/{revision['id']}/approve", {}, who))
    manifest = ok(world.get(f"/v1/manifests/{manifest_no}", "receiver2"))
    assert (manifest["receiver_site_id"], manifest["receiver_id"]) == (world.ids["landfill"], world.ids["receiver2"])
    problem(world.get(f"/v1/manifests/{manifest_no}", "receiver"), 404)  # no longer a party
    assert ok(world.get(f"/v1/manifests/{manifest_no}/versions", "receiver2"))["items"][0]["values"][
        "receiver_site_id"] == world.ids["cement"]


def test_a_revision_of_the_refused_kg_reconciles_again(world, engine):
    manifest_no = dispatched(world)
    arrival_ticket(engine, world, manifest_no, 30000)
    ok(world.post(f"/v1/manifests/{manifest_no}/receive",
                  {"accepted_kg": 26000, "refused_kg": 2000, "refusal_reason": "rubble"}, "receiver"))
    mismatch = lambda: [f["status"] for f in ok(world.get("/v1/findings", "regulator", manifest_no=manifest_no))[  # noqa: E731
        "items"] if f["code"] == "ACCEPTANCE_MISMATCH"]
    assert mismatch() == ["open"]
    rid = ok(propose(world, manifest_no, {"refused_kg": 4000}), 201)["id"]
    ok(world.post(f"/v1/revisions/{rid}/approve", {}, "generator"))
    ok(world.post(f"/v1/revisions/{rid}/approve", {}, "transporter"))
    assert mismatch() == ["withdrawn"]
