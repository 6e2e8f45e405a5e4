"""API keys listed and revoked; device secrets rotated with a grace period, devices disabled;
device secrets sealed at rest (api.md, operations.md; issue 12 item 7). On both databases."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from mqtt_bridge.devices import DeviceDirectory
from mqtt_bridge.parsing import Accepted, Rejected, parse_message
from mqtt_bridge.signing import signed_payload
from tests.utils.api import problem
from tests.utils.brokers import gps_fix
from tests.utils.world import auth, build_world
from wasteflow.api.app import create_app
from wasteflow.broker.service import registry_accounts
from wasteflow.config import Settings
from wasteflow.database import get_engine
from wasteflow.sealing import is_sealed

GPS = "gps-0001"


def keys_listed(world, who: str) -> list[dict]:
    response = world.get("/v1/keys", who, limit=500)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"]


def key_id(world, who: str) -> int:
    """The id of ``who``'s enterprise key, as the administrator lists it."""
    enterprise_id = world.ids[who]
    return next(k["id"] for k in keys_listed(world, "admin") if k["enterprise_id"] == enterprise_id)


def parse_now(directory: DeviceDirectory, device_id: str, secret: str):
    fix = gps_fix(1, datetime.now(UTC).isoformat())
    return parse_message(f"wf/v1/dev/{device_id}/gps", signed_payload(device_id, secret, fix),
                         directory.lookup, datetime.now(UTC))


# --- keys -------------------------------------------------------------------------------------


def test_each_caller_lists_only_the_keys_it_may_see_and_never_their_values(world):
    everyone = keys_listed(world, "admin")
    assert {k["owner_kind"] for k in everyone} == {"admin", "regulator", "enterprise"}
    assert len(everyone) == 6
    mine = keys_listed(world, "generator")
    assert [(k["owner_kind"], k["enterprise_id"]) for k in mine] == [("enterprise", world.ids["generator"])]
    regulator = keys_listed(world, "regulator")
    assert {k["enterprise_id"] for k in regulator if k["owner_kind"] == "enterprise"} == {
        world.ids[n] for n in ("generator", "transporter", "receiver", "outsider")}
    assert [k["regulator_id"] for k in regulator if k["owner_kind"] == "regulator"] == [world.regulator_id]
    assert "admin" not in {k["owner_kind"] for k in regulator}
    listed = world.get("/v1/keys", "admin", limit=500).text
    for value in [world.admin, world.regulator, *world.keys.values()]:
        assert value not in listed
        assert any(value.startswith(k["prefix"]) for k in everyone)


def test_a_regulator_of_another_region_sees_none_of_this_regions_enterprise_keys(world):
    other_id = world.post("/v1/regulators", {"name": "Ordos", "regions": ["1506"]}, "admin").json()["id"]
    other = world.post(f"/v1/regulators/{other_id}/keys", {}, "admin").json()["key"]
    listed = world.client.get("/v1/keys", headers=auth(other)).json()["items"]
    assert [(k["owner_kind"], k["regulator_id"]) for k in listed] == [("regulator", other_id)]
    target = key_id(world, "generator")
    problem(world.client.post(f"/v1/keys/{target}/revoke", headers=auth(other)), 404)
    assert world.get("/v1/keys", "generator").status_code == 200


def test_a_revoked_key_is_refused_at_once_with_a_clear_problem(world):
    target = key_id(world, "generator")
    assert world.get("/v1/manifests", "generator").status_code == 200
    revoked = world.post(f"/v1/keys/{target}/revoke", {}, "regulator")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None and "key" not in revoked.json()
    body = problem(world.get("/v1/manifests", "generator"), 401)
    assert body["rule"] == "key_revoked" and "revoked" in body["detail"]
    assert world.get("/v1/manifests", "transporter").status_code == 200
    again = world.post(f"/v1/keys/{target}/revoke", {}, "admin")
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]
    listed = {k["id"]: k for k in keys_listed(world, "admin")}
    assert listed[target]["revoked_at"] == revoked.json()["revoked_at"]


def test_an_enterprise_revokes_its_own_key_but_not_anothers(world):
    other = key_id(world, "transporter")
    problem(world.post(f"/v1/keys/{other}/revoke", {}, "generator"), 404)
    assert world.get("/v1/manifests", "transporter").status_code == 200
    problem(world.post("/v1/keys/999999/revoke", {}, "admin"), 404)
    own = key_id(world, "generator")
    assert world.post(f"/v1/keys/{own}/revoke", {}, "generator").status_code == 200
    problem(world.get("/v1/keys", "generator"), 401)


def test_an_unknown_key_and_a_revoked_key_say_different_things(world):
    unknown = problem(world.client.get("/v1/keys", headers=auth("wf_not-a-key")), 401)
    assert "revoked" not in unknown["detail"]


# --- device secrets: rotation -------------------------------------------------------------------


def test_rotation_answers_a_new_secret_once_and_the_owner_or_regulator_alone_may_rotate(world):
    for who in ("generator", "outsider", "receiver"):
        problem(world.post(f"/v1/devices/{GPS}/secret", {}, who), 404)
    rotated = world.post(f"/v1/devices/{GPS}/secret", {}, "transporter")
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert re.fullmatch(r"[0-9a-f]{64}", body["secret"]) and body["secret"] != world.secrets[GPS]
    until = datetime.fromisoformat(body["previous_secret_until"])
    assert abs(until - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)
    by_regulator = world.post(f"/v1/devices/{GPS}/secret", {}, "regulator")
    assert by_regulator.status_code == 200 and by_regulator.json()["secret"] != body["secret"]
    listed = world.get("/v1/devices", "admin")
    assert body["secret"] not in listed.text and by_regulator.json()["secret"] not in listed.text
    problem(world.post("/v1/devices/no-such-device/secret", {}, "admin"), 404)


def test_the_old_secret_verifies_within_grace_and_is_refused_after(db_url):
    settings = Settings(database_url=db_url, device_secret_grace_s=2.0)
    engine = get_engine(db_url)
    with TestClient(create_app(settings)) as client:
        world = build_world(client, engine)
        old = world.secrets[GPS]
        new = world.post(f"/v1/devices/{GPS}/secret", {}, "transporter").json()["secret"]
        within = DeviceDirectory(engine)
        assert isinstance(parse_now(within, GPS, old), Accepted)
        assert isinstance(parse_now(within, GPS, new), Accepted)
        time.sleep(2.2)
        after = DeviceDirectory(engine)
        refused = parse_now(after, GPS, old)
        assert isinstance(refused, Rejected) and refused.reason == "bad_signature"
        assert isinstance(parse_now(after, GPS, new), Accepted)
        assert isinstance(parse_now(within, GPS, new), Accepted)
        assert parse_now(within, GPS, old).reason == "bad_signature"  # its cache ended with the grace period


def test_a_second_rotation_ends_the_first_ones_grace(world, engine):
    first = world.secrets[GPS]
    second = world.post(f"/v1/devices/{GPS}/secret", {}, "transporter").json()["secret"]
    third = world.post(f"/v1/devices/{GPS}/secret", {}, "transporter").json()["secret"]
    directory = DeviceDirectory(engine)
    assert parse_now(directory, GPS, first).reason == "bad_signature"
    assert isinstance(parse_now(directory, GPS, second), Accepted)
    assert isinstance(parse_now(directory, GPS, third), Accepted)


def test_the_broker_password_is_the_new_secret_at_once(world, engine):
    new = world.post(f"/v1/devices/{GPS}/secret", {}, "transporter").json()["secret"]
    accounts = {a.username: a.password for a in registry_accounts(engine)}
    assert accounts[GPS] == new


# --- device disabling ---------------------------------------------------------------------------


def test_a_disabled_device_is_quarantined_and_loses_its_broker_account_until_enabled(world, engine):
    problem(world.post(f"/v1/devices/{GPS}/disable", {}, "generator"), 404)
    disabled = world.post(f"/v1/devices/{GPS}/disable", {}, "transporter")
    assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
    again = world.post(f"/v1/devices/{GPS}/disable", {}, "regulator")
    assert again.json()["disabled_at"] == disabled.json()["disabled_at"]
    refused = parse_now(DeviceDirectory(engine), GPS, world.secrets[GPS])
    assert isinstance(refused, Rejected) and refused.reason == "device_disabled"
    usernames = {a.username for a in registry_accounts(engine)}
    assert GPS not in usernames and "load-0001" in usernames
    listed = {d["id"]: d for d in world.get("/v1/devices", "transporter").json()["items"]}
    assert listed[GPS]["disabled_at"] == disabled.json()["disabled_at"]

    enabled = world.post(f"/v1/devices/{GPS}/enable", {}, "transporter")
    assert enabled.status_code == 200 and enabled.json()["disabled_at"] is None
    assert isinstance(parse_now(DeviceDirectory(engine), GPS, world.secrets[GPS]), Accepted)
    assert GPS in {a.username for a in registry_accounts(engine)}


def test_an_owntracks_phone_is_disabled_by_its_id_with_a_slash(world, engine):
    phone = "owntracks:alice/phone"
    created = world.post("/v1/devices", {"id": phone, "kind": "gps", "vehicle_plate": "蒙B12345",
                                         "require_signature": False}, "transporter")
    assert created.status_code == 201, created.text
    assert world.post(f"/v1/devices/{phone}/disable", {}, "transporter").json()["disabled_at"] is not None
    assert "ot.alice.phone" not in {a.username for a in registry_accounts(engine)}


# --- sealed at rest -----------------------------------------------------------------------------


def test_the_database_holds_no_plaintext_secret(world, engine):
    rotated = world.post(f"/v1/devices/{GPS}/secret", {}, "transporter").json()["secret"]
    plain = [*world.secrets.values(), rotated]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM device")).mappings().all()
    assert len(rows) == 4
    for row in rows:
        assert is_sealed(row["sealed_secret"])
        stored = " ".join(str(value) for value in row.values())
        assert not any(secret in stored for secret in plain), row["id"]
    gps = next(r for r in rows if r["id"] == GPS)
    assert is_sealed(gps["previous_sealed_secret"]) and gps["previous_sealed_secret"] != gps["sealed_secret"]


def test_a_sealed_secret_copied_to_another_device_does_not_open(world, engine):
    with engine.begin() as conn:
        sealed = conn.execute(text("SELECT sealed_secret FROM device WHERE id = 'gps-0001'")).scalar_one()
        conn.execute(text("UPDATE device SET sealed_secret = :s WHERE id = 'load-0001'"), {"s": sealed})
    with pytest.raises(Exception, match="does not open"):
        DeviceDirectory(engine).lookup("load-0001")
