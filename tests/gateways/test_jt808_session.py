"""The JT/T 808 session (pure): devices.md's table, message by message, without sockets.

An outcome lists what to publish and the replies to send once the broker has acknowledged
all of it; the server's part (waiting for PUBACK) is tested against the real broker in
tests/integration/test_jt808_gateway.py.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from mqtt_bridge.gateways.jt808 import messages as m
from mqtt_bridge.gateways.jt808.directory import auth_code
from mqtt_bridge.gateways.jt808.framing import V2013, V2019, Frame, Header, decode_frame, encode_frame
from mqtt_bridge.gateways.jt808.session import Outcome, Session, Terminal
from mqtt_bridge.gateways.jt808.translate import LoadItem
from tests.utils import jt808_frames as golden

NOW = datetime(2026, 11, 23, 0, 5, tzinfo=UTC)
PHONE = "013912345678"
CODE = auth_code("secret", "13912345678")
TERMINALS = {
    "13912345678": Terminal("jt-1", "13912345678", CODE, LoadItem(0x55, 4, 0.1)),
    "13900000002": Terminal("jt-2", "13900000002", auth_code("other", "13900000002")),
}


def session() -> Session:
    return Session(TERMINALS.get, max_quarantined_per_minute=10)


class Wire:
    """A terminal's side: numbered frames in, the session's outcome out."""

    def __init__(self, phone: str = PHONE, version: int = V2013):
        self.phone, self.version, self.serial = phone, version, 100
        self.session = session()

    def send(self, msg_id: int, body: bytes = b"", now: datetime = NOW, **header) -> Outcome:
        self.serial += 1
        fields = {"phone": self.phone, "serial": self.serial, "protocol_version": 1 if self.version == V2019 else 0}
        raw = encode_frame(Header(msg_id, self.version, **{**fields, **header}), body)
        return self.session.on_frame(decode_frame(raw), now)

    def login(self) -> None:
        assert answers(self.send(m.AUTHENTICATE, m.auth_body(CODE, self.version))) == [(m.AUTHENTICATE, m.OK)]


def replies(outcome: Outcome) -> list[Frame]:
    frames = [decode_frame(raw) for raw in outcome.reply]
    assert all(isinstance(f, Frame) for f in frames)
    return frames  # type: ignore[return-value]


def answers(outcome: Outcome) -> list[tuple[int, int]]:
    """(answered message id, result) of each 0x8001 reply."""
    return [(int.from_bytes(f.body[2:4], "big"), f.body[4]) for f in replies(outcome)
            if f.header.msg_id == m.PLATFORM_RESPONSE]


def published(outcome: Outcome, kind: str = "gps") -> list[dict]:
    return [json.loads(p) for t, p in outcome.publish if t.endswith("/" + kind)]


def quarantined(outcome: Outcome) -> list[dict]:
    return [json.loads(p) for t, p in outcome.publish if t == "wf/v1/quarantine/jt808"]


def fix(**overrides) -> bytes:
    args = {"lat": 40.6571, "lon": 109.8403, "when": NOW - timedelta(minutes=1), "speed_kmh": 42.5, "direction": 271,
            "status": m.STATUS_FIX | 3 << 8, "items": {m.ITEM_SATELLITES: b"\x0b", 0x55: (241800).to_bytes(4, "big")}}
    return m.location_body(**{**args, **overrides})


# --- registration and authentication --------------------------------------------------------------


@pytest.mark.parametrize("version", [V2013, V2019])
def test_a_known_terminal_registers_and_gets_its_code_in_its_own_version(version):
    wire = Wire("00000000013912345678" if version == V2019 else PHONE, version)
    (reply,) = replies(wire.send(m.REGISTER, m.register_body("蒙B12345", version)))
    assert reply.header.msg_id == m.REGISTER_RESPONSE and reply.header.version == version
    assert reply.header.phone == wire.phone
    assert reply.body == m.register_response(wire.serial, m.REGISTERED, CODE)


def test_an_unknown_terminal_is_refused_with_result_4_and_quarantined():
    wire = Wire("013999999999")
    outcome = wire.send(m.REGISTER, m.register_body("蒙B99999", V2013))
    (reply,) = replies(outcome)
    assert reply.body == m.register_response(wire.serial, m.NO_SUCH_TERMINAL)
    assert [q["reason"] for q in quarantined(outcome)] == ["unknown_terminal"]


def test_wrong_code_is_refused_closed_and_quarantined():
    wire = Wire()
    outcome = wire.send(m.AUTHENTICATE, m.auth_body("0000000000000000", V2013))
    assert answers(outcome) == [(m.AUTHENTICATE, m.FAILED)] and outcome.close
    (record,) = quarantined(outcome)
    assert record["reason"] == "bad_auth_code" and record["device_id"] == "jt-1"
    assert wire.session.closing and wire.send(m.HEARTBEAT).reply == [], "nothing more is read on a refused connection"


def test_another_terminals_code_does_not_authenticate():
    wire = Wire("013900000002")
    assert answers(wire.send(m.AUTHENTICATE, m.auth_body(CODE, V2013))) == [(m.AUTHENTICATE, m.FAILED)]


def test_golden_2019_authentication_frame_is_checked_against_the_registry():
    outcome = session().on_frame(decode_frame(golden.GO_AUTH_2019), NOW)
    assert answers(outcome) == [(m.AUTHENTICATE, m.FAILED)] and outcome.close  # 17299841738 is not registered here


# --- reports -----------------------------------------------------------------------------------------


def test_reports_before_authentication_are_refused_and_quarantined_heartbeats_answered():
    wire = Wire()
    assert answers(wire.send(m.HEARTBEAT)) == [(m.HEARTBEAT, m.OK)]
    outcome = wire.send(m.LOCATION, fix())
    assert answers(outcome) == [(m.LOCATION, m.FAILED)] and not outcome.close
    assert published(outcome) == []
    (record,) = quarantined(outcome)
    assert record["reason"] == "unauthenticated" and record["device_id"] == "jt-1"
    assert base64.b64decode(record["raw"])[:3] == b"\x7e\x02\x00"


def test_a_report_is_published_and_acknowledged_with_its_serial():
    wire = Wire()
    wire.login()
    outcome = wire.send(m.LOCATION, fix())
    (reply,) = replies(outcome)
    assert reply.body == m.platform_response(wire.serial, m.LOCATION, m.OK)
    (gps,) = published(outcome)
    assert gps["seq"] == wire.serial and gps["ts"] == "2026-11-23T00:04:00Z" and gps["via"] == "jt808"
    assert (gps["lat"], gps["lon"], gps["speed_kmh"], gps["heading"]) == (40.6571, 109.8403, 42.5, 271)
    assert gps["attrs"]["load_state"] == "full" and gps["attrs"]["satellites"] == 11
    (load,) = published(outcome, "load")
    assert load == {"seq": wire.serial, "ts": "2026-11-23T00:04:00Z", "load_kg": 24180, "via": "jt808"}
    assert outcome.publish[0][0] == "wf/v1/dev/jt-1/gps"


def test_a_report_without_a_fix_is_acknowledged_and_quarantined_its_load_kept():
    wire = Wire()
    wire.login()
    outcome = wire.send(m.LOCATION, fix(status=0))
    assert answers(outcome) == [(m.LOCATION, m.OK)]
    assert published(outcome) == [] and len(published(outcome, "load")) == 1
    assert [q["reason"] for q in quarantined(outcome)] == ["no_fix"]


def test_a_blind_area_batch_is_published_as_back_filled_fixes_with_one_acknowledgement():
    wire = Wire()
    wire.login()
    bodies = [fix(when=NOW - timedelta(minutes=30 - i)) for i in range(3)] + [fix(status=0)]
    outcome = wire.send(m.LOCATION_BATCH, m.batch_body(m.BATCH_BLIND_AREA, bodies))
    assert answers(outcome) == [(m.LOCATION_BATCH, m.OK)]
    (batch,) = published(outcome)
    assert batch["via"] == "jt808" and len(batch["batch"]) == 3
    assert {item["seq"] for item in batch["batch"]} == {wire.serial}
    assert all(item["attrs"]["blind_area"] is True for item in batch["batch"])
    assert len({item["ts"] for item in batch["batch"]}) == 3
    (record,) = quarantined(outcome)
    assert record["reason"] == "no_fix" and "items 3 of 4" in record["detail"]


def test_an_authenticated_connection_does_not_vouch_for_another_terminal():
    wire = Wire()
    wire.login()
    wire.phone = "013900000002"
    outcome = wire.send(m.LOCATION, fix())
    assert answers(outcome) == [(m.LOCATION, m.FAILED)]
    assert quarantined(outcome)[0]["device_id"] == "jt-2" and published(outcome) == []


def test_the_same_terminal_in_2019_after_authenticating_in_2013():
    wire = Wire()
    wire.login()
    wire.version, wire.phone = V2019, "00000000013912345678"
    assert answers(wire.send(m.LOCATION, fix())) == [(m.LOCATION, m.OK)]


def test_golden_frames_reach_the_bridge_as_canonical_payloads():
    terminals = {"123456789012": Terminal("jt-smallchi", "123456789012", "x")}
    s = Session(terminals.get)
    s.terminal = terminals["123456789012"]
    outcome = s.on_frame(decode_frame(golden.SMALLCHI_0200), datetime(2018, 10, 15, 2, 11, tzinfo=UTC))
    (gps,) = published(outcome)
    assert (gps["seq"], gps["ts"], gps["lat"], gps["lon"], gps["speed_kmh"]) == \
        (126, "2018-10-15T02:10:10Z", 12.222222, 132.444444, 6.0)
    assert gps["attrs"]["mileage_km"] == 10.0 and gps["attrs"]["alarm"] == 1


# --- everything else ---------------------------------------------------------------------------------


def test_unknown_ids_are_unsupported_and_encrypted_bodies_refused():
    wire = Wire()
    wire.login()
    assert answers(wire.send(0x0900, b"\x01pass-through")) == [(0x0900, m.UNSUPPORTED)]
    outcome = wire.send(m.LOCATION, fix(), encryption=1)
    assert answers(outcome) == [(m.LOCATION, m.UNSUPPORTED)]
    assert [q["reason"] for q in quarantined(outcome)] == ["encrypted"] and published(outcome) == []


def test_an_unreadable_body_is_a_message_error_and_quarantined():
    wire = Wire()
    wire.login()
    outcome = wire.send(m.LOCATION, fix()[:20])
    assert answers(outcome) == [(m.LOCATION, m.MESSAGE_ERROR)]
    assert [q["reason"] for q in quarantined(outcome)] == ["bad_body"]


def test_a_bad_frame_is_quarantined_with_its_raw_bytes_and_never_answered():
    wire = Wire()
    wire.login()
    raw = golden.SMALLCHI_0200[:-2] + b"\x00\x7e"
    outcome = wire.session.on_frame(decode_frame(raw), NOW)
    assert outcome.reply == [] and not outcome.close
    (record,) = quarantined(outcome)
    assert record["reason"] == "bad_checksum" and base64.b64decode(record["raw"]) == raw
    assert record["device_id"] == "jt-1", "attributed to the connection's terminal"


def test_logout_answers_and_closes():
    wire = Wire()
    outcome = wire.send(m.LOGOUT)
    assert answers(outcome) == [(m.LOGOUT, m.OK)] and outcome.close


def test_a_flood_of_bad_frames_closes_the_connection():
    wire = Wire()
    outcomes = [wire.session.on_frame(decode_frame(b"\x7egarbage\x7e"), NOW + timedelta(seconds=i)) for i in range(11)]
    assert not any(o.close for o in outcomes[:10])
    assert outcomes[10].close and [q["reason"] for q in quarantined(outcomes[10])] == ["truncated", "flood"]
    later = Wire()
    for i in range(30):  # spread over time, the same number of bad frames is fine
        assert not later.session.on_frame(decode_frame(b"\x7egarbage\x7e"), NOW + timedelta(seconds=10 * i)).close


# --- subpackages -------------------------------------------------------------------------------------


def _packages(wire: Wire, body: bytes, size: int) -> list[tuple[int, bytes]]:
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    first = wire.serial + 1
    return [(n, encode_frame(Header(m.LOCATION_BATCH, V2013, wire.phone, first + n - 1, packages=len(chunks),
                                    package=n), chunk)) for n, chunk in enumerate(chunks, 1)]


def test_packages_are_acknowledged_on_arrival_and_the_message_published_when_whole():
    wire = Wire()
    wire.login()
    body = m.batch_body(m.BATCH_NORMAL, [fix(when=NOW - timedelta(seconds=10 * i)) for i in range(10)])
    packages = _packages(wire, body, 100)
    first_serial = wire.serial + 1
    order = [packages[2], packages[0], *packages[3:], packages[1]]  # out of order
    outcomes = [wire.session.on_frame(decode_frame(raw), NOW) for _, raw in order]
    for outcome in outcomes[:-1]:
        assert outcome.publish == [] and answers(outcome) == [(m.LOCATION_BATCH, m.OK)]
    last = outcomes[-1]
    (batch,) = published(last)
    assert len(batch["batch"]) == 10 and {i["seq"] for i in batch["batch"]} == {first_serial}
    (reply,) = replies(last)
    assert int.from_bytes(reply.body[0:2], "big") == first_serial + 1, "the completing package is the one answered"


def test_missing_packages_are_asked_for_after_60_s_and_given_up_as_incomplete():
    wire = Wire()
    wire.login()
    first_serial = wire.serial + 1
    packages = _packages(wire, m.batch_body(m.BATCH_NORMAL, [fix() for _ in range(6)]), 60)
    for n, raw in packages:
        if n not in (2, 4):
            wire.session.on_frame(decode_frame(raw), NOW)
    assert wire.session.on_tick(NOW + timedelta(seconds=59)).reply == []
    (request,) = replies(wire.session.on_tick(NOW + timedelta(seconds=60)))
    assert request.header.msg_id == m.RESEND_PACKAGES
    assert request.body == m.resend_request(first_serial, [2, 4], V2013)
    assert wire.session.on_tick(NOW + timedelta(seconds=90)).reply == [], "asked once"
    gone = wire.session.on_tick(NOW + timedelta(seconds=120))
    (record,) = quarantined(gone)
    assert record["reason"] == "incomplete" and "2 of" in record["detail"]
    assert wire.session.packages.pending == {}


def test_a_connection_closing_mid_message_quarantines_what_it_had():
    wire = Wire()
    wire.login()
    (_, raw), *_ = _packages(wire, m.batch_body(m.BATCH_NORMAL, [fix() for _ in range(3)]), 40)
    wire.session.on_frame(decode_frame(raw), NOW)
    outcome = wire.session.on_close(b"\x7e\x02\x00", NOW)
    assert sorted(q["reason"] for q in quarantined(outcome)) == ["incomplete", "truncated"]
