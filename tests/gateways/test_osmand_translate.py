"""OsmAnd requests into canonical gps payloads (devices.md, "OsmAnd HTTP"): the three request
shapes, units, seq, what is refused with which reason, and a fuzz that nothing raises."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqtt_bridge.gateways.osmand.translate import REASONS, Request, Translated, Unreadable, translate
from mqtt_bridge.parsing import Accepted, DeviceInfo, parse_message

NOW = datetime(2026, 11, 23, 0, 5, 0, tzinfo=UTC)
EPOCH = int(NOW.timestamp()) - 60          # a minute before NOW
KNOWN = {"osmand:123456", "osmand:phone.7"}


def known(device_id: str) -> bool:
    return device_id in KNOWN


def query(**fields) -> Request:
    return Request("GET", "", urlencode(fields), b"")


def form(query_fields: dict | None = None, **fields) -> Request:
    return Request("POST", "application/x-www-form-urlencoded", urlencode(query_fields or {}),
                   urlencode(fields).encode())


def traccar_json(location: dict | list | None = None, **root) -> Request:
    body = {"device_id": "123456", "location": location if location is not None else traccar_location(), **root}
    return Request("POST", "application/json", "", json.dumps(body).encode())


def traccar_location(**coords) -> dict:
    return {"timestamp": "2026-11-23T00:04:00.250Z", "is_moving": True, "odometer": 1200,
            "coords": {"latitude": 40.6571, "longitude": 109.8403, "accuracy": 8.5, "speed": 12.5,
                       "heading": 271.3, "altitude": 1050, **coords},
            "battery": {"level": 0.82, "is_charging": False}, "activity": {"type": "in_vehicle"}}


def one_fix(request: Request) -> tuple[str, dict]:
    outcome = translate(request, known, NOW)
    assert isinstance(outcome, Translated), outcome
    assert len(outcome.messages) == 1
    topic, payload = outcome.messages[0]
    return topic, json.loads(payload)


def refused(request: Request, reason: str) -> Unreadable:
    outcome = translate(request, known, NOW)
    assert isinstance(outcome, Unreadable), outcome
    assert outcome.reason == reason, outcome
    assert outcome.detail
    return outcome


# --- the three shapes ---------------------------------------------------------------------------------


def test_query_string_with_every_field_and_units():
    topic, fix = one_fix(query(id="123456", lat="40.6571", lon="109.8403", timestamp=str(EPOCH), speed="10",
                               bearing="271", altitude="1050.5", accuracy="12", batt="77", hdop="0.9", charge="true"))
    assert topic == "wf/v1/dev/osmand:123456/gps"
    assert fix == {"seq": EPOCH, "ts": "2026-11-23T00:04:00Z", "lat": 40.6571, "lon": 109.8403,
                   "speed_kmh": 18.52, "heading": 271.0, "hdop": 0.9, "via": "osmand",
                   "attrs": {"altitude_m": 1050.5, "accuracy_m": 12.0, "battery_pct": 77.0, "charging": True}}


def test_form_post_deviceid_location_and_milliseconds():
    _, fix = one_fix(form(deviceid="phone.7", location="40.5,109.5", timestamp=str(EPOCH * 1000 + 250),
                          heading="90"))
    assert fix["seq"] == EPOCH, "milliseconds (over 10^11) are read as such; seq is whole seconds"
    assert fix["ts"] == "2026-11-23T00:04:00.250Z"
    assert (fix["lat"], fix["lon"], fix["heading"]) == (40.5, 109.5, 90.0)
    assert "speed_kmh" not in fix and "attrs" not in fix


def test_form_fields_join_the_query_string():
    _, fix = one_fix(form({"id": "123456"}, lat="40.1", lon="109.1", timestamp=str(EPOCH)))
    assert (fix["lat"], fix["lon"]) == (40.1, 109.1)


def test_traccar_client_json_units_and_battery():
    topic, fix = one_fix(traccar_json())
    assert topic == "wf/v1/dev/osmand:123456/gps"
    assert fix["seq"] == EPOCH and fix["ts"] == "2026-11-23T00:04:00.250Z"
    assert fix["speed_kmh"] == 45.0, "m/s x 3.6"
    assert fix["heading"] == 271.3
    assert fix["attrs"] == {"altitude_m": 1050.0, "accuracy_m": 8.5, "battery_pct": 82.0, "charging": False,
                            "moving": True}


def test_json_without_content_type_and_with_a_numeric_id_and_unknown_speed():
    body = {"device_id": 123456, "location": traccar_location(speed=-1, heading=-1)}
    _, fix = one_fix(Request("POST", "", "", json.dumps(body).encode()))
    assert "speed_kmh" not in fix and "heading" not in fix, "-1 is the location library's 'unknown'"


def test_json_location_list_gives_one_message_per_fix():
    later = traccar_location()
    later["timestamp"] = "2026-11-23T00:04:30Z"
    outcome = translate(traccar_json([traccar_location(), later]), known, NOW)
    assert isinstance(outcome, Translated)
    assert [json.loads(p)["seq"] for _, p in outcome.messages] == [EPOCH, EPOCH + 30]


@pytest.mark.parametrize("stamp, seq, ts", [
    ("2026-11-23T08:04:00+08:00", EPOCH, "2026-11-23T00:04:00Z"),
    ("2026-11-23 00:04:00", EPOCH, "2026-11-23T00:04:00Z"),          # no offset: UTC, as Traccar reads it
    ("2026-11-23T00:04:00.5Z", EPOCH, "2026-11-23T00:04:00.500Z"),
    (str(EPOCH) + ".75", EPOCH, "2026-11-23T00:04:00.750Z"),
])
def test_timestamps(stamp, seq, ts):
    _, fix = one_fix(query(id="123456", lat="40", lon="109", timestamp=stamp))
    assert (fix["seq"], fix["ts"]) == (seq, ts)


def test_no_timestamp_is_the_time_of_arrival():
    _, fix = one_fix(query(id="123456", lat="40", lon="109"))
    assert fix["seq"] == int(NOW.timestamp())


def test_the_same_fix_sent_again_is_the_same_message():
    request = query(id="123456", lat="40", lon="109", timestamp=str(EPOCH), speed="3")
    first, again = translate(request, known, NOW), translate(request, known, datetime(2026, 11, 24, tzinfo=UTC))
    assert isinstance(first, Translated) and first == again


# --- what the gateway cannot read: 400 with a reason ------------------------------------------------


def test_refusals_name_their_reason():
    refused(query(lat="40", lon="109"), "no_id")
    refused(query(id="  ", lat="40", lon="109"), "no_id")
    assert refused(query(id="999", lat="40", lon="109"), "unknown_device").device_id == "osmand:999"
    refused(query(id="a phone", lat="40", lon="109"), "bad_id")
    refused(query(id="x" * 60, lat="40", lon="109"), "bad_id")
    refused(query(id="123456", lat="forty", lon="109"), "bad_number")
    refused(query(id="123456", lat="40", lon="109", speed="fast"), "bad_number")
    refused(query(id="123456", lat="nan", lon="109"), "bad_number")
    refused(query(id="123456", lat="40", lon="109", batt="inf"), "bad_number")
    refused(query(id="123456", lat="1_0", lon="109"), "bad_number")
    refused(query(id="123456", lat="91", lon="109"), "bad_latitude")
    refused(query(id="123456", lat="40", lon="-180.5"), "bad_longitude")
    refused(query(id="123456", location="40;109"), "bad_number")
    refused(query(id="123456", lat="40"), "missing_field")
    refused(query(id="123456"), "missing_field")
    refused(query(id="123456", lat="40", lon="109", timestamp="yesterday"), "bad_timestamp")
    refused(query(id="123456", lat="40", lon="109", timestamp="9" * 30), "bad_timestamp")


def test_json_refusals():
    refused(Request("POST", "application/json", "", b"{not json"), "bad_body")
    refused(Request("POST", "application/json", "", b"[1, 2]"), "bad_body")
    refused(Request("POST", "application/json", "", b'{"device_id": "123456", "location": {"coords": '
                                                   b'{"latitude": NaN, "longitude": 1}}}'), "bad_body")
    refused(traccar_json(device_id=""), "no_id")
    refused(traccar_json(device_id=True), "no_id")
    refused(traccar_json({"timestamp": "2026-11-23T00:04:00Z"}), "missing_field")
    refused(traccar_json(traccar_location(latitude="north")), "bad_number")
    refused(traccar_json(traccar_location(speed=True)), "bad_number")
    refused(traccar_json(traccar_location(longitude=200)), "bad_longitude")
    refused(traccar_json([traccar_location()] * 1001), "too_many_fixes")
    refused(Request("POST", "application/x-www-form-urlencoded", "", b"id=%FF%FE&lat=1"), "bad_body")


def test_what_the_gateway_can_read_but_the_bridge_refuses_is_published():
    """(0, 0), a heading of 400 or a year-old time are the bridge's to quarantine, not the gateway's."""
    for fields in ({"lat": "0", "lon": "0"}, {"lat": "40", "lon": "109", "bearing": "400"},
                   {"lat": "40", "lon": "109", "timestamp": str(EPOCH - 365 * 86400)},
                   {"lat": "40", "lon": "109", "speed": "-5"}):
        _, fix = one_fix(query(id="123456", **fields))
        assert fix["via"] == "osmand"


# --- the bridge reads what the gateway writes -------------------------------------------------------


def bridge_lookup(device_id: str) -> DeviceInfo | None:
    return DeviceInfo(device_id, "gps", "", False, vehicle_id=1) if device_id in KNOWN else None


def test_the_bridge_accepts_every_shape_unverified_via_osmand():
    for request in (query(id="123456", lat="40.6", lon="109.8", timestamp=str(EPOCH), speed="10", batt="50"),
                    form(deviceid="phone.7", location="40.5,109.5", timestamp=str(EPOCH * 1000)),
                    traccar_json()):
        outcome = translate(request, known, NOW)
        assert isinstance(outcome, Translated)
        for topic, payload in outcome.messages:
            result = parse_message(topic, payload, bridge_lookup, NOW)
            assert isinstance(result, Accepted), result
            record = result.records[0]
            assert record.via == "osmand" and record.verified is False and record.seq == EPOCH


# --- fuzz: never raises --------------------------------------------------------------------------------

FIELD_NAMES = st.sampled_from(["id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing",
                               "heading", "altitude", "accuracy", "batt", "hdop", "charge", "x"])
VALUES = st.one_of(st.text(max_size=30), st.sampled_from(["123456", "40.5", "-91", "1e308", "nan", "1,2", "",
                                                          "2026-11-23T00:04:00Z", "99999999999999", "-1"]))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
FUZZ_EXAMPLES = 800


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.dictionaries(FIELD_NAMES, VALUES, max_size=8), body=st.binary(max_size=200),
       content_type=st.sampled_from(["", "application/json", "application/x-www-form-urlencoded", "text/plain"]),
       method=st.sampled_from(["GET", "POST"]))
def test_fuzz_form_and_bytes_never_raise(fields, body, content_type, method):
    outcome = translate(Request(method, content_type, urlencode(fields), body), known, NOW)
    check_outcome(outcome)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(root=st.fixed_dictionaries({"device_id": st.sampled_from(["123456", 123456, "", None, "phone.7"])},
                                  optional={"location": st.one_of(JSON_VALUES, st.builds(
                                      lambda coords, stamp: {"coords": coords, "timestamp": stamp},
                                      st.dictionaries(st.sampled_from(["latitude", "longitude", "speed", "heading",
                                                                       "accuracy", "altitude"]), JSON_VALUES),
                                      JSON_VALUES))}))
def test_fuzz_traccar_json_never_raises(root):
    outcome = translate(Request("POST", "application/json", "", json.dumps(root).encode()), known, NOW)
    check_outcome(outcome)


def check_outcome(outcome) -> None:
    if isinstance(outcome, Unreadable):
        assert outcome.reason in REASONS and outcome.reason != "internal_error", outcome
        return
    assert isinstance(outcome, Translated)
    for topic, payload in outcome.messages:
        fix = json.loads(payload)
        assert topic.startswith("wf/v1/dev/osmand:") and -90 <= fix["lat"] <= 90 and -180 <= fix["lon"] <= 180
        assert isinstance(fix["seq"], int) and fix["ts"].endswith("Z")
        parse_message(topic, payload, bridge_lookup, NOW)  # the bridge reads it (and never raises)
