"""The manifest's lifecycle through the API: filing, signatures, their times, states, listing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from tests.utils.api import (
    ago,
    all_manifests,
    conflict_state,
    invalid,
    ledger_entries,
    now,
    parse,
    problem,
    violation,
)

NUMBER = re.compile(r"^WF-(\d{6})-(\d{8})-(\d{6})$")


def local_day(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")


def test_register_file_dispatch_receive(world):
    filed = world.post("/v1/manifests", world.manifest_body(
        planned_departure="2026-11-23T08:00:00+08:00", planned_arrival="2026-11-23T10:00:00+08:00",
        route={"type": "LineString", "coordinates": [[109.80, 40.60], [109.90, 40.62], [109.95, 40.65]]},
        corridor_m=800, at=ago(hours=3).isoformat()), "generator")
    assert filed.status_code == 201, filed.text
    assert set(filed.json()) == {"manifest_no", "status"}
    assert filed.json()["status"] == "filed"
    no = filed.json()["manifest_no"]
    region, day, _seq = NUMBER.match(no).groups()
    assert region == "150202" and day == local_day(ago(hours=3))

    manifest = world.get(f"/v1/manifests/{no}", "generator").json()
    assert manifest["status"] == "filed"
    assert manifest["waste_code"] == "SW02" and manifest["declared_kg"] == 30000
    assert manifest["vehicle_plate"] == "蒙B12345"
    assert manifest["corridor_m"] == 800
    assert manifest["route"]["type"] == "LineString"
    assert parse(manifest["planned_departure"]) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert manifest["departure_ticket"] is None and manifest["arrival_ticket"] is None
    assert isinstance(manifest["trip"], dict) and manifest["findings"] == []
    assert manifest["accepted_kg"] is None and manifest["dispatched_at"] is None

    dispatched_at = ago(hours=2).replace(microsecond=0)
    response = world.post(f"/v1/manifests/{no}/dispatch",
                          {"departure_ticket_no": "T-OUT-1", "at": dispatched_at.isoformat()}, "generator")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "dispatched" and body["manifest_no"] == no
    assert parse(body["dispatched_at"]) == dispatched_at
    assert body["departure_ticket_no"] == "T-OUT-1"
    assert body["departure_ticket"] is None  # no such ticket has arrived (yet)

    received_at = ago(minutes=30).astimezone(timezone(timedelta(hours=8))).replace(microsecond=0)
    response = world.post(f"/v1/manifests/{no}/receive",
                          {"accepted_kg": 29800, "arrival_ticket_no": "T-IN-1", "at": received_at.isoformat()},
                          "receiver")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] in ("received", "reconciled")  # reconciliation may run at once
    assert body["accepted_kg"] == 29800 and body["arrival_ticket_no"] == "T-IN-1"
    assert parse(body["received_at"]) == received_at
    assert parse(body["dispatched_at"]) == dispatched_at

    again = world.get(f"/v1/manifests/{no}", "transporter").json()
    assert again["status"] in ("received", "reconciled") and again["accepted_kg"] == 29800
    assert parse(again["received_at"]) == received_at


def test_reject_and_cancel(world):
    rejected, cancelled = world.file(), world.file()
    assert world.post(f"/v1/manifests/{rejected}/dispatch", {}, "generator").status_code == 200
    response = world.post(f"/v1/manifests/{rejected}/reject", {"reason": "wet, not fly ash"}, "receiver")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "rejected" and body["reject_reason"] == "wet, not fly ash"
    assert body["rejected_at"] is not None and body["accepted_kg"] is None
    assert abs((parse(body["rejected_at"]) - now()).total_seconds()) < 60  # default: now

    response = world.post(f"/v1/manifests/{cancelled}/cancel", {"reason": "plant shut down"}, "generator")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled" and response.json()["cancelled_at"] is not None
    # cancel needs no body at all
    third = world.file()
    response = world.client.post(f"/v1/manifests/{third}/cancel",
                                 headers={"Authorization": f"Bearer {world.keys['generator']}"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    # a rejection needs its reason
    fourth = world.file()
    world.post(f"/v1/manifests/{fourth}/dispatch", {}, "generator")
    invalid(world.post(f"/v1/manifests/{fourth}/reject", {}, "receiver"), "reason")
    invalid(world.post(f"/v1/manifests/{fourth}/reject", {"reason": ""}, "receiver"), "reason")


def test_receive_needs_accepted_kg_in_range(world):
    no = world.file()
    world.post(f"/v1/manifests/{no}/dispatch", {}, "generator")
    invalid(world.post(f"/v1/manifests/{no}/receive", {}, "receiver"), "accepted_kg")
    invalid(world.post(f"/v1/manifests/{no}/receive", {"accepted_kg": -1}, "receiver"), "accepted_kg")
    invalid(world.post(f"/v1/manifests/{no}/receive", {"accepted_kg": 29800, "colour": "grey"}, "receiver"),
            "colour")
    assert world.get(f"/v1/manifests/{no}", "receiver").json()["status"] == "dispatched"


def test_numbers_unique_and_increasing(world):
    numbers = [world.file() for _ in range(5)]
    assert len(set(numbers)) == 5
    parsed = [NUMBER.match(n).groups() for n in numbers]
    assert all(region == "150202" for region, _, _ in parsed)
    sequences = [int(seq) for _, _, seq in parsed]
    assert sequences == sorted(sequences) and sequences == list(range(sequences[0], sequences[0] + 5))
    assert numbers == sorted(numbers)
    # filed with an earlier event time: that day's number
    yesterday = ago(days=1)
    response = world.post("/v1/manifests", world.manifest_body(at=yesterday.isoformat()), "generator")
    assert response.status_code == 201, response.text
    region, day, seq = NUMBER.match(response.json()["manifest_no"]).groups()
    assert day == local_day(yesterday) and seq == "000001"
    filed = world.get(f"/v1/manifests/{response.json()['manifest_no']}", "generator").json()
    assert abs((parse(filed["filed_at"]) - yesterday).total_seconds()) < 1


def test_numbers_keep_their_shape_for_any_filing_day(world):
    body = world.manifest_body(at="0999-03-04T00:00:00-08:00")
    violation(world.post("/v1/manifests", body, "generator"), "at_too_old", "at")
    world.client.app.state.settings.filing_max_age_h = 1e8  # a deployment that allows any backdating
    response = world.post("/v1/manifests", body, "generator")
    assert response.status_code == 201, response.text
    assert NUMBER.match(response.json()["manifest_no"]), response.json()
    assert response.json()["manifest_no"].startswith("WF-150202-09990304-")


def test_listing_with_times_out_of_range_is_not_a_500(world):
    world.file()
    for value in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:00:00-08:00"):
        response = world.get("/v1/manifests", "generator", **{"from": value})
        assert response.status_code in (200, 422), response.text
    response = world.get("/v1/manifests", "regulator", party=10**25)
    assert response.status_code in (200, 422), response.text
    huge_cursor = "bToxMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw"  # "m:" and a 25-digit id
    assert world.get("/v1/manifests", "generator", cursor=huge_cursor).status_code in (200, 422)


def test_signature_times(world):
    no = world.file()
    filed_at = parse(world.get(f"/v1/manifests/{no}", "generator").json()["filed_at"])
    entries = ledger_entries(world)

    future = (now() + timedelta(hours=1)).isoformat()
    violation(world.post(f"/v1/manifests/{no}/dispatch", {"at": future}, "generator"), "at_in_future", "at")
    before_filing = (filed_at - timedelta(minutes=5)).isoformat()
    violation(world.post(f"/v1/manifests/{no}/dispatch", {"at": before_filing}, "generator"),
              "at_before_previous", "at")
    invalid(world.post(f"/v1/manifests/{no}/dispatch", {"at": "2026-11-23T08:00:00"}, "generator"), "at")
    invalid(world.post(f"/v1/manifests/{no}/dispatch", {"at": "yesterday"}, "generator"), "at")
    # nothing of that was stored
    assert world.get(f"/v1/manifests/{no}", "generator").json()["status"] == "filed"
    assert ledger_entries(world) == entries

    dispatched_at = filed_at + timedelta(milliseconds=1)
    ok = world.post(f"/v1/manifests/{no}/dispatch", {"at": dispatched_at.isoformat()}, "generator")
    assert ok.status_code == 200, ok.text
    assert parse(ok.json()["dispatched_at"]) == dispatched_at
    body = violation(world.post(f"/v1/manifests/{no}/receive",
                                {"accepted_kg": 1, "at": (dispatched_at - timedelta(seconds=1)).isoformat()},
                                "receiver"), "at_before_previous", "at")
    assert "previous" in body["detail"]
    violation(world.post(f"/v1/manifests/{no}/reject", {"reason": "x", "at": future}, "receiver"),
              "at_in_future", "at")
    # the same instant as the previous signature is fine
    same = world.post(f"/v1/manifests/{no}/receive", {"accepted_kg": 30000, "at": dispatched_at.isoformat()},
                      "receiver")
    assert same.status_code == 200, same.text
    assert parse(same.json()["received_at"]) == dispatched_at


def test_filing_at_in_future_is_refused(world):
    entries = ledger_entries(world)
    violation(world.post("/v1/manifests", world.manifest_body(at=(now() + timedelta(days=1)).isoformat()),
                         "generator"), "at_in_future", "at")
    assert all_manifests(world) == [] and ledger_entries(world) == entries


def test_forbidden_transitions_are_409_with_current_state(world):
    no = world.file()
    conflict_state(world.post(f"/v1/manifests/{no}/receive", {"accepted_kg": 100}, "receiver"), "filed")
    conflict_state(world.post(f"/v1/manifests/{no}/reject", {"reason": "no"}, "receiver"), "filed")
    assert world.post(f"/v1/manifests/{no}/dispatch", {}, "generator").status_code == 200
    conflict_state(world.post(f"/v1/manifests/{no}/dispatch", {}, "generator"), "dispatched")
    conflict_state(world.post(f"/v1/manifests/{no}/cancel", {}, "generator"), "dispatched")
    assert world.post(f"/v1/manifests/{no}/receive", {"accepted_kg": 29000}, "receiver").status_code == 200
    received = world.get(f"/v1/manifests/{no}", "receiver").json()["status"]
    assert received in ("received", "reconciled")
    body = conflict_state(world.post(f"/v1/manifests/{no}/reject", {"reason": "late"}, "receiver"), received)
    assert body["title"] == "Not allowed in the current state"
    conflict_state(world.post(f"/v1/manifests/{no}/receive", {"accepted_kg": 1}, "receiver"), received)
    conflict_state(world.post(f"/v1/manifests/{no}/cancel", {}, "generator"), received)

    cancelled = world.file()
    world.post(f"/v1/manifests/{cancelled}/cancel", {}, "generator")
    conflict_state(world.post(f"/v1/manifests/{cancelled}/dispatch", {}, "generator"), "cancelled")
    conflict_state(world.post(f"/v1/manifests/{cancelled}/cancel", {}, "generator"), "cancelled")

    rejected = world.file()
    world.post(f"/v1/manifests/{rejected}/dispatch", {}, "generator")
    world.post(f"/v1/manifests/{rejected}/reject", {"reason": "wrong waste"}, "receiver")
    conflict_state(world.post(f"/v1/manifests/{rejected}/receive", {"accepted_kg": 1}, "receiver"), "rejected")
    assert world.get(f"/v1/manifests/{rejected}", "admin").json()["accepted_kg"] is None


def test_unknown_manifest_is_404(world):
    problem(world.get("/v1/manifests/WF-150202-20260101-000001", "generator"), 404, slug="not-found")
    problem(world.post("/v1/manifests/WF-150202-20260101-000001/dispatch", {}, "generator"), 404)


def test_listing_filters_and_pagination(world):
    second_vehicle = world.post("/v1/vehicles", {"transporter_id": world.ids["transporter"], "plate": "蒙B54321",
                                                 "tare_kg": 14000, "max_load_kg": 30000}, "transporter")
    assert second_vehicle.status_code == 201, second_vehicle.text
    early = ago(hours=60)  # filings may be backdated at most 72 h (filing_max_age_h)
    old = world.post("/v1/manifests", world.manifest_body(at=early.isoformat(), waste_code="SW03"), "generator")
    assert old.status_code == 201, old.text
    old_no = old.json()["manifest_no"]
    numbers = [world.file() for _ in range(5)]
    other_plate = world.file(vehicle_plate="蒙B54321", waste_code="SW07")
    world.post(f"/v1/manifests/{numbers[0]}/dispatch", {}, "generator")
    world.post(f"/v1/manifests/{numbers[1]}/cancel", {}, "generator")
    every = [old_no, *numbers, other_plate]

    # pages of 3, newest first, no duplicates, no gaps
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = world.get("/v1/manifests", "generator", **params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 3
        seen += [m["manifest_no"] for m in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert seen == list(reversed(every))

    def listed(**params) -> set[str]:
        return {m["manifest_no"] for m in all_manifests(world, "regulator", **params)}

    assert listed(status="dispatched") == {numbers[0]}
    assert listed(status="cancelled") == {numbers[1]}
    assert listed(status="filed") == {old_no, *numbers[2:], other_plate}
    assert listed(waste_code="SW03") == {old_no}
    assert listed(waste_code="SW07") == {other_plate}
    assert listed(plate="蒙B54321") == {other_plate}
    assert listed(plate="蒙B12345") == {old_no, *numbers}
    assert listed(**{"from": ago(days=1).isoformat()}) == set(every) - {old_no}
    assert listed(**{"to": ago(days=1).isoformat()}) == {old_no}
    assert listed(**{"from": ago(days=4).isoformat(), "to": ago(days=2).isoformat()}) == {old_no}
    assert listed(party=world.ids["receiver"]) == set(every)
    assert listed(party=world.ids["outsider"]) == set()
    assert listed(status="filed", waste_code="SW02") == set(numbers[2:])

    items = world.get("/v1/manifests", "generator", status="dispatched").json()["items"]
    assert items[0]["manifest_no"] == numbers[0] and items[0]["status"] == "dispatched"
    assert {"manifest_no", "status", "waste_code", "declared_kg", "vehicle_plate"} <= set(items[0])


def test_listing_rejects_bad_parameters(world):
    world.file()
    violation(world.get("/v1/manifests", "generator", cursor="not-a-cursor!"), "bad_cursor", "cursor")
    violation(world.get("/v1/manifests", "generator", cursor="eDox"), "bad_cursor", "cursor")  # "x:1"
    invalid(world.get("/v1/manifests", "generator", status="lost"), "status")
    invalid(world.get("/v1/manifests", "generator", limit=0), "limit")
    invalid(world.get("/v1/manifests", "generator", **{"from": "2026-11-23T08:00:00"}), "from")
