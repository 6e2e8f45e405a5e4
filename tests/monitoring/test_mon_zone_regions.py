"""A zone feeds detection only for manifests of its region (issue 12 item 9): a regulator of
another region cannot raise critical findings on this one's trips by drawing a zone over them."""

from __future__ import annotations

from tests.utils.monitoring import MID, Drive, base_time, move
from tests.utils.regions import add_region_b
from tests.utils.world import square


def _restricted(env, who: str) -> None:
    body = {"name": "Water source", "kind": "restricted", "geofence": square(*move(MID, north_m=-2000), 500)}
    r = env.world.post("/v1/zones", body, who)
    assert r.status_code == 201, r.text


def _drive_through_the_zone(env) -> str:
    t0 = base_time()
    no = env.dispatch(t0)
    centre = move(MID, north_m=-2000)
    env.fixes(Drive(t0).fix().go(MID).go(centre).go(move(centre, north_m=-1000)).take())
    env.run()
    return no


def test_another_regions_zone_raises_nothing_here(env):
    add_region_b(env.world)
    _restricted(env, "regulator_b")
    no = _drive_through_the_zone(env)
    assert env.findings(no, "RESTRICTED_ZONE_ENTRY") == []


def test_this_regions_zone_still_raises(env):
    add_region_b(env.world)
    _restricted(env, "regulator")
    no = _drive_through_the_zone(env)
    assert [f.severity for f in env.findings(no, "RESTRICTED_ZONE_ENTRY")] == ["critical"]
