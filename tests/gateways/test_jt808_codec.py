"""JT/T 808 framing and messages (pure): golden frames from public decoders decode to the
values their tests assert; the platform's replies encode to their bytes; every kind of bad
frame gets its reason; arbitrary and mutated bytes never raise."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqtt_bridge.gateways.jt808 import messages as m
from mqtt_bridge.gateways.jt808 import translate
from mqtt_bridge.gateways.jt808.framing import (
    MAX_FRAME,
    V2013,
    V2019,
    Frame,
    FrameError,
    FrameSplitter,
    Header,
    checksum,
    decode_frame,
    encode_frame,
    escape,
)
from tests.utils import jt808_frames as golden

EXAMPLES = int(os.environ.get("JT808_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
REASONS = {"too_large", "bad_escape", "truncated", "bad_length", "bad_checksum", "bad_header"}


def frame(raw: bytes) -> Frame:
    decoded = decode_frame(raw)
    assert isinstance(decoded, Frame), decoded
    return decoded


def location(raw: bytes) -> m.Location:
    decoded = m.decode_location(frame(raw).body)
    assert isinstance(decoded, m.Location), decoded
    return decoded


def batch(raw: bytes) -> m.Batch:
    decoded = m.decode_batch(frame(raw).body)
    assert isinstance(decoded, m.Batch), decoded
    return decoded


def assert_location(loc: m.Location, expected: dict) -> None:
    for name in ("alarm", "status", "lat", "lon", "altitude_m", "speed_kmh", "direction", "ts"):
        if name in expected:
            assert getattr(loc, name) == expected[name], name
    if "mileage_km" in expected:
        assert translate.attrs(loc)["mileage_km"] == expected["mileage_km"]
    for name in ("signal", "satellites"):
        if name in expected:
            assert translate.attrs(loc)[name] == expected[name], name


# --- golden frames -------------------------------------------------------------------------------


def test_smallchi_location_with_escaped_serial_and_checksum():
    decoded = frame(golden.SMALLCHI_0200)
    expected = golden.SMALLCHI_0200_EXPECTED
    assert decoded.header.msg_id == expected["msg_id"] and decoded.header.version == V2013
    assert decoded.header.phone == expected["phone"] and decoded.header.serial == expected["serial"]
    assert len(decoded.body) == expected["body_length"]
    loc = location(golden.SMALLCHI_0200)
    assert_location(loc, expected)
    assert loc.has_fix
    assert loc.item_int(0x02) == expected["oil_item"]  # an item the gateway does not use is still skipped right


def test_smallchi_location_time_is_gmt8_converted_to_utc():
    loc = location(golden.SMALLCHI_0200_TEST5)
    assert frame(golden.SMALLCHI_0200_TEST5).header.serial == 8888
    assert loc.ts == datetime(2018, 7, 15, 2, 10, 10, tzinfo=UTC)


def test_smallchi_batch_items_and_the_one_without_a_fix():
    decoded = batch(golden.SMALLCHI_0704)
    assert decoded.kind == m.BATCH_NORMAL and len(decoded.items) == 2
    for item, expected in zip(decoded.items, golden.SMALLCHI_0704_EXPECTED, strict=True):
        assert isinstance(item, m.Location)
        assert_location(item, expected)
    assert [i.has_fix for i in decoded.items] == [True, False]


def test_go_jt808_location_with_escaped_latitude():
    assert_location(location(golden.GO_0200), golden.GO_0200_EXPECTED)


def test_traccar_2019_batch():
    decoded = frame(golden.TRACCAR_0704_2019)
    expected = golden.TRACCAR_0704_2019_EXPECTED
    assert decoded.header.version == V2019 and decoded.header.protocol_version == expected["protocol_version"]
    assert decoded.header.phone == expected["phone"] and decoded.header.terminal_id == expected["terminal_id"]
    assert decoded.header.serial == expected["serial"]
    (item,) = batch(golden.TRACCAR_0704_2019).items
    assert isinstance(item, m.Location)
    assert_location(item, expected)
    assert item.lat < 0, "status bit 2: south"


def test_traccar_blind_area_batch():
    decoded = batch(golden.TRACCAR_0704_BLIND)
    expected = golden.TRACCAR_0704_BLIND_EXPECTED
    assert decoded.kind == m.BATCH_BLIND_AREA == expected["kind"]
    (item,) = decoded.items
    assert isinstance(item, m.Location)
    assert_location(item, expected)
    assert len(item.items) == 10, "vendor items (0x14, 0x17, 0xEA, 0xEF ...) are skipped by their length"


def test_authentication_codes_of_both_versions():
    for raw in (golden.GO_AUTH_2013, golden.GO_AUTH_2019):
        decoded = frame(raw)
        assert decoded.header.msg_id == m.AUTHENTICATE
        assert m.decode_auth_code(decoded.body, decoded.header.version) == golden.GO_AUTH_CODE
    assert frame(golden.GO_AUTH_2019).header.terminal_id == frame(golden.GO_REGISTER_2019).header.terminal_id \
        == "17299841738"


def test_heartbeat_and_2019_register_headers():
    beat = frame(golden.GO_HEARTBEAT)
    assert (beat.header.msg_id, beat.header.phone, beat.header.serial) == (m.HEARTBEAT, "012345678901", 0)
    assert beat.body == b""
    register = frame(golden.GO_REGISTER_2019)
    assert register.header.msg_id == m.REGISTER and register.header.version == V2019


def test_platform_replies_encode_to_smallchis_bytes():
    header = Header(m.PLATFORM_RESPONSE, V2013, "012345678900", 10)
    assert encode_frame(header, m.platform_response(100, m.LOCATION, m.OK)) == golden.SMALLCHI_8001
    header = Header(m.REGISTER_RESPONSE, V2013, "012345678900", 10)
    assert encode_frame(header, m.register_response(100, m.REGISTERED, "123456")) == golden.SMALLCHI_8100_OK
    assert encode_frame(header, m.register_response(100, m.NO_SUCH_TERMINAL, "ignored")) == golden.SMALLCHI_8100_UNKNOWN
    assert m.resend_request(1234, [0x0102, 0x0203], V2013) == golden.SMALLCHI_8003_BODY
    assert m.resend_request(1234, [0x0102, 0x0203], V2019) == bytes.fromhex("04D2000201020203"), "2019: count is a WORD"


def test_golden_frames_round_trip_through_the_encoder():
    for raw in golden.GOLDEN_FRAMES:
        decoded = frame(raw)
        assert encode_frame(decoded.header, decoded.body).lower() == raw.lower()


# --- translation ---------------------------------------------------------------------------------


def test_a_fix_becomes_the_canonical_gps_payload():
    loc = location(golden.SMALLCHI_0200)
    payload = translate.fix(loc, seq=126)
    assert payload == {"seq": 126, "ts": "2018-10-15T02:10:10Z", "lat": 12.222222, "lon": 132.444444,
                       "speed_kmh": 6.0, "heading": 0,
                       "attrs": {"alarm": 1, "status": 2, "load_state": "empty", "altitude_m": 40, "mileage_km": 10.0}}


def test_load_state_bits_and_vendor_load_item():
    when = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    body = m.location_body(40.6, 109.8, when, status=m.STATUS_FIX | 3 << 8, items={0x55: (241800).to_bytes(4, "big")})
    loc = m.decode_location(body)
    assert isinstance(loc, m.Location)
    assert translate.attrs(loc)["load_state"] == "full"
    item = translate.LoadItem(id=0x55, bytes=4, unit_kg=0.1)
    assert translate.load_reading(loc, 7, item) == {"seq": 7, "ts": "2026-11-23T08:00:00Z", "load_kg": 24180}
    assert translate.load_reading(loc, 7, translate.LoadItem(0x55, 2, 0.1)) is None, "wrong size: no reading"
    assert translate.load_reading(loc, 7, translate.LoadItem(0x70, 4, 1)) is None, "absent item: no reading"


def test_a_location_the_bridge_would_refuse_travels_alone():
    now = datetime.now(UTC)
    good = m.decode_location(m.location_body(40.6, 109.8, now))
    far_past = m.decode_location(m.location_body(40.6, 109.8, now - timedelta(days=40)))
    swapped = m.decode_location(m.location_body(119.552894, 40.058359, now))  # go-jt808's swapped "latitude"
    assert isinstance(good, m.Location) and isinstance(far_past, m.Location) and isinstance(swapped, m.Location)
    assert not location(golden.GO_0200).has_fix, "go-jt808's own frame: status 2048, no fix"
    published = translate.location_messages("t-1", 5, [good, far_past, swapped, good], now)
    assert [len(p) for _, p in published] and all(t == "wf/v1/dev/t-1/gps" for t, _ in published)
    batches = [p for _, p in published if b'"batch"' in p]
    assert len(published) == 3 and len(batches) == 1, "two refusable fixes alone, two plausible ones batched"


# --- bad frames ----------------------------------------------------------------------------------


def _valid() -> bytes:
    return golden.SMALLCHI_0200


def test_each_kind_of_bad_frame_gets_its_reason():
    valid = _valid()
    inner = valid[1:-1]
    cases = {
        "bad_checksum": valid[:-2] + bytes([valid[-2] ^ 0x01]) + b"\x7e",
        "bad_escape": b"\x7e" + inner[:10] + b"\x7d\x03" + inner[10:] + b"\x7e",
        "truncated": valid[:30] + b"\x7e",
        "bad_length": b"\x7e" + _with_checksum(bytes.fromhex("0200 0001 123456789012 0001 0000")) + b"\x7e",
    }
    for reason, raw in cases.items():
        decoded = decode_frame(raw)
        assert isinstance(decoded, FrameError) and decoded.reason == reason, (reason, decoded)
        assert decoded.raw == raw
    big = encode_frame(Header(m.LOCATION, V2013, "1", 1), b"\x00" * 1000)  # body fits; pad the frame past 8 KiB
    padded = big[:-1] + b"\x00" * MAX_FRAME + b"\x7e"
    assert decode_frame(padded).reason == "too_large"  # type: ignore[union-attr]


def _with_checksum(data: bytes) -> bytes:
    return escape(data + bytes([checksum(data)]))


def test_a_cut_off_frame_is_closed_by_the_next_flag_and_the_next_frame_still_reads():
    splitter = FrameSplitter()
    cut = _valid()[:25]  # opening flag and part of a frame, no closing flag
    runs = splitter.feed(cut + golden.GO_HEARTBEAT + golden.SMALLCHI_0200_TEST5)
    decoded = [decode_frame(r) for r in runs]
    assert isinstance(decoded[0], FrameError) and decoded[0].reason == "truncated"
    assert [d.header.msg_id for d in decoded[1:] if isinstance(d, Frame)] == [m.HEARTBEAT, m.LOCATION]
    assert len(decoded) == 3


def test_split_reads_across_arbitrary_chunks():
    stream = b"".join(golden.GOLDEN_FRAMES)
    for size in (1, 2, 7, 64):
        splitter = FrameSplitter()
        runs = [r for i in range(0, len(stream), size) for r in splitter.feed(stream[i:i + size])]
        assert [decode_frame(r) for r in runs] == [decode_frame(f) for f in golden.GOLDEN_FRAMES]
        assert splitter.leftover() == b""


def test_an_endless_run_without_flags_is_bounded_and_resynchronises():
    splitter = FrameSplitter()
    runs = []
    for _ in range(10):
        runs += splitter.feed(b"\x01" * 10_000)
    assert len(runs) == 1 and decode_frame(runs[0]).reason == "too_large"  # type: ignore[union-attr]
    assert len(splitter._tail) == 0
    runs = splitter.feed(b"\x7e" + golden.GO_HEARTBEAT)
    assert [decode_frame(r).header.msg_id for r in runs] == [m.HEARTBEAT]  # type: ignore[union-attr]


def test_subpackaged_header_fields():
    header = Header(m.LOCATION_BATCH, V2019, "13912345678", 40, packages=3, package=2)
    decoded = frame(encode_frame(header, b"\x01\x02"))
    assert (decoded.header.packages, decoded.header.package, decoded.header.serial) == (3, 2, 40)
    bad = encode_frame(Header(m.LOCATION_BATCH, V2013, "1", 40, packages=3, package=4), b"")
    assert decode_frame(bad).reason == "bad_header"  # type: ignore[union-attr]


def test_bad_bodies_are_reasons():
    short = m.decode_location(b"\x00" * 10)
    assert isinstance(short, m.BodyError) and short.reason == "bad_body" and "10 bytes" in short.detail
    bad_time = bytearray(m.location_body(40.6, 109.8, datetime(2026, 1, 1, tzinfo=UTC)))
    bad_time[22:28] = bytes.fromhex("261399000000")
    assert m.decode_location(bytes(bad_time)).reason == "bad_time"  # type: ignore[union-attr]
    assert m.decode_batch(b"\x00\x02\x00\x00\x05abc").reason == "bad_body"  # type: ignore[union-attr]
    assert m.decode_batch(b"\x00\x01\x07").reason == "bad_body"  # type: ignore[union-attr]


# --- never raises --------------------------------------------------------------------------------


def _decode_everything(raw: bytes) -> None:
    decoded = decode_frame(raw)
    if isinstance(decoded, FrameError):
        assert decoded.reason in REASONS and decoded.raw == raw
        return
    assert isinstance(decoded, Frame)
    for result in (m.decode_location(decoded.body), m.decode_batch(decoded.body)):
        assert isinstance(result, m.Location | m.Batch | m.BodyError)
        if isinstance(result, m.BodyError):
            assert result.reason in {"bad_body", "bad_time"}
    m.decode_auth_code(decoded.body, decoded.header.version)


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(data):
    splitter = FrameSplitter()
    for run in splitter.feed(data) + [splitter.leftover()]:
        if run:
            _decode_everything(run)
    _decode_everything(data)


@FUZZ
@given(st.sampled_from(golden.GOLDEN_FRAMES), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                                       min_size=1, max_size=6),
       st.integers(0, 2))
def test_mutated_golden_frames_never_raise(raw, flips, mode):
    data = bytearray(raw)
    for position, value in flips:
        i = position % len(data)
        if mode == 0:
            data[i] = value
        elif mode == 1:
            del data[i:i + 1 + value % 5]
            if not data:
                return
        else:
            data.insert(i, value)
    _decode_everything(bytes(data))


@FUZZ
@given(st.sampled_from(golden.GOLDEN_FRAMES), st.integers(0, 60), st.integers(0, 255))
def test_mutated_frames_with_a_fixed_checksum_decode_to_a_record_or_a_reason(raw, position, value):
    """Past the checksum, the message decoders meet the mutation itself."""
    decoded = frame(raw)
    data = bytearray(decoded.raw[1:-1].replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d"))
    i = 12 + position % max(len(data) - 13, 1)
    data[i] = value
    _decode_everything(b"\x7e" + _with_checksum(bytes(data[:-1])) + b"\x7e")


@pytest.mark.parametrize("version", [V2013, V2019])
def test_a_terminal_of_either_version_is_itself(version):
    header = Header(m.HEARTBEAT, version, "013912345678", 1)
    assert frame(encode_frame(header, b"")).header.terminal_id == "13912345678"
