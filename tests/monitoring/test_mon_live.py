"""Live detection through the store and the LiveDetector (findings.md, the "live" codes).

Telemetry is written the way the bridge writes it (``TelemetryStore.write``), the detector is
notified with the batch's event-time spans, and ``run_once`` does what the detector's thread
does every 0.5 s. Each code: raised once the evidence is complete, published on
``wf/v1/alerts/{severity}/{code}``, and grown (same id, longer window, one row, no second
alert) by more readings of the same episode.
"""

from __future__ import annotations

from datetime import timedelta

from tests.utils.monitoring import CEMENT, MID, PLANT, Drive, along, base_time, distance_m, move, window


def _only(env, no, code):
    rows = env.findings(no, code)
    assert len(rows) == 1, [(f.code, f.episode_key) for f in env.findings(no)]
    return rows[0]


def assert_raised(env, no, code, severity, near=None, within_m=200.0):
    raised = env.run()
    assert code in [f.code for f in raised], [f.code for f in env.findings(no)]
    finding = _only(env, no, code)
    assert finding.severity == severity and finding.status == "open" and finding.verified
    alerts = env.alerts(code)
    assert [topic for topic, _ in alerts] == [f"wf/v1/alerts/{severity}/{code}"]
    assert alerts[0][1]["id"] == finding.id and alerts[0][1]["manifest_no"] == no
    if near is not None:
        lon, lat = finding.location["coordinates"]
        assert distance_m((lon, lat), near) <= within_m, (lon, lat, near)
    return finding


def assert_grew(env, no, before):
    env.run()
    after = _only(env, no, before.code)
    assert after.id == before.id
    start0, end0 = window(before)
    start1, end1 = window(after)
    assert start1 == start0 and end1 > end0, (window(before), window(after))
    assert len(env.alerts(before.code)) == 1, "a grown episode is not announced again"
    return after


def test_phase_follows_positions(env):
    t0 = base_time()
    no = env.dispatch(t0)
    d = Drive(t0).fix().stay(60)  # still loading inside the plant
    env.fixes(d.take())
    assert env.run() == [] and env.status(no) == "dispatched"

    d.go(along(0.5))
    left = d.points[0][0]
    env.fixes(d.take())
    env.run()
    m = env.manifest(no)
    assert m["status"] == "in_transit"
    assert m["in_transit_at"].replace("Z", "+00:00") == left.isoformat()

    d.go(CEMENT)
    inside = next(t for t, lon, lat in d.points if distance_m((lon, lat), CEMENT) < 140)
    env.fixes(d.take())
    env.run()
    m = env.manifest(no)
    assert m["status"] == "arrived"
    entered = m["arrived_at"].replace("Z", "+00:00")
    assert abs((inside - d.t.__class__.fromisoformat(entered)).total_seconds()) <= 10
    assert env.findings(no) == [] and env.published == []
    kinds = env.ledger_kinds(no)
    assert kinds.index("manifest.in_transit") < kinds.index("manifest.arrived")


def test_clean_trip_with_route_raises_nothing(env):
    t0 = base_time()
    no = env.dispatch(t0, route={"type": "LineString", "coordinates": [list(PLANT), list(CEMENT)]})
    d = Drive(t0).fix().go(along(0.5)).stay(300).go(CEMENT).stay(120)
    env.fixes(d.take())
    env.loads([(t0 + timedelta(seconds=60 * k), 30000) for k in range(25)])
    assert env.run() == []
    assert env.findings(no) == [] and env.status(no) == "arrived"


def test_unauthorized_stop_raised_and_grown(env):
    t0 = base_time()
    no = env.dispatch(t0)
    d = Drive(t0).fix().go(along(0.5)).stay(660)
    env.fixes(d.take())
    first = assert_raised(env, no, "UNAUTHORIZED_STOP", "warning", near=along(0.5))
    assert first.evidence["duration_s"] >= 600
    env.fixes(d.stay(300).take())
    grown = assert_grew(env, no, first)
    assert grown.evidence["duration_s"] >= 900
    env.fixes(d.go(CEMENT).take())
    env.run()
    assert len(env.findings(no, "UNAUTHORIZED_STOP")) == 1


def test_route_deviation_raised_and_grown(env):
    t0 = base_time()
    no = env.dispatch(t0, route={"type": "LineString", "coordinates": [list(PLANT), list(CEMENT)]}, corridor_m=500)
    off = [move(along(f), north_m=1500) for f in (0.35, 0.45, 0.55)]
    d = Drive(t0).fix().go(along(0.3)).go(off[0]).go(off[1], kmh=30)
    env.fixes(d.take())
    first = assert_raised(env, no, "ROUTE_DEVIATION", "warning")
    assert first.evidence["max_distance_m"] > 1000
    env.fixes(d.go(off[2], kmh=30).take())
    grown = assert_grew(env, no, first)
    assert grown.evidence["fix_count"] > first.evidence["fix_count"]
    env.fixes(d.go(along(0.6)).go(CEMENT).take())
    env.run()
    assert len(env.findings(no, "ROUTE_DEVIATION")) == 1


def test_load_drop_raised_at_the_drop_and_grown(env):
    t0 = base_time()
    no = env.dispatch(t0)
    d = Drive(t0).fix().go(along(0.4))
    at_drop = d.t
    d.stay(180)
    env.fixes(d.take())
    readings = [(t0 + timedelta(seconds=30 * k), 30000) for k in range(int((at_drop - t0).total_seconds() // 30))]
    readings += [(at_drop + timedelta(seconds=30), 27000), (at_drop + timedelta(seconds=60), 24000)]
    env.loads(readings)
    first = assert_raised(env, no, "LOAD_DROP", "critical", near=along(0.4))
    assert first.evidence["reference_kg"] == 30000
    env.loads([(at_drop + timedelta(seconds=90), 21000), (at_drop + timedelta(seconds=120), 21000)])
    env.fixes(d.stay(60).take())
    grown = assert_grew(env, no, first)
    assert grown.evidence["drop_kg"] == 9000


def test_diversion_raised_and_grown(env):
    detour = move(MID, north_m=2000)
    env.site("outsider", "Unlicensed pit", "landfill", detour)
    t0 = base_time()
    no = env.dispatch(t0)
    d = Drive(t0).fix().go(MID).go(detour).stay(330)
    env.fixes(d.take())
    first = assert_raised(env, no, "DIVERSION", "critical", near=detour)
    assert first.evidence["place_name"] == "Unlicensed pit"
    env.fixes(d.stay(180).take())
    assert_grew(env, no, first)


def test_restricted_zone_entry_raised_and_grown(env):
    zone_centre = move(MID, north_m=-2000)
    env.zone("Water source", "restricted", zone_centre, 500)
    t0 = base_time()
    no = env.dispatch(t0)
    d = Drive(t0).fix().go(MID).go(move(zone_centre, north_m=400))  # just inside the zone's edge
    env.fixes(d.take())
    first = assert_raised(env, no, "RESTRICTED_ZONE_ENTRY", "critical", near=move(zone_centre, north_m=450),
                          within_m=300)
    env.fixes(d.go(zone_centre).go(move(zone_centre, north_m=-1000)).take())
    assert_grew(env, no, first)


def test_impossible_jump_raised_and_grown(env):
    t0 = base_time()
    no = env.dispatch(t0)
    d = Drive(t0).fix().go(along(0.3)).jump(move(along(0.3), east_m=40_000))
    env.fixes(d.take())
    first = assert_raised(env, no, "IMPOSSIBLE_JUMP", "warning")
    assert len(first.evidence["steps"]) == 1 and first.evidence["steps"][0]["distance_m"] > 39_000
    env.fixes(d.jump(along(0.31)).take())
    grown = assert_grew(env, no, first)
    assert len(grown.evidence["steps"]) == 2


def test_repeated_batches_do_not_duplicate(env):
    """The bridge may store a batch twice (QoS 1): nothing is raised twice."""
    t0 = base_time()
    no = env.dispatch(t0)
    points = Drive(t0).fix().go(along(0.5)).stay(700).take()
    env.fixes(points)
    env.run()
    env.detector.notify({"gps-0001": (points[0][0], points[-1][0])})
    assert env.run() == []
    assert len(env.findings(no)) == 1 and len(env.published) == 1
