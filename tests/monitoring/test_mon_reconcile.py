"""Reconciliation at receipt (findings.md, "at reconciliation" codes; domain.md, "Reconciliation").

Weigh tickets go through the bridge's store (``TelemetryStore.write``) so they link to their
manifest exactly as published ones do; the receipt is signed through the API, whose hook
reconciles in the same transaction.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.utils.monitoring import CEMENT, Drive, along, base_time, distance_m, move

ABOVE_INFO = ("warning", "critical")


def trip(env, *, dep_net=30000, arr_net=30000, declared=30000, accepted=None, stop_at=None, gap_s=0,
         stop_short_of=None, fixes=True, departure_ticket=True, arrival_ticket=True, rounding=0):
    """File, dispatch, drive plant -> cement works, weigh, sign the receipt; returns (manifest_no, body)."""
    t0 = base_time()
    no = env.dispatch(t0, declared_kg=declared)
    if departure_ticket:
        env.ticket("wb-plant", f"P-{no[-6:]}", dep_net, t0 - timedelta(minutes=5), manifest_no=no)
    d = Drive(t0).fix()
    if stop_at is not None:
        d.go(along(stop_at)).stay(720)
    if gap_s:
        d.go(along(0.4)).wait(gap_s)
    if stop_short_of is not None:
        d.go(along(stop_short_of)).stay(60)
    else:
        d.go(CEMENT).stay(120)
    if fixes:
        env.fixes(d.take())
        env.run()
    if arrival_ticket:
        env.ticket("wb-cement", f"C-{no[-6:]}", arr_net + rounding, d.t, manifest_no=no)
    body = env.receive(no, accepted if accepted is not None else arr_net, d.t + timedelta(minutes=3))
    return no, body


def raised(body) -> dict[str, dict]:
    found = {f["code"]: f for f in body["findings"] if f["status"] != "withdrawn"}
    assert len(found) == len([f for f in body["findings"] if f["status"] != "withdrawn"]), body["findings"]
    return found


CASES = {
    "clean, weighbridge rounding": (dict(arr_net=29980, rounding=0), set()),
    "shortfall with a stop": (dict(arr_net=27000, stop_at=0.5), {"TONNAGE_SHORTFALL", "UNAUTHORIZED_STOP"}),
    "surplus": (dict(arr_net=31000), {"TONNAGE_SURPLUS"}),
    "declaration": (dict(declared=30000, dep_net=26000, arr_net=26000), {"DECLARATION_MISMATCH"}),
    "acceptance": (dict(arr_net=30000, accepted=29000), {"ACCEPTANCE_MISMATCH"}),
    "missing arrival ticket": (dict(arrival_ticket=False), {"MISSING_TICKET"}),
    "missing departure ticket": (dict(departure_ticket=False), {"MISSING_TICKET"}),
    "no track": (dict(fixes=False), {"NO_TRACK"}),
    "never arrived": (dict(stop_short_of=0.6), {"NEVER_ARRIVED"}),
    "gps gap": (dict(gap_s=900), {"GPS_GAP"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_receipt_reconciles(env, case):
    kwargs, expected = CASES[case]
    no, body = trip(env, **kwargs)
    assert body["status"] == "reconciled"
    found = raised(body)
    assert {c for c, f in found.items() if f["severity"] in ABOVE_INFO} == expected
    assert env.manifest(no)["findings"] == body["findings"]
    kinds = env.ledger_kinds(no)
    assert kinds.count("manifest.reconciled") == 1 and kinds.index("manifest.received") < kinds.index(
        "manifest.reconciled")
    assert env.world.get("/v1/ledger/verify", "regulator").json()["ok"] is True


def test_shortfall_lists_the_stop_as_candidate(env):
    no, body = trip(env, arr_net=27000, stop_at=0.5)
    shortfall = raised(body)["TONNAGE_SHORTFALL"]
    assert shortfall["severity"] == "critical"
    ev = shortfall["evidence"]
    assert ev["difference_kg"] == -3000 and ev["tolerance_kg"] == 600
    candidates = ev["candidates"]
    assert [c["kind"] for c in candidates] == ["unauthorized_stop"]
    assert distance_m((candidates[0]["lon"], candidates[0]["lat"]), along(0.5)) < 200
    assert distance_m(tuple(shortfall["location"]["coordinates"]), along(0.5)) < 200


def test_shortfall_lists_load_drop_as_candidate(env):
    t0 = base_time()
    no = env.dispatch(t0)
    env.ticket("wb-plant", "P-LD", 30000, t0 - timedelta(minutes=5), manifest_no=no)
    d = Drive(t0).fix().go(along(0.4))
    drop_at = d.t
    d.stay(120).go(CEMENT).stay(60)
    env.fixes(d.take())
    readings = [(t0 + timedelta(seconds=30 * k), 30000) for k in range(int((drop_at - t0).total_seconds() // 30))]
    readings += [(drop_at + timedelta(seconds=30 + 30 * k), 26000) for k in range(20)]
    env.loads(readings)
    env.ticket("wb-cement", "C-LD", 26000, d.t, manifest_no=no)
    body = env.receive(no, 26000, d.t + timedelta(minutes=2))
    found = raised(body)
    assert set(found) == {"LOAD_DROP", "TONNAGE_SHORTFALL"}
    candidates = found["TONNAGE_SHORTFALL"]["evidence"]["candidates"]
    assert candidates[0]["kind"] == "load_drop"
    assert distance_m((candidates[0]["lon"], candidates[0]["lat"]), along(0.4)) < 200


def test_tickets_link_through_the_store(env):
    no, body = trip(env)
    assert body["departure_ticket"]["ticket_no"] == f"P-{no[-6:]}"
    assert body["arrival_ticket"]["ticket_no"] == f"C-{no[-6:]}"
    assert "ticket.linked" in env.ledger_kinds(no)


def test_plate_mismatch_on_ticket_arrival(env):
    t0 = base_time()
    no = env.dispatch(t0)
    env.ticket("wb-cement", "C-PLATE", 30000, t0 + timedelta(minutes=30), manifest_no=no, plate="蒙B99999")
    [finding] = env.findings(no)
    assert (finding.code, finding.severity, finding.status) == ("PLATE_MISMATCH", "critical", "open")
    assert finding.evidence["ticket_plate"] == "蒙B99999" and finding.evidence["manifest_plate"] == "蒙B12345"
    # the same ticket again (a redelivery) raises nothing new
    env.ticket("wb-cement", "C-PLATE", 30000, t0 + timedelta(minutes=30), manifest_no=no, plate="蒙B99999")
    assert len(env.findings(no)) == 1


def test_duplicate_ticket_on_arrival(env):
    t0 = base_time()
    first = env.dispatch(t0)
    env.ticket("wb-plant", "P-0001", 30000, t0 - timedelta(minutes=5), manifest_no=first)
    assert env.findings(first) == []
    second = env.dispatch(t0 + timedelta(minutes=30))
    env.ticket("wb-plant", "P-0001", 30000, t0 + timedelta(minutes=25), manifest_no=second)
    [finding] = env.findings(second)
    assert (finding.code, finding.severity) == ("DUPLICATE_TICKET", "critical")
    assert finding.evidence["already_linked_to"] == first
    assert env.manifest(second)["departure_ticket"] is None


def test_capacity_exceeded_on_receipt(env):
    small = env.site("receiver", "Small works", "utilisation", move(CEMENT, east_m=3000),
                     permitted_codes=["SW02"], annual_capacity_kg=50_000)
    t0 = base_time()
    received = []
    for k in range(3):
        no = env.dispatch(t0 + timedelta(minutes=10 * k), receiver_site_id=small)
        received.append(env.receive(no, 30_000, t0 + timedelta(minutes=10 * k + 5)))
    capacity = env.findings(code="CAPACITY_EXCEEDED")
    assert len(capacity) == 1, "one finding per site and year, grown by later receipts"
    finding = capacity[0]
    assert finding.manifest_no is None and finding.site_id == small and finding.severity == "warning"
    assert finding.evidence["year_accepted_kg"] == 90_000 and finding.evidence["capacity_kg"] == 50_000
    assert all(f["code"] != "CAPACITY_EXCEEDED" for f in received[1]["findings"])  # not a manifest finding
    for who in ("receiver", "regulator"):
        items = env.world.get("/v1/findings", who, code="CAPACITY_EXCEEDED").json()["items"]
        assert [i["id"] for i in items] == [finding.id] and items[0]["manifest_no"] is None
    assert env.world.get("/v1/findings", "outsider", code="CAPACITY_EXCEEDED").json()["items"] == []


def test_capacity_not_exceeded_at_the_limit(env):
    small = env.site("receiver", "Small works", "utilisation", move(CEMENT, east_m=3000),
                     permitted_codes=["SW02"], annual_capacity_kg=60_000)
    t0 = base_time()
    for k in range(2):
        no = env.dispatch(t0 + timedelta(minutes=10 * k), receiver_site_id=small)
        env.receive(no, 30_000, t0 + timedelta(minutes=10 * k + 5))
    assert env.findings(code="CAPACITY_EXCEEDED") == []
