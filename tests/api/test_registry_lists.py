"""Registry lists (api.md): cursor-paginated, ``limit`` ≤ 500 (default 100), each caller seeing only its own."""

from __future__ import annotations

import pytest

from tests.utils.api import violation
from tests.utils.world import credit_code, square

LISTS = ("/v1/enterprises", "/v1/sites", "/v1/vehicles", "/v1/devices", "/v1/zones")


def every_item(world, path: str, who: str, limit: int) -> list[dict]:
    items, cursor = [], None
    for _ in range(100):
        page = world.get(path, who, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        body = page.json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= limit
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


@pytest.mark.parametrize("path", LISTS)
def test_pages_follow_the_cursor_in_registration_order(world, path):
    for n in range(3):
        body = {"name": f"Rest area {n}", "kind": "rest_area", "geofence": square(109.0 + n * 0.01, 41.0)}
        assert world.post("/v1/zones", body, "regulator").status_code == 201
    whole = world.get(path, "admin").json()
    assert whole["next_cursor"] is None and whole["items"]
    paged = every_item(world, path, "admin", limit=1)
    assert paged == whole["items"]
    keys = [item["id"] for item in paged]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_default_page_is_100_and_limit_is_held_to_500(world):
    for n in range(101):
        body = {"name": f"Zone {n}", "kind": "rest_area", "geofence": square(109.0 + n * 0.01, 41.0)}
        assert world.post("/v1/zones", body, "regulator").status_code == 201
    first = world.get("/v1/zones", "transporter").json()
    assert len(first["items"]) == 100 and first["next_cursor"] is not None
    rest = world.get("/v1/zones", "transporter", cursor=first["next_cursor"]).json()
    assert rest["items"] and rest["next_cursor"] is None
    assert {z["id"] for z in first["items"]}.isdisjoint({z["id"] for z in rest["items"]})
    everything = world.get("/v1/zones", "transporter", limit=100_000).json()
    assert len(everything["items"]) == len(first["items"]) + len(rest["items"])


@pytest.mark.parametrize("path", LISTS)
def test_a_cursor_of_another_list_or_garbage_is_refused(world, path):
    other = "/v1/manifests" if path != "/v1/enterprises" else "/v1/sites"
    world.file(), world.file()
    cursor = world.get(other, "admin", limit=1).json()["next_cursor"]
    assert cursor is not None
    violation(world.get(path, "admin", cursor=cursor), "bad_cursor", "cursor")
    violation(world.get(path, "admin", cursor="not a cursor"), "bad_cursor", "cursor")
    assert world.get(path, "admin", limit=0).status_code == 422


def test_each_caller_lists_only_its_own(world):
    def ids(path: str, who: str) -> set:
        return {item["id"] for item in every_item(world, path, who, limit=2)}

    assert ids("/v1/enterprises", "transporter") == {world.ids["transporter"]}
    assert ids("/v1/vehicles", "transporter") == {world.ids["vehicle"]}
    assert ids("/v1/vehicles", "generator") == set()
    assert ids("/v1/sites", "receiver") == {world.ids["cement"]}
    assert ids("/v1/devices", "transporter") == {"gps-0001", "load-0001"}
    assert ids("/v1/devices", "receiver") == {"wb-cement"}
    assert ids("/v1/devices", "outsider") == set()
    assert ids("/v1/devices", "regulator") >= {"gps-0001", "load-0001", "wb-plant", "wb-cement"}
    far = world.post("/v1/regulators", {"name": "Guangdong", "regions": ["44"]}, "admin").json()["id"]
    world.keys["far"] = world.post(f"/v1/regulators/{far}/keys", {}, "admin").json()["key"]
    outside = world.post("/v1/enterprises", {"name": "Shenzhen co", "credit_code": credit_code("440300"),
                                             "roles": ["transporter"], "region_code": "440300"}, "far")
    assert outside.status_code == 201, outside.text
    assert ids("/v1/enterprises", "far") == {outside.json()["id"]}
    assert outside.json()["id"] not in ids("/v1/enterprises", "regulator")
    assert ids("/v1/devices", "far") == set()


def test_device_list_never_shows_a_secret(world):
    listed = world.get("/v1/devices", "transporter")
    assert listed.status_code == 200, listed.text
    for device in listed.json()["items"]:
        assert set(device) == {"id", "kind", "vehicle_id", "site_id", "require_signature",
                               "protocol", "terminal_id", "load_item",  # a JT/T 808 terminal's (null otherwise)
                               "disabled_at", "previous_secret_until"}
    for secret in world.secrets.values():
        assert secret not in listed.text
