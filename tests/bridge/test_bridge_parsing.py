import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from mqtt_bridge import parsing
from mqtt_bridge.parsing import (
    REASONS,
    TRANSIENT_REASONS,
    Accepted,
    GpsRecord,
    Limits,
    LoadRecord,
    Rejected,
    StatusRecord,
    TicketRecord,
    parse_message,
)
from mqtt_bridge.signing import sign
from tests.utils.bridge import (
    DROP,
    NOW,
    SECRET,
    gps_fix,
    load_reading,
    lookup,
    owntracks_location,
    parse,
    signed,
    topic,
    unsigned,
    weigh_ticket,
)

UTC = UTC
TS_UTC = datetime(2026, 11, 23, 0, 0, 5, tzinfo=UTC)
OWNTRACKS = "owntracks/alice/phone"


def accepted(result) -> Accepted:
    assert isinstance(result, Accepted), result
    return result


def rejected(result, reason: str) -> Rejected:
    assert isinstance(result, Rejected), result
    assert result.reason == reason, (result.reason, result.detail)
    assert result.detail
    return result


# -- happy paths -------------------------------------------------------------------------------


def test_single_gps_fix():
    result = accepted(parse(topic("gps-1", "gps"), signed("gps-1", gps_fix())))
    assert result.kind == "gps" and result.device_id == "gps-1"
    assert result.records == (GpsRecord("gps-1", 1042, TS_UTC, 40.6571, 109.8403, 42.5, 271.0, 0.9,
                                        verified=True),)
    assert result.records[0].ts.tzinfo is not None


def test_gps_fix_optional_fields_absent_or_null():
    fix = gps_fix(speed_kmh=DROP, heading=None, hdop=DROP)
    record = accepted(parse(topic("gps-1", "gps"), signed("gps-1", fix))).records[0]
    assert (record.speed_kmh, record.heading, record.hdop) == (None, None, None)


def test_gps_batch_any_order():
    items = [gps_fix(seq=s, ts=f"2026-11-23T00:0{s}:00Z") for s in (3, 1, 2)]
    result = accepted(parse(topic("gps-1", "gps"), signed("gps-1", {"batch": items})))
    assert [r.seq for r in result.records] == [3, 1, 2]
    assert all(r.verified for r in result.records)


def test_load_reading_and_batch():
    single = accepted(parse(topic("load-1", "load"), signed("load-1", load_reading())))
    assert single.kind == "load"
    assert single.records == (LoadRecord("load-1", 77, TS_UTC, 24180, True),)
    batch = {"batch": [load_reading(seq=1), load_reading(seq=2, load_kg=0)]}
    assert len(accepted(parse(topic("load-1", "load"), signed("load-1", batch))).records) == 2


def test_weigh_ticket_with_non_ascii_plate():
    result = accepted(parse(topic("wb-1", "weigh"), signed("wb-1", weigh_ticket())))
    assert result.kind == "weigh"
    (ticket,) = result.records
    assert isinstance(ticket, TicketRecord)
    assert ticket.plate == "蒙B12345" and ticket.net_kg == 34180 and ticket.verified
    assert ticket.gross_at == datetime(2026, 11, 22, 23, 40, tzinfo=UTC)
    assert ticket.manifest_no == "WF-150200-20261123-000042"


def test_weigh_ticket_net_within_one_kg_and_without_manifest():
    ticket = weigh_ticket(net_kg=34181, manifest_no=DROP)
    record = accepted(parse(topic("wb-1", "weigh"), signed("wb-1", ticket))).records[0]
    assert record.manifest_no is None


@pytest.mark.parametrize("payload, online", [
    (b"online", True), (b"offline", False), (b'"online"', True), (b"offline\n", False),
])
def test_status(payload, online):
    result = accepted(parse(topic("load-1", "status"), payload))
    assert result.kind == "status"
    assert result.records == (StatusRecord("load-1", online),)


def test_owntracks_location():
    location = owntracks_location()
    result = accepted(parse(OWNTRACKS, unsigned(location)))
    assert result.kind == "gps" and result.device_id == "owntracks:alice/phone"
    (fix,) = result.records
    assert fix.seq == location["tst"]
    assert fix.ts == datetime.fromtimestamp(location["tst"], UTC)
    assert (fix.speed_kmh, fix.heading, fix.hdop, fix.accuracy_m) == (40.0, 90.0, None, 12.0)
    assert fix.verified is False


def test_unknown_extra_fields_are_ignored_but_signed():
    fix = gps_fix(firmware="2.1.0", sats=9)
    assert isinstance(parse(topic("gps-1", "gps"), signed("gps-1", fix)), Accepted)


def test_timestamp_forms():
    for ts in ("2026-11-23T00:00:05Z", "2026-11-23T00:00:05.250z", "2026-11-23t08:00:05+08:00",
               "2026-11-22T19:00:05.123456789-05:00"):
        record = accepted(parse(topic("gps-1", "gps"), signed("gps-1", gps_fix(ts=ts)))).records[0]
        assert record.ts.utcoffset() == timedelta(0)
        assert abs((record.ts - TS_UTC).total_seconds()) < 1


# -- signatures --------------------------------------------------------------------------------


def test_correct_signature_over_numbers_written_like_1e2():
    wire = '{{"seq": 1, "ts": "{}", "lat": 40.6571, "lon": 1e2}}'.format("2026-11-23T00:00:00Z")
    sig = sign("gps-1", SECRET, json.loads(wire))
    body = wire[:-1] + f', "sig": "{sig}"}}'
    assert accepted(parse(topic("gps-1", "gps"), body.encode())).records[0].lon == 100.0


def test_wrong_signature():
    body = json.loads(signed("gps-1", gps_fix()))
    body["lat"] = 40.6572
    rejected(parse(topic("gps-1", "gps"), unsigned(body)), "bad_signature")


def test_signature_by_another_device_secret():
    body = {**gps_fix(), "sig": sign("gps-1", "not-the-secret", gps_fix())}
    rejected(parse(topic("gps-1", "gps"), unsigned(body)), "bad_signature")


def test_signature_not_a_string():
    rejected(parse(topic("gps-1", "gps"), unsigned({**gps_fix(), "sig": 5})), "bad_signature")


def test_missing_signature():
    rejected(parse(topic("gps-1", "gps"), unsigned(gps_fix())), "missing_signature")


def test_unsigned_device_is_accepted_unverified():
    record = accepted(parse(topic("gps-legacy", "gps"), unsigned(gps_fix()))).records[0]
    assert record.verified is False


def test_unsigned_device_with_wrong_sig_is_accepted_unverified():
    body = {**gps_fix(), "sig": "00" * 32}
    assert accepted(parse(topic("gps-legacy", "gps"), unsigned(body))).records[0].verified is False


def test_unsigned_device_with_correct_sig_is_verified():
    body = {**gps_fix(), "sig": sign("gps-legacy", SECRET, gps_fix())}
    assert accepted(parse(topic("gps-legacy", "gps"), unsigned(body))).records[0].verified is True


def test_batch_is_signed_once_over_the_whole_object():
    batch = {"batch": [gps_fix(seq=1), gps_fix(seq=2)]}
    body = json.loads(signed("gps-1", batch))
    body["batch"].pop()
    rejected(parse(topic("gps-1", "gps"), unsigned(body)), "bad_signature")


# -- every reason code -------------------------------------------------------------------------

GPS, LOAD, WEIGH = topic("gps-1", "gps"), topic("load-1", "load"), topic("wb-1", "weigh")
FUTURE = (NOW + timedelta(minutes=6)).isoformat()
OLD = (NOW - timedelta(days=31)).isoformat()
NAN_FIX = signed("gps-1", gps_fix()).replace(b'"lat":40.6571', b'"lat":NaN')
BIG = [gps_fix(seq=i) for i in range(1001)]

REASON_CASES = [
    ("payload_too_large", GPS, b"{" + b" " * (256 * 1024) + b"}"),
    ("bad_topic", "wf/v1/dev/gps-1/temperature", b"{}"),
    ("bad_topic", "wf/v1/dev/has space/gps", b"{}"),
    ("bad_topic", "wf/v1/dev/" + "x" * 65 + "/gps", b"{}"),
    ("bad_topic", "wf/v2/dev/gps-1/gps", b"{}"),
    ("bad_topic", "owntracks/alice", b"{}"),
    ("bad_topic", "", b"{}"),
    ("device_disabled", "wf/v1/dev/gps-off/gps", b"{}"),
    ("not_utf8", GPS, b'{"seq": "\xff"}'),
    ("not_utf8", GPS, b'{"seq": "\\ud800"}'),
    ("not_json", GPS, b"{seq: 1}"),
    ("not_json", GPS, b"[" * 100_000),
    ("not_object", GPS, b"[1, 2]"),
    ("not_object", GPS, signed("gps-1", {"batch": [1]})),
    ("missing_field", GPS, signed("gps-1", gps_fix(lat=DROP))),
    ("missing_field", WEIGH, signed("wb-1", weigh_ticket(tare_at=DROP))),
    ("wrong_type", GPS, signed("gps-1", gps_fix(lat="40.6"))),
    ("wrong_type", GPS, signed("gps-1", gps_fix(seq=True))),
    ("wrong_type", GPS, signed("gps-1", gps_fix(seq=1.0))),
    ("wrong_type", GPS, signed("gps-1", gps_fix(lat=None))),
    ("wrong_type", LOAD, signed("load-1", load_reading(load_kg=24180.0))),
    ("wrong_type", GPS, signed("gps-1", {"batch": {"seq": 1}})),
    ("wrong_type", GPS, signed("gps-1", gps_fix(ts=1700000000))),
    ("bad_value", GPS, signed("gps-1", gps_fix(seq=-1))),
    ("bad_value", GPS, signed("gps-1", gps_fix(seq=2**63))),
    ("bad_value", GPS, signed("gps-1", gps_fix(heading=361))),
    ("bad_value", GPS, signed("gps-1", gps_fix(speed_kmh=-3))),
    ("bad_value", GPS, signed("gps-1", gps_fix(speed_kmh=10**400))),
    ("bad_value", WEIGH, signed("wb-1", weigh_ticket(plate="蒙B\u000012345"))),
    ("bad_value", WEIGH, signed("wb-1", weigh_ticket(ticket_no=" "))),
    ("bad_value", LOAD, signed("load-1", load_reading(load_kg=10**12))),
    ("batch_not_allowed", WEIGH, signed("wb-1", {"batch": [weigh_ticket()]})),
    ("empty_batch", GPS, signed("gps-1", {"batch": []})),
    ("batch_too_large", GPS, signed("gps-1", {"batch": BIG})),
    ("unknown_device", topic("nobody", "gps"), signed("gps-1", gps_fix())),
    ("unknown_device", "owntracks/bob/phone", unsigned(owntracks_location())),
    ("wrong_kind", topic("gps-1", "load"), signed("gps-1", load_reading())),
    ("wrong_kind", topic("load-1", "weigh"), signed("load-1", weigh_ticket())),
    ("wrong_kind", topic("wb-1", "gps"), signed("wb-1", gps_fix())),
    ("missing_signature", GPS, unsigned(gps_fix())),
    ("bad_signature", GPS, unsigned({**gps_fix(), "sig": "ab" * 32})),
    ("bad_latitude", GPS, signed("gps-1", gps_fix(lat=90.0001))),
    ("bad_latitude", GPS, signed("gps-1", gps_fix(lat=-91))),
    ("bad_longitude", GPS, signed("gps-1", gps_fix(lon=180.5))),
    ("null_island", GPS, signed("gps-1", gps_fix(lat=0, lon=0.0))),
    ("not_finite", GPS, NAN_FIX),
    ("not_finite", GPS, b'{"seq": 1, "lat": Infinity}'),
    ("not_finite", GPS, b'{"seq": 1, "lat": -Infinity}'),
    ("not_finite", GPS, b'{"seq": 1, "lat": 1e999}'),
    ("negative_mass", LOAD, signed("load-1", load_reading(load_kg=-1))),
    ("negative_mass", WEIGH, signed("wb-1", weigh_ticket(tare_kg=-5))),
    ("net_mismatch", WEIGH, signed("wb-1", weigh_ticket(net_kg=34178))),
    ("ts_in_future", GPS, signed("gps-1", gps_fix(ts=FUTURE))),
    ("ts_in_future", WEIGH, signed("wb-1", weigh_ticket(gross_at=FUTURE))),
    ("ts_too_old", GPS, signed("gps-1", gps_fix(ts=OLD))),
    ("ts_too_old", "owntracks/alice/phone", unsigned(owntracks_location(tst=1_000_000))),
    ("bad_timestamp", GPS, signed("gps-1", gps_fix(ts="2026-11-23T08:00:05"))),
    ("bad_timestamp", GPS, signed("gps-1", gps_fix(ts="2026-11-23 08:00:05Z"))),
    ("bad_timestamp", GPS, signed("gps-1", gps_fix(ts="2026-02-30T08:00:05Z"))),
    ("bad_timestamp", GPS, signed("gps-1", gps_fix(ts="2026-11-23T23:59:60Z"))),
    ("bad_timestamp", GPS, signed("gps-1", gps_fix(ts="2026-11-23T08:00:05+24:00"))),
    ("bad_timestamp", GPS, signed("gps-1", gps_fix(ts="0001-01-01T00:00:00+01:00"))),
    ("bad_timestamp", GPS, signed("gps-1", gps_fix(ts="٢٠٢٦-11-23T08:00:05Z"))),
    ("bad_timestamp", OWNTRACKS, unsigned(owntracks_location(tst=10**15))),
    ("bad_status", topic("gps-1", "status"), b"on-line"),
    ("bad_status", topic("gps-1", "status"), b""),
    ("bad_status", topic("gps-1", "status"), b"\xff"),
    ("not_owntracks_location", OWNTRACKS, unsigned({"_type": "lwt", "tst": 1})),
    ("not_owntracks_location", OWNTRACKS, unsigned({"_type": "transition", "event": "enter"})),
    ("not_owntracks_location", OWNTRACKS, unsigned({"lat": 1, "lon": 2})),
    ("not_owntracks_location", OWNTRACKS + "/event", unsigned(owntracks_location())),
]


@pytest.mark.parametrize("reason, topic_name, payload", REASON_CASES,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(REASON_CASES)])
def test_reason_codes(reason, topic_name, payload):
    result = rejected(parse(topic_name, payload), reason)
    assert result.topic == topic_name and result.payload == payload


def test_rejected_detail_names_the_field_with_its_batch_index():
    batch = {"batch": [gps_fix(seq=1), gps_fix(seq=2, lat=95)]}
    result = rejected(parse(GPS, signed("gps-1", batch)), "bad_latitude")
    assert "batch[1].lat" in result.detail


def test_one_bad_item_rejects_the_whole_batch():
    batch = {"batch": [gps_fix(seq=1), gps_fix(seq=2, lat=0, lon=0), gps_fix(seq=3)]}
    rejected(parse(GPS, signed("gps-1", batch)), "null_island")


def test_rejected_carries_the_device_id_when_known():
    assert parse(GPS, unsigned(gps_fix())).device_id == "gps-1"
    assert parse(topic("nobody", "gps"), b"{}").device_id == "nobody"
    assert parse("foo/bar", b"{}").device_id is None


def test_status_is_allowed_for_every_device_kind():
    for device_id in ("gps-1", "load-1", "wb-1"):
        accepted(parse(topic(device_id, "status"), b"offline"))


def test_limits_are_configurable():
    limits = Limits(max_payload_bytes=100, max_batch=2)
    rejected(parse(GPS, signed("gps-1", {"batch": [gps_fix(seq=i) for i in range(3)]}),
                   limits=Limits(max_batch=2)), "batch_too_large")
    rejected(parse(GPS, signed("gps-1", gps_fix()) + b" " * 100, limits=limits), "payload_too_large")


def test_timestamp_window_edges():
    at_limit = (NOW + timedelta(seconds=300)).isoformat()
    accepted(parse(GPS, signed("gps-1", gps_fix(ts=at_limit))))
    nearly_old = (NOW - timedelta(days=30) + timedelta(seconds=1)).isoformat()
    accepted(parse(GPS, signed("gps-1", gps_fix(ts=nearly_old))))


def test_naive_now_is_taken_as_utc():
    result = parse_message(GPS, signed("gps-1", gps_fix()), lookup, NOW.replace(tzinfo=None))
    accepted(result)


def test_failing_lookup_is_a_transient_rejection():
    def broken_lookup(device_id):
        raise ConnectionError("database is down")

    result = rejected(parse_message(GPS, signed("gps-1", gps_fix()), broken_lookup, NOW),
                      "lookup_failed")
    assert result.reason in TRANSIENT_REASONS
    assert "database is down" in result.detail


def test_a_bug_becomes_internal_error_not_an_exception():
    result = parse_message(GPS, b"{}", lambda device_id: "not a DeviceInfo", NOW)
    rejected(result, "internal_error")


def test_odd_argument_types_do_not_raise():
    assert isinstance(parse_message(None, None, lookup, NOW), Rejected)
    assert isinstance(parse_message(GPS, bytearray(signed("gps-1", gps_fix())), lookup, NOW), Accepted)
    assert isinstance(parse_message(GPS, b"{}", lookup, "not a datetime"), Rejected)


def test_every_reason_in_the_code_is_documented_and_vice_versa():
    documented = set(re.findall(r"^``([a-z_0-9]+)``\s", parsing.__doc__, flags=re.MULTILINE))
    assert documented == REASONS


def test_every_reason_except_lookup_and_internal_has_a_case():
    covered = {case[0] for case in REASON_CASES}
    assert covered == REASONS - {"lookup_failed", "internal_error", "not_storable"}  # the store's: test_bridge_poison
