"""Trip windows through the store, the API and live detection: a manifest left open never claims the
vehicle's later trips, and no party sees a vehicle's readings outside its own manifests' windows
(issue 13; issue 12 item 1). REDISPATCHED_BEFORE_RECEIPT says why such a trip was cut short."""

from __future__ import annotations

from datetime import timedelta

from tests.utils.api import violation
from tests.utils.monitoring import CEMENT, MID, Drive, along, base_time, window
from tests.utils.world import OTHER_PLANT
from wasteflow.config import Settings

CODE = "REDISPATCHED_BEFORE_RECEIPT"


def dispatch_for_outsider(env, t0):
    """A manifest of another generator (the outsider's yard) for the same truck."""
    body = env.world.manifest_body(generator_site_id=env.world.ids["outsider_plant"],
                                   at=(t0 - timedelta(minutes=20)).isoformat())
    r = env.world.post("/v1/manifests", body, "outsider")
    assert r.status_code == 201, r.text
    no = r.json()["manifest_no"]
    r = env.world.post(f"/v1/manifests/{no}/dispatch", {"at": t0.isoformat()}, "outsider")
    assert r.status_code == 200, r.text
    return no


def track_times(env, no, who):
    r = env.world.get(f"/v1/manifests/{no}/track", who)
    assert r.status_code == 200, r.text
    return sorted(f["properties"]["ts"] for f in r.json()["features"] if f["properties"]["kind"] == "fix")


def iso(t):
    return t.isoformat().replace("+00:00", "Z")


def test_an_open_manifest_does_not_claim_the_vehicles_next_trip(env):
    t0 = base_time(hours_ago=10)
    first = env.dispatch(t0)
    own = Drive(t0).fix().go(along(0.5)).stay(60).take()
    env.fixes(own)
    env.run()
    t1 = t0 + timedelta(hours=4)  # the receiver never signs; the truck takes another load
    second = dispatch_for_outsider(env, t1)
    later = Drive(t1 + timedelta(seconds=10), pos=OTHER_PLANT).fix().go(MID).stay(900).go(CEMENT).stay(60).take()
    env.fixes(later)
    raised = env.run()

    # detection: the stop on the later trip is the later manifest's, never the open one's
    assert (second, "UNAUTHORIZED_STOP") in {(f.manifest_no, f.code) for f in raised}
    assert env.findings(first, "UNAUTHORIZED_STOP") == []
    # the track and the trip summary: the earlier manifest's party sees its own fixes, none of the next trip's
    assert track_times(env, first, "generator") == [iso(t) for t, _, _ in own]
    trip = env.manifest(first, "generator")["trip"]
    assert trip["fixes"] == len(own) and trip["last_fix_at"].replace("+00:00", "Z") == iso(own[-1][0])
    assert env.world.get(f"/v1/manifests/{second}", "generator").status_code == 404
    # the later manifest's party sees its own trip
    assert track_times(env, second, "outsider") == [iso(t) for t, _, _ in later]
    # exports: the earlier manifest's track ends where its trip does
    r = env.world.get("/v1/exports/tracks.geojson", "regulator")
    assert r.status_code == 200, r.text
    tracks = {f["properties"]["manifest_no"]: f["properties"] for f in r.json()["features"]
              if f["properties"]["kind"] == "track"}
    assert tracks[first]["fixes"] == len(own) and tracks[second]["fixes"] == len(later)


def test_a_trip_is_capped_at_48_hours(env):
    t0 = base_time(hours_ago=60)
    no = env.dispatch(t0)
    env.fixes(Drive(t0).fix().go(along(0.2)).take())
    env.fixes(Drive(t0 + timedelta(hours=50), pos=along(0.3)).fix().stay(60).take())
    env.run()
    times = track_times(env, no, "generator")
    assert times and times[-1] <= iso(t0 + timedelta(hours=48))


def test_redispatch_raises_on_the_earlier_manifest_and_a_receipt_in_time_withdraws_it(env):
    t0 = base_time(hours_ago=10)
    first = env.dispatch(t0)
    t1 = t0 + timedelta(hours=3)
    second = env.dispatch(t1)
    [finding] = env.findings(first, CODE)
    assert (finding.status, finding.severity, finding.verified) == ("open", "warning", True)
    assert finding.evidence["next_manifest_no"] == second and finding.evidence["next_dispatched_at"] == iso(t1)
    assert window(finding) == (t0, t1)
    assert env.findings(second, CODE) == []
    assert "finding.raised" in env.ledger_kinds(first)

    env.receive(first, 30000, t1 - timedelta(minutes=10))  # delivered before the truck left again
    [finding] = env.findings(first, CODE)
    assert finding.status == "withdrawn"
    assert "before the vehicle's next dispatch" in env.history(finding.id)[-1].note


def test_a_receipt_signed_after_the_next_dispatch_leaves_it_open(env):
    t0 = base_time(hours_ago=10)
    first = env.dispatch(t0)
    t1 = t0 + timedelta(hours=3)
    env.dispatch(t1)
    env.receive(first, 30000, t1 + timedelta(minutes=10))
    assert [f.status for f in env.findings(first, CODE)] == ["open"]


def test_a_rejection_in_time_withdraws_it(env):
    t0 = base_time(hours_ago=10)
    first = env.dispatch(t0)
    t1 = t0 + timedelta(hours=3)
    env.dispatch(t1)
    r = env.world.post(f"/v1/manifests/{first}/reject",
                       {"reason": "wrong waste", "at": (t1 - timedelta(minutes=5)).isoformat()}, "receiver")
    assert r.status_code == 200, r.text
    assert [f.status for f in env.findings(first, CODE)] == ["withdrawn"]


def test_no_redispatch_finding_for_a_trip_already_answered_or_not_yet_dispatched(env):
    t0 = base_time(hours_ago=10)
    received = env.dispatch(t0)
    env.receive(received, 30000, t0 + timedelta(hours=1))
    filed = env.world.file(at=(t0 + timedelta(hours=1, minutes=30)).isoformat())
    later = env.dispatch(t0 + timedelta(hours=2))
    assert env.findings(received, CODE) == [] and env.findings(filed, CODE) == [] and env.findings(later, CODE) == []


def test_a_backdated_filing_is_refused_naming_rule_and_field(env):
    """Filing weeks back would claim the truck's whole history (issue 12 item 1): 72 h at most."""
    before = env.world.get("/v1/manifests", "regulator").json()["items"]
    weeks_back = (base_time(hours_ago=24 * 21)).isoformat()
    r = env.world.post("/v1/manifests", env.world.manifest_body(at=weeks_back), "generator")
    assert "72 h" in violation(r, "at_too_old", "at")["detail"]
    assert env.world.get("/v1/manifests", "regulator").json()["items"] == before
    # within the bound it is fine
    assert env.world.file(at=base_time(hours_ago=71).isoformat())


def test_the_bound_is_a_setting(monkeypatch):
    assert Settings().filing_max_age_h == 72.0
    monkeypatch.setenv("WASTEFLOW_FILING_MAX_AGE_H", "2")
    assert Settings().filing_max_age_h == 2.0


def test_a_dispatched_manifest_does_not_show_the_vehicles_earlier_history(env):
    """The truck drove for someone else before: a new manifest's track starts 30 min before its dispatch."""
    earlier = Drive(base_time(hours_ago=30), pos=OTHER_PLANT).fix().go(MID).stay(300).take()
    env.fixes(earlier)
    t0 = base_time(hours_ago=5)
    no = env.dispatch(t0)
    just_before = Drive(t0 - timedelta(minutes=10)).fix().stay(60).take()
    own = Drive(t0 + timedelta(seconds=5)).fix().go(along(0.3)).take()
    env.fixes(just_before + own)
    seen = track_times(env, no, "generator")
    assert seen == [iso(t) for t, _, _ in just_before + own]
    assert not set(seen) & {iso(t) for t, _, _ in earlier}
    assert track_times(env, no, "regulator") == seen
