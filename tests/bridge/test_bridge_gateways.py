"""The bridge's side of the gateways: ``via`` and ``attrs`` validated and stored with readings,
gps terminals carrying a load sensor, and gateways' quarantine messages stored as quarantine."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select
from sqlmodel import Session

from mqtt_bridge.gateways.publisher import quarantine_message
from mqtt_bridge.parsing import Accepted, DeviceInfo, Rejected, parse_message
from mqtt_bridge.store import TelemetryStore
from tests.utils.bridge import NOW, SECRET, gps_fix, load_reading, parse, topic, unsigned, weigh_ticket
from tests.utils.world import build_world
from wasteflow.database import get_engine
from wasteflow.quarantine.models import QuarantinedMessage
from wasteflow.tickets.models import WeighTicket
from wasteflow.tracks.models import GpsFix, LoadReading

ATTRS = {"alarm": 0, "status": 770, "load_state": "full", "mileage_km": 1402.5, "satellites": 14, "blind_area": True}


def accepted(result) -> Accepted:
    assert isinstance(result, Accepted), result
    return result


def rejected(result, reason: str, *in_detail: str) -> Rejected:
    assert isinstance(result, Rejected) and result.reason == reason, result
    for text in in_detail:
        assert text in result.detail, result.detail
    return result


# --- parsing -------------------------------------------------------------------------------------


def test_via_and_attrs_are_kept_with_a_fix():
    (record,) = accepted(parse(topic("gps-legacy", "gps"), unsigned(gps_fix(via="jt808", attrs=ATTRS)))).records
    assert record.via == "jt808" and record.attrs == ATTRS and record.verified is False
    (plain,) = accepted(parse(topic("gps-legacy", "gps"), unsigned(gps_fix()))).records
    assert plain.via is None and plain.attrs is None


def test_a_batchs_via_applies_to_its_items():
    payload = {"batch": [gps_fix(seq=1), gps_fix(seq=2, via="osmand")], "via": "jt808"}
    records = accepted(parse(topic("gps-legacy", "gps"), unsigned(payload))).records
    assert [r.via for r in records] == ["jt808", "osmand"]
    loads = accepted(parse(topic("load-1", "load"), _signed_load({"batch": [load_reading()], "via": "jt808"})))
    assert loads.records[0].via == "jt808"


def _signed_load(payload: dict) -> bytes:
    from mqtt_bridge.signing import signed_payload
    return signed_payload("load-1", SECRET, payload)


def test_a_ticket_carries_via():
    from mqtt_bridge.signing import signed_payload
    payload = signed_payload("wb-1", SECRET, weigh_ticket(via="scale"))
    (ticket,) = accepted(parse(topic("wb-1", "weigh"), payload)).records
    assert ticket.via == "scale"


@pytest.mark.parametrize("fields, reason, named", [
    ({"via": 7}, "wrong_type", "via"),
    ({"via": "JT808"}, "bad_value", "via"),
    ({"via": "x" * 17}, "bad_value", "via"),
    ({"attrs": [1, 2]}, "wrong_type", "attrs"),
    ({"attrs": {"nested": {"a": 1}}}, "wrong_type", "attrs.nested"),
    ({"attrs": {"list": [1]}}, "wrong_type", "attrs.list"),
    ({"attrs": {"Bad-Key": 1}}, "bad_value", "attrs key"),
    ({"attrs": {f"k{i}": i for i in range(25)}}, "bad_value", "attrs"),
    ({"attrs": {"s": "x" * 65}}, "bad_value", "attrs.s"),
    ({"attrs": {"big": 2**70}}, "bad_value", "attrs.big"),
    ({"attrs": {f"k{i}": "y" * 60 for i in range(20)}}, "bad_value", "1024 bytes"),
])
def test_bad_via_or_attrs_are_refused_naming_the_field(fields, reason, named):
    rejected(parse(topic("gps-legacy", "gps"), unsigned(gps_fix(**fields))), reason, named)


def test_a_gps_terminal_with_a_load_item_may_publish_load():
    terminal = DeviceInfo("jt-1", "gps", SECRET, False, vehicle_id=1, publishes_load=True)
    plain = DeviceInfo("jt-2", "gps", SECRET, False, vehicle_id=1)
    devices = {d.id: d for d in (terminal, plain)}
    payload = unsigned({**load_reading(), "via": "jt808"})
    (reading,) = accepted(parse_message(topic("jt-1", "load"), payload, devices.get, NOW)).records
    assert reading.load_kg == 24180 and reading.via == "jt808"
    rejected(parse_message(topic("jt-2", "load"), payload, devices.get, NOW), "wrong_kind")


# --- gateways' quarantine ------------------------------------------------------------------------


def test_a_gateway_quarantine_message_is_stored_with_the_gateways_reason_and_raw_bytes():
    raw = b"\x7e\x02\x00\xff\x7e"
    result = parse(*quarantine_message("jt808", "jt-1", "bad_checksum", raw, "checksum 3A, frame XOR 3B"))
    rejected(result, "bad_checksum", "from gateway jt808", "checksum 3A")
    assert result.payload == raw and result.device_id == "jt-1" and result.topic == "wf/v1/quarantine/jt808"
    unknown = parse(*quarantine_message("scale", None, "garbage", b"\x02+0012a"))
    assert unknown.device_id is None and unknown.payload == b"\x02+0012a"  # type: ignore[union-attr]


@pytest.mark.parametrize("payload", [
    b"not json", b"[1]", json.dumps({"reason": "x"}).encode(),
    json.dumps({"reason": "Bad Reason", "raw": ""}).encode(), json.dumps({"reason": "ok", "raw": "***"}).encode(),
    json.dumps({"reason": "ok", "raw": "", "device_id": 5}).encode(),
])
def test_an_unreadable_gateway_message_is_kept_whole(payload):
    result = rejected(parse("wf/v1/quarantine/jt808", payload), "bad_gateway_message")
    assert result.payload == payload
    rejected(parse("wf/v1/quarantine/JT 808", base64.b64encode(b"x")), "bad_gateway_message", "gateway name")


# --- storage, on both databases --------------------------------------------------------------------


def test_via_attrs_and_gateway_quarantine_are_stored(client, engine, db_url):
    world = build_world(client, engine)
    store = TelemetryStore(get_engine(db_url))
    legacy = DeviceInfo("gps-0001", "gps", world.secrets["gps-0001"], False, vehicle_id=world.ids["vehicle"])
    devices = {"gps-0001": legacy,
               "load-0001": DeviceInfo("load-0001", "load_cell", world.secrets["load-0001"], False, vehicle_id=1),
               "wb-plant": DeviceInfo("wb-plant", "weighbridge", "", False, site_id=world.ids["plant"])}
    fixes = {"batch": [gps_fix(seq=1, attrs=ATTRS), gps_fix(seq=2, ts="2026-11-23T08:00:15+08:00")], "via": "jt808"}
    results = [parse_message(topic("gps-0001", "gps"), unsigned(fixes), devices.get, NOW),
               parse_message(topic("gps-0001", "gps"), unsigned(gps_fix(seq=3, ts="2026-11-23T08:00:25+08:00")),
                             devices.get, NOW),
               parse_message(topic("load-0001", "load"), unsigned(load_reading(via="jt808")), devices.get, NOW),
               parse_message(*quarantine_message("jt808", "gps-0001", "no_fix", b"\x7e\x01\x7e"), devices.get, NOW),
               parse_message(topic("wb-plant", "weigh"), unsigned(weigh_ticket(via="scale", manifest_no=None)),
                             devices.get, NOW)]
    stored = store.write(results)
    assert (stored.fixes_new, stored.loads_new, stored.quarantined) == (3, 1, {"no_fix": 1})
    with Session(engine) as session:
        rows = {f.seq: f for f in session.exec(select(GpsFix)).scalars()}
        assert rows[1].via == "jt808" and rows[1].attrs == ATTRS
        assert rows[2].via == "jt808" and rows[2].attrs is None
        assert rows[3].via is None
        assert session.execute(select(GpsFix.seq).where(GpsFix.attrs.is_(None))).scalars().all() in ([2, 3], [3, 2])
        assert session.exec(select(LoadReading)).scalar_one().via == "jt808"
        quarantined = session.exec(select(QuarantinedMessage)).scalar_one()
        assert (quarantined.reason, quarantined.device_id) == ("no_fix", "gps-0001")
        assert quarantined.payload == b"\x7e\x01\x7e"
        assert quarantined.topic == "wf/v1/quarantine/jt808" and "from gateway jt808" in quarantined.detail
        assert session.exec(select(WeighTicket)).scalar_one().via == "scale"
