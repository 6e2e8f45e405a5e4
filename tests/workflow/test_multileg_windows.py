"""Per-leg trip windows and REDISPATCHED_BEFORE_RECEIPT for multi-leg transport (findings.md, "a
trip's telemetry": each leg's window from its own start to the next handover or the receipt; "the
vehicle of its current leg is dispatched (or takes over by handover) ... a vehicle whose leg ended at
a handover is free")."""

from __future__ import annotations

from datetime import timedelta

from tests.utils.monitoring import CEMENT, Drive, base_time, gps_records, make_env
from tests.utils.workflow import PLATES, TRANSFER, extend, leg, ok

CODE = "REDISPATCHED_BEFORE_RECEIPT"
FIRST_TRUCK, SECOND_TRUCK = "gps-0001", "gps-h2"


def iso(t) -> str:
    return t.isoformat().replace("+00:00", "Z")


def setup(world, engine, settings):
    extend(world)
    ok(world.post("/v1/devices", {"id": SECOND_TRUCK, "kind": "gps", "vehicle_plate": PLATES["haulier2"]},
                  "haulier2"), 201)
    return make_env(world, engine, settings)


def handover(world, manifest_no, leg_no, at, who):
    ok(world.post(f"/v1/manifests/{manifest_no}/handover", {"leg": leg_no, "at": at.isoformat()}, who))


def test_each_leg_reads_its_own_vehicle_from_its_own_start(world, engine, settings):
    env = setup(world, engine, settings)
    t0 = base_time(hours_ago=8)
    no = env.dispatch(t0, legs=[leg(world, "haulier2")])
    first = Drive(t0, every=60.0).fix().go(TRANSFER, kmh=40).stay(600).take()
    env.write("gps", FIRST_TRUCK, gps_records(first))
    handed_over = first[-1][0] + timedelta(seconds=30)
    handover(world, no, 2, handed_over, "haulier2")
    # the first truck, free after the handover, drives off on other business
    free = Drive(handed_over + timedelta(minutes=1), pos=TRANSFER, every=60.0).fix().go(CEMENT, kmh=40).take()
    env.write("gps", FIRST_TRUCK, gps_records(free))
    # the second truck waited at the transfer station before the handover, then carried the load
    lead_in = Drive(handed_over - timedelta(minutes=20), pos=TRANSFER, every=60.0).fix().stay(1140).take()
    carried = Drive(handed_over + timedelta(seconds=30), pos=TRANSFER, every=60.0).fix().go(CEMENT, kmh=40).take()
    env.write("gps", SECOND_TRUCK, gps_records(lead_in, device_id=SECOND_TRUCK))
    env.write("gps", SECOND_TRUCK, gps_records(carried, device_id=SECOND_TRUCK))

    r = world.get(f"/v1/manifests/{no}/track", "generator")
    assert r.status_code == 200, r.text
    fixes = [(f["properties"]["device_id"], f["properties"]["ts"]) for f in r.json()["features"]
             if f["properties"]["kind"] == "fix"]
    # read as one track, the load's: the first truck until the handover, the second from it
    expected = [(FIRST_TRUCK, iso(t)) for t, _, _ in first]
    expected += [(SECOND_TRUCK, iso(t)) for t, _, _ in lead_in + carried if t >= handed_over]
    assert sorted(fixes, key=lambda f: f[1]) == sorted(expected, key=lambda f: f[1])
    assert not any(device == FIRST_TRUCK and ts > iso(handed_over) for device, ts in fixes)


def test_a_takeover_by_handover_is_a_redispatch_and_a_handed_over_truck_is_free(world, engine, settings):
    env = setup(world, engine, settings)
    t0 = base_time(hours_ago=8)
    # haulier2's truck is on its own manifest (leg 1), still under way ...
    own = world.file(transporter_id=world.ids["haulier2"], vehicle_plate=PLATES["haulier2"],
                     at=(t0 - timedelta(minutes=30)).isoformat())
    ok(world.post(f"/v1/manifests/{own}/dispatch", {"at": t0.isoformat()}, "generator"))
    # ... when it takes over leg 2 of another manifest
    other = env.dispatch(t0 + timedelta(minutes=10), legs=[leg(world, "haulier2")])
    taken_over = t0 + timedelta(hours=1)
    handover(world, other, 2, taken_over, "haulier2")
    [found] = env.findings(own, CODE)
    assert found.status == "open"
    assert found.evidence["next_manifest_no"] == other and found.evidence["next_dispatched_at"] == iso(taken_over)

    # the first truck handed `other` over: it is free, its next dispatch raises nothing on `other`
    later = env.dispatch(taken_over + timedelta(minutes=30))
    assert env.findings(other, CODE) == []
    assert env.findings(later, CODE) == []
